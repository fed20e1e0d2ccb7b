// Package probe is nnlint's data-free probe: it runs a model forward and
// backward once, in train mode, on seeded synthetic N(0,1) inputs and a
// synthetic loss, using nnkit's executor, and measures what the NN6xx rules
// judge: per-layer activation std, weight and weight-gradient norms, the
// activity of every ReLU, and NaN/Inf anywhere.
//
//	facts, _ := lint.NewFacts(m, "model.onnx")
//	rep, err := probe.Run(m, facts, probe.Options{Batch: 32})
//	// err: the model cannot run on the executor (unsupported op, ...)
//
// The loss is cross-entropy against seeded random labels when the first
// output is [..., C] with C ≥ 2 (the loss a classifier starts training
// with), else mean squared error against N(0,1) targets. Symbolic dimensions
// other than the batch get Options.DimSize; integer inputs get integers in
// the valid range of the embedding they index (else [0, 10)); the report's
// Notes say so.
package probe
