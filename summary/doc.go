// Package summary computes a torchinfo-style summary of an ONNX model: one
// row per node with its output shape, parameters and multiply-accumulates
// per sample, and totals (parameters, trainable parameters, buffers, MACs,
// bytes).
//
// Unlike torchinfo and pytorch-summary, shared weights are counted once:
// each parameter belongs to the first layer that uses it (looking through
// the Identity, Slice, Concat and Transpose nodes exporters put between a
// weight and the layer using it); later users show it as shared.
//
//	m, _ := onnxio.ReadFile("model.onnx")
//	s, err := summary.Build(m, "model.onnx")
//	s.WriteText(os.Stdout)
package summary
