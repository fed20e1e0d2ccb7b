// Package exec runs ir graphs on the CPU in float32: forward in eval or
// train mode, and reverse-mode automatic differentiation of a scalar loss
// with respect to every trainable parameter (and, on request, the inputs).
//
// Compile checks the whole graph first: a model using ops the executor does
// not support fails before running, with one error (*UnsupportedError)
// listing every unsupported op and the nodes using it. SupportedOps lists
// what runs (nnkit's one list of supported operators; Supports asks for a
// node). The planners take shapes, convolution geometry and attribute
// defaults from package ir, whose inference is their reference.
//
//	m, err := onnxio.ReadFile("model.onnx")
//	prog, err := exec.Compile(m, exec.Options{Seed: 1})
//	out, err := prog.Run(exec.Train, map[string]*exec.Tensor{"input": x})
//	// dLoss/dOutput, e.g. softmax − onehot for cross-entropy:
//	err = prog.Backward(map[string]*exec.Tensor{"output": dy})
//	for _, p := range prog.Params() { /* p.Value -= lr·p.Grad */ }
//	prog.ZeroGrad()
//
// # Semantics
//
// The executor reproduces PyTorch, not the letter of the ONNX reference
// where the two differ: in Train mode BatchNormalization normalizes with
// the biased batch variance and updates running_var with the unbiased one
// (running ← running·m + batch·(1−m), m the ONNX momentum); BatchNorm
// running statistics are Buffers, never Params. Dropout draws a Bernoulli
// mask keyed by (Options.Seed, step counter, node, element), so the same
// seed gives the same bits on any number of threads. Eval mode makes
// Dropout the identity and BatchNormalization use its running statistics,
// whatever the export recorded.
//
// # Design
//
// The first Run with a given set of input shapes builds a plan (a few are
// cached): every shape is inferred, everything that depends only on shapes
// and constants (PyTorch's Shape→Gather→Concat→Reshape arithmetic, LSTM
// initial states) is computed once, every buffer is allocated and each
// remaining node becomes a forward and a backward closure. A steady-state
// Run + Backward then allocates nothing. With Options.Inference, values
// with disjoint lifetimes share memory (forward only).
//
// Ops live one family per file (ops_*.go), forward and backward side by
// side, each with its derivative in a one-line comment. Kernels are generic
// over float32 and float64: Programs run in float32, and the tests run the
// float64 instantiation against central finite differences and against
// PyTorch float64. Matrix products go through gonum's blas.Float32
// interface (SetBLAS plugs in a faster one), tiled over the worker
// goroutines; convolutions are im2col + GEMM with images spread over the
// workers.
package exec
