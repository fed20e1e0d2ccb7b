// Package lint is the framework behind nnlint: training-health rules over an
// ONNX graph exported from PyTorch, the facts they share, the configuration
// file, and the driver that runs rules and filters their diagnostics.
//
// A rule is a value, in the manner of golang.org/x/tools/go/analysis:
//
//	var SaturatingChain = &lint.Rule{
//		ID:       "NN101",
//		Name:     "saturating-chain",
//		Severity: lint.Warning,
//		Doc:      "Saturating activations in series\n\nWhy ... How to fix ...",
//		Run:      runSaturatingChain,
//	}
//
// The rules themselves live in package lint/rules (one file per rule, the
// registry rules.All); the data-free probe that runs the model forward and
// backward lives in lint/probe; formatters live in lint/format. This package
// imports only ir.
//
// Using the driver:
//
//	m, err := onnxio.ReadFile("model.onnx")
//	...
//	diags, err := lint.Check(m, lint.Options{File: "model.onnx", Rules: rules.All})
//	for _, d := range diags {
//		fmt.Println(d.Node, d.Rule, d.Message)
//	}
//
// Rule IDs are stable: NN1xx gradient flow and architecture, NN2xx
// initialization, NN3xx regularization and normalization, NN4xx output layer,
// NN5xx export and executor support, NN6xx probe (measured) findings. An ID is
// never reused for a different check.
package lint
