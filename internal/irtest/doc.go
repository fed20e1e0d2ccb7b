// Package irtest builds IR models for tests that need a graph of a given
// size rather than a real export: the memory tests of the ONNX reader and
// of the probe.
//
//	m := irtest.Chain(4000) // Relu, Sigmoid, Tanh, Neg, Relu, …
package irtest
