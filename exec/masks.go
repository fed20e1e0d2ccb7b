package exec

import (
	"math"

	"github.com/nnkit/nnkit/exec/internal/vec"
)

// Branch-free kernels for the activations on the hot path. Their
// conditions depend on the sign of random data, so a branch would be
// mispredicted half the time (4–6× slower on ReLU). The gradient is
// selected with a bit mask rather than multiplied by 0/1, so that an
// infinite or NaN upstream gradient is dropped to exactly 0 where the
// derivative is 0, as PyTorch's threshold_backward does.

func b2u(b bool) uint32 {
	var r uint32
	if b {
		r = 1
	}
	return r
}

// reluBwd: dx += dy where x > 0.
func reluBwd[T Float](x, dy, dx []T) {
	if is32[T]() {
		reluBwd32(asF32(x), asF32(dy), asF32(dx))
		return
	}
	reluBwd64(asF64(x), asF64(dy), asF64(dx))
}

func reluBwd32(x, dy, dx []float32) { vec.ReluGrad(dx, dy, x) }

func reluBwd64(x, dy, dx []float64) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	for i, v := range x {
		keep := -uint64(b2u(v > 0))
		dx[i] += math.Float64frombits(math.Float64bits(dy[i]) & keep)
	}
}

// clipBwd: dx += dy where lo < x < hi.
func clipBwd[T Float](x, dy, dx []T, lo, hi T) {
	if is32[T]() {
		vec.ClipGrad(asF32(dx), asF32(dy), asF32(x), float32(lo), float32(hi))
		return
	}
	l, h := float64(lo), float64(hi)
	x64, dy64, dx64 := asF64(x), asF64(dy), asF64(dx)
	for i, v := range x64[:len(dx64)] {
		keep := -uint64(b2u(v > l) & b2u(v < h))
		dx64[i] += math.Float64frombits(math.Float64bits(dy64[i]) & keep)
	}
}
