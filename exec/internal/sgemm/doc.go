// Package sgemm is nnkit's float32 matrix product: a packed, cache-blocked
// GEMM (the BLIS loop nest) around a register-blocked micro-kernel written
// in Go assembly for AVX2+FMA and AVX-512, chosen at run time from CPUID.
// Without those CPU features Available reports false and the executor keeps
// gonum's pure-Go Sgemm; the package's own pure-Go micro-kernel exists so
// the blocking and packing code is tested on every machine.
//
// Matrices are row-major, as in the executor: C = alpha·op(A)·op(B) + beta·C
// with op(A) m×k and op(B) k×n.
//
// Determinism: every element of C is computed the same way wherever it lies
// in the partition of C over threads. Its reduction over k runs in blocks
// of kc (fixed; depends only on k), each block a single FMA chain in k
// order, and each block is added into C with one fused multiply-add
// C = alpha·acc + C. Micro-tiles at the ragged edges run the same kernel on
// a copy of C. So the bits depend on the kernel the CPU selects, never on
// the thread count or the tiling.
//
//	var p = sgemm.NewParallel(2, run) // run(n, f) calls f over [0, n) in parallel
//	p.Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
package sgemm
