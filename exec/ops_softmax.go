package exec

import (
	"math"

	"github.com/nnkit/nnkit/ir"
)

// Softmax and LogSoftmax along one axis (opset ≥ 13) or over the
// flattened trailing axes from `axis` (opset < 13).
//
//	y = eˣ/Σeˣ        → dx = y·(dy − Σ dy·y)
//	y = x − log Σeˣ   → dx = dy − eʸ·Σ dy

func registerSoftmax[T Float](m map[string]opDef[T]) {
	m["Softmax"] = opDef[T]{plan: func(c *nodeCtx[T]) error { return planSoftmax(c, false) }}
	m["LogSoftmax"] = opDef[T]{plan: func(c *nodeCtx[T]) error { return planSoftmax(c, true) }}
}

func planSoftmax[T Float](c *nodeCtx[T], logMode bool) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	r := len(x.shape)
	ax, err := ir.NormAxis(ir.SoftmaxAxis(c.n, c.opset), max(r, 1))
	if err != nil {
		return err
	}
	var outer, A, inner int
	if r == 0 {
		outer, A, inner = 1, 1, 1
	} else if c.opset < 13 {
		outer, A, inner = numel(x.shape[:ax]), numel(x.shape[ax:]), 1
	} else {
		outer, A, inner = numel(x.shape[:ax]), x.shape[ax], numel(x.shape[ax+1:])
	}
	y := c.output(0, kFloat, x.shape)
	lines := outer * inner // independent softmaxes
	fwd := func(lo, hi int) {
		for l := lo; l < hi; l++ {
			o, in := l/inner, l%inner
			base := o*A*inner + in
			mx := math.Inf(-1)
			for k := 0; k < A; k++ {
				mx = math.Max(mx, float64(x.f[base+k*inner]))
			}
			var s float64
			for k := 0; k < A; k++ {
				s += math.Exp(float64(x.f[base+k*inner]) - mx)
			}
			ls := math.Log(s)
			for k := 0; k < A; k++ {
				i := base + k*inner
				if logMode {
					y.f[i] = T(float64(x.f[i]) - mx - ls)
				} else {
					y.f[i] = T(math.Exp(float64(x.f[i])-mx) / s)
				}
			}
		}
	}
	lgrain := max(1, grain/max(1, A))
	c.fwd = func(*runCtx) error { c.e.pool.run(lines, lgrain, fwd); return nil }
	bwd := func(lo, hi int) {
		for l := lo; l < hi; l++ {
			o, in := l/inner, l%inner
			base := o*A*inner + in
			var s float64
			for k := 0; k < A; k++ {
				i := base + k*inner
				if logMode {
					s += float64(y.g[i])
				} else {
					s += float64(y.g[i]) * float64(y.f[i])
				}
			}
			for k := 0; k < A; k++ {
				i := base + k*inner
				if logMode {
					x.g[i] += T(float64(y.g[i]) - math.Exp(float64(y.f[i]))*s)
				} else {
					x.g[i] += T(float64(y.f[i]) * (float64(y.g[i]) - s))
				}
			}
		}
	}
	c.bwd = func() {
		if x.g != nil {
			c.e.pool.run(lines, lgrain, bwd)
		}
	}
	return nil
}
