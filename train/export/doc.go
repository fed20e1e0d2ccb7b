// Package export turns a training graph into the inference graph a runtime
// should deploy: the same nodes, initializers and running statistics, with
// every training-mode construct in its inference form.
//
//   - BatchNormalization stops computing batch statistics: its running-mean,
//     running-variance and saved-statistics outputs are removed (opset 7–13
//     decide the mode by the number of outputs), training_mode becomes 0
//     (opset ≥ 14) or is_test 1 (opset < 7).
//   - Dropout is removed and its readers read its input (an Identity keeps
//     the name when the Dropout's output is a graph output). A Dropout whose
//     mask is read stays, with training_mode omitted (false, opset ≥ 12) or
//     is_test 1 (opset < 7).
//   - Whatever fed only the removed values — the Constant ratio and
//     training_mode of torch's Dropout, initializers, graph inputs — goes too;
//     nothing else of the graph changes.
//
// ONNX Runtime and nnkit's executor in eval mode compute the same function
// on the result as the executor computes on the training graph in eval mode.
//
//	m, _ := onnxio.ReadFile("train.onnx")
//	inf, rep, err := export.Inference(m) // m is not modified; tensors are shared
//	if err != nil {
//		log.Fatal(err)
//	}
//	fmt.Println(rep) // 9 BatchNormalization on running statistics, 1 Dropout removed, ...
//	onnxio.WriteFile("infer.onnx", inf, nil)
//
// The result carries the metadata_props entry nnkit.graph = inference (and
// nnkit.converted listing what changed); Mark labels a graph written for
// further training with nnkit.graph = training. nnlint's NN501 reads them.
package export
