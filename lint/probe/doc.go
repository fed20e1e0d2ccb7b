// Package probe is nnlint's data-free probe: it runs a model forward and
// backward once, in train mode, on seeded synthetic N(0,1) inputs and a
// synthetic loss, using nnkit's executor, and measures what the NN6xx rules
// (and NN302, and the static rules that quote it) judge: per-layer
// activation std, weight and weight-gradient norms (their ratio ‖∇W‖/‖W‖
// is the size-independent measure the gradient rules compare), the
// activity of every ReLU, NaN/Inf anywhere, and the variance shift at every
// BatchNorm a Dropout reaches (Li et al., CVPR 2019: a second forward pass
// of the same batch with every Dropout off).
//
//	facts, _ := lint.NewFacts(m, "model.onnx")
//	rep, err := probe.Run(m, facts, probe.Options{}) // batch from the model's size
//	// err: the model cannot run on the executor (unsupported op, ...)
//
// The batch (Options.Batch, 0 for automatic) is chosen by ChooseBatch from
// the per-sample multiply-accumulates and activation count that shape
// inference gives: MaxBatch (32) for small models, down to MinBatch (2) for
// large ones (ResNet-50 at 224×224), within MACBudget and MemBudget. Every
// measurement is a mean over all values of a layer, so a few large samples
// suffice. A zero-initialized output head (torchvision's ViT) is measured
// with LeCun-normal weights in its place, since with it no gradient reaches
// any other layer at step 0.
//
// The loss is cross-entropy against seeded random labels when the first
// output is [..., C] with C ≥ 2 (the loss a classifier starts training
// with), else mean squared error against N(0,1) targets. Symbolic dimensions
// other than the batch get Options.DimSize; integer inputs get integers in
// the valid range of the embedding they index (else [0, 10)); the report's
// Notes say so.
package probe
