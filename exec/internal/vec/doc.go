// Package vec holds the executor's element-wise float32 loops that are
// worth vectorizing (BatchNorm's statistics, affine map and gradient), as
// AVX2 Go assembly chosen at run time, with scalar Go fallbacks.
//
// The float32 results are bit-identical between the two paths: each
// operation is one IEEE rounding in the order the Go code spells out, and
// the assembly does not fuse what the Go code does not. The float64
// reductions keep partial sums per vector lane, so their last bits differ
// from the scalar loop's; callers choose the path from the shape alone, so
// a given shape always sums in the same order, on any thread count.
package vec
