// Package rules holds nnlint's training-health rules, one file per rule,
// each a *lint.Rule value, and the registry All.
//
//	diags, err := lint.Check(model, lint.Options{File: path, Rules: rules.All})
//
// Rule IDs are stable (see the table in README.md's Rules section and
// `nnlint rules`): NN1xx gradient flow and architecture, NN2xx
// initialization, NN3xx regularization and normalization, NN4xx output
// layer, NN5xx export and executor support, NN6xx probe measurements.
package rules
