// Package arch holds no code: its test enforces nnkit's dependency
// direction (ir imports nothing of ours; onnxio → ir; exec → ir;
// train → exec, ir; lint → ir, and lint's probe → exec; only cmd/* wires
// file I/O to the rest) with `go list -deps`.
package arch
