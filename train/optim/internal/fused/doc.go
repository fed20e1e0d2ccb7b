// Package fused holds the optimizers' element-wise passes as vector
// kernels (Go assembly, AVX2+FMA, chosen at run time) with a scalar Go
// fallback that rounds identically, plus a small fixed worker pool that
// spreads them over the CPUs.
//
// Rounding: every operation is one IEEE float32 operation, and the
// multiply-adds that ATen's kernels fuse are single-rounding FMAs (the
// fallback's FMA32 is exact too, via round-to-odd), so the kernel and the
// fallback give the same bits, and both give torch 1.13's bits on the
// optimizer golden trajectories. Element-wise passes do not depend on how
// the elements are split over threads; the one reduction (SumSquares)
// is summed in fixed chunks whose partial sums are added in order, so it
// does not either.
package fused
