// Package exec runs ir graphs on the CPU in float32: forward in eval or
// train mode, and reverse-mode automatic differentiation of a scalar loss
// with respect to every trainable parameter (and, on request, the inputs).
//
// Compile checks the whole graph first: a model using ops the executor does
// not support fails before running, with one error listing every
// unsupported op and the nodes using it.
package exec
