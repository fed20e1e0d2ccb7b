// Package arch holds no code: its test enforces nnkit's dependency
// direction with `go list`, one rule set for the whole module:
//
//	ir                  imports nothing of ours
//	onnxio, tensor      → ir (and internal/safefile to open files)
//	exec                → ir, tensor
//	train               → exec, ir, tensor
//	lint                → ir; lint/probe and lint/rules may use exec
//	summary             → ir, lint (its export classifier)
//	cmd/*               → anything: only the commands wire file I/O,
//	                      flags and the packages together
//
// internal/npytest and internal/irtest (→ ir), test helpers, may be
// imported by tests only.
package arch
