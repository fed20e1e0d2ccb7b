package exec

import (
	"errors"
	"fmt"
	"math"
)

// InstanceNormalization: per sample n and channel c, over the spatial
// values (D of them):
//
//	μ = mean x, σ² = mean (x−μ)² (biased), x̂ = (x−μ)/√(σ²+ε), y = γ_c·x̂ + β_c
//	→ dγ_c = Σ_n Σ dy·x̂, dβ_c = Σ_n Σ dy,
//	  dx = γ_c/√(σ²+ε)·(dy − mean dy − x̂·mean(dy·x̂))
//
// It is the same in training and evaluation (PyTorch's InstanceNorm2d
// without running statistics, and the core of its GroupNorm export:
// Reshape to [N, G, −1] → InstanceNormalization with γ = 1, β = 0 →
// Reshape back → Mul(weight) → Add(bias)). Statistics are accumulated in
// float64.

func registerInstanceNorm[T Float](m map[string]opDef[T]) {
	m["InstanceNormalization"] = opDef[T]{plan: planInstanceNorm[T]}
}

func planInstanceNorm[T Float](c *nodeCtx[T]) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	scale, err := c.need(1, kFloat)
	if err != nil {
		return err
	}
	bias, err := c.need(2, kFloat)
	if err != nil {
		return err
	}
	if len(x.shape) < 3 {
		return fmt.Errorf("input %s must be [N, C, D1, ...] with at least one spatial dimension", shapeStr(x.shape))
	}
	N, C := x.shape[0], x.shape[1]
	D := numel(x.shape[2:])
	if scale.size != C || bias.size != C || len(scale.shape) != 1 || len(bias.shape) != 1 {
		return fmt.Errorf("scale %s and bias %s must both be [%d] (the channel count of input %s)", shapeStr(scale.shape), shapeStr(bias.shape), C, shapeStr(x.shape))
	}
	if D == 0 {
		return errors.New("the spatial dimensions are empty")
	}
	eps := float64(c.n.Float("epsilon", 1e-5))
	y := c.output(0, kFloat, x.shape)
	rows := N * C
	mean := make([]float64, rows)
	inv := make([]float64, rows)
	fwd := func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xs, ys := x.f[r*D:(r+1)*D], y.f[r*D:(r+1)*D]
			var s float64
			for _, v := range xs {
				s += float64(v)
			}
			mu := s / float64(D)
			var q float64
			for _, v := range xs {
				d := float64(v) - mu
				q += d * d
			}
			iv := 1 / math.Sqrt(q/float64(D)+eps)
			mean[r], inv[r] = mu, iv
			ch := r % C
			// y = x·α + β' with α = γ/√(σ²+ε), β' = β − μ·α
			alpha := iv * float64(scale.f[ch])
			beta := float64(bias.f[ch]) - mu*alpha
			for i, v := range xs {
				ys[i] = T(float64(v)*alpha + beta)
			}
		}
	}
	rgrain := max(1, grain/D)
	c.fwd = func(*runCtx) error { c.e.pool.run(rows, rgrain, fwd); return nil }
	sdy := make([]float64, rows)  // Σ dy per row
	sdyx := make([]float64, rows) // Σ dy·x̂ per row
	bwd := func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xs, dys := x.f[r*D:(r+1)*D], y.g[r*D:(r+1)*D]
			mu, iv := mean[r], inv[r]
			var s1, s2 float64
			for i, d := range dys {
				s1 += float64(d)
				s2 += float64(d) * (float64(xs[i]) - mu) * iv
			}
			sdy[r], sdyx[r] = s1, s2
			if x.g == nil {
				continue
			}
			g := float64(scale.f[r%C])
			m1, m2 := s1/float64(D), s2/float64(D)
			gx := x.g[r*D : (r+1)*D]
			for i, d := range dys {
				h := (float64(xs[i]) - mu) * iv
				gx[i] += T(g * iv * (float64(d) - m1 - h*m2))
			}
		}
	}
	c.bwd = func() {
		c.e.pool.run(rows, rgrain, bwd)
		for r := 0; r < rows; r++ {
			ch := r % C
			if scale.g != nil {
				scale.g[ch] += T(sdyx[r])
			}
			if bias.g != nil {
				bias.g[ch] += T(sdy[r])
			}
		}
	}
	return nil
}
