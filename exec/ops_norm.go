package exec

import (
	"errors"
	"fmt"
	"math"

	"github.com/nnkit/nnkit/exec/internal/vec"
	"github.com/nnkit/nnkit/ir"
)

// BatchNormalization and LayerNormalization.
//
// BatchNormalization, per channel c over n = N·spatial values:
//
//	train: μ = mean x, σ² = mean (x−μ)² (biased), x̂ = (x−μ)/√(σ²+ε), y = γ·x̂ + β;
//	       running ← running·m + batch·(1−m) with the UNBIASED variance σ²·n/(n−1)
//	       (PyTorch's rule; ONNX's m is 1 − PyTorch's momentum)
//	       → dγ = Σ dy·x̂, dβ = Σ dy, dx = γ/√(σ²+ε)·(dy − dβ/n − x̂·dγ/n)
//	eval:  y = γ·(x−μᵣ)/√(σᵣ²+ε) + β → dx = dy·γ/√(σᵣ²+ε), dγ = Σ dy·x̂, dβ = Σ dy
//
// Which form runs is decided by the Mode of Run, whatever the node says
// (opset-9..13 training nodes announce themselves by their 5 outputs,
// opset-14+ ones by training_mode=1): Train always normalizes with batch
// statistics and updates the running statistics, Eval always uses them.
// A layer whose scale and bias are both frozen (Options.Frozen) always
// uses them, unless Options.TrainFrozenBatchNorm.

func registerNorm[T Float](m map[string]opDef[T]) {
	m["BatchNormalization"] = opDef[T]{plan: planBatchNorm[T], modal: true}
	m["LayerNormalization"] = opDef[T]{plan: planLayerNorm[T]}
}

func planBatchNorm[T Float](c *nodeCtx[T]) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	var prm [4]*tensor[T] // scale, bias, mean, var
	for i := range prm {
		if prm[i], err = c.need(i+1, kFloat); err != nil {
			return err
		}
	}
	if len(x.shape) < 2 {
		return fmt.Errorf("input %s must have a channel dimension", shapeStr(x.shape))
	}
	N, C := x.shape[0], x.shape[1]
	S := numel(x.shape[2:])
	for i, t := range prm {
		if t.size != C {
			return fmt.Errorf("%s %s does not match %d channels", [...]string{"scale", "bias", "mean", "var"}[i], shapeStr(t.shape), C)
		}
	}
	k := &batchNorm[T]{x: x, scale: prm[0], bias: prm[1], rmean: prm[2], rvar: prm[3],
		N: N, C: C, S: S, n: N * S,
		eps: float64(c.n.Float("epsilon", 1e-5)),
		mom: float64(c.n.Float("momentum", 0.9)),
		// float32 planes of 16 values or more run on package vec's kernels
		// (the choice depends on the shape only, so every run sums alike)
		vecOK: is32[T]() && S >= vec.MinLen,
		mean:  make([]float64, C), inv: make([]float64, C), bvar: make([]float64, C),
		dg: make([]float64, C), db: make([]float64, C),
	}
	k.y = c.output(0, kFloat, x.shape)
	k.stats = make([]*tensor[T], 0, 4)
	for j := 1; j < len(c.out); j++ {
		shape, err := c.inferred(j) // [C]: running, then saved, mean and var
		if err != nil {
			return err
		}
		t := c.output(j, kFloat, shape)
		t.nograd = true
		k.stats = append(k.stats, t)
	}
	// running statistics are updated in place only when they are state (a
	// buffer initializer); constants are never written.
	k.updMean = k.rmean.state && !k.rmean.req
	k.updVar = k.rvar.state && !k.rvar.req
	// A frozen layer (Options.Frozen) keeps its running statistics.
	frozen := k.scale.frozen && k.bias.frozen && !c.e.opts.TrainFrozenBatchNorm
	cgrain := max(1, grain/max(1, k.n))
	fwd, bwd := k.forward, k.backward // bound once: no allocation per run
	c.fwd = func(rc *runCtx) error {
		k.train = rc.mode == Train && !frozen
		if k.train && k.n <= 1 {
			return fmt.Errorf("training-mode batch normalization needs more than 1 value per channel, got input %s", shapeStr(x.shape))
		}
		c.e.pool.run(C, cgrain, fwd)
		k.updateStats()
		return nil
	}
	c.bwd = func() {
		c.e.pool.run(C, cgrain, bwd)
		k.paramGrads()
	}
	return nil
}

// batchNorm is a batch normalization's kernel: x [N, C, S...] normalized
// per channel over its n = N·S values.
type batchNorm[T Float] struct {
	x, y                     *tensor[T]
	scale, bias, rmean, rvar *tensor[T]
	stats                    []*tensor[T] // the optional outputs: running mean and var, batch mean and var
	N, C, S, n               int
	eps, mom                 float64
	vecOK                    bool
	updMean, updVar          bool      // the running statistics are written back
	train                    bool      // the last forward used batch statistics
	mean, inv, bvar          []float64 // statistics used by the last forward; inv = 1/√(σ²+ε)
	dg, db                   []float64 // dγ = Σ dy·x̂ and dβ = Σ dy per channel, from the last backward
}

// forward normalizes channels [lo, hi), with batch statistics when
// training and the running ones otherwise.
func (k *batchNorm[T]) forward(lo, hi int) {
	x, y, N, C, S := k.x, k.y, k.N, k.C, k.S
	for ch := lo; ch < hi; ch++ {
		if k.train {
			k.mean[ch], k.bvar[ch] = k.batchStats(ch)
		} else {
			k.mean[ch], k.bvar[ch] = float64(k.rmean.f[ch]), float64(k.rvar.f[ch])
		}
		k.inv[ch] = 1 / math.Sqrt(k.bvar[ch]+k.eps)
		// y = x·α + β' with α = γ/√(σ²+ε), β' = β − μ·α (PyTorch's CPU form)
		alpha := T(k.inv[ch] * float64(k.scale.f[ch]))
		beta := T(float64(k.bias.f[ch]) - k.mean[ch]*k.inv[ch]*float64(k.scale.f[ch]))
		if S == 1 {
			for o := ch; o < N*C; o += C {
				y.f[o] = x.f[o]*alpha + beta
			}
			continue
		}
		for i := 0; i < N; i++ {
			o := (i*C + ch) * S
			xs, ys := x.f[o:o+S], y.f[o:o+S]
			if k.vecOK {
				vec.Affine(asF32(ys), asF32(xs), float32(alpha), float32(beta))
				continue
			}
			for j, v := range xs {
				ys[j] = v*alpha + beta
			}
		}
	}
}

// batchStats returns channel ch's batch mean and biased variance, in one
// pass in float64 over data shifted by its first value K (stable while K
// is within a few σ of μ, which any sample is):
// μ = K + E[x−K], σ² = E[(x−K)²] − E[x−K]².
func (k *batchNorm[T]) batchStats(ch int) (mean, variance float64) {
	x, N, C, S := k.x, k.N, k.C, k.S
	K := float64(x.f[ch*S])
	var s, q float64
	for i := 0; i < N && S == 1; i++ { // BatchNorm1d: one value per plane
		f := float64(x.f[i*C+ch]) - K
		s += f
		q += f * f
	}
	for i := 0; i < N && S > 1; i++ {
		o := (i*C + ch) * S
		if k.vecOK {
			ds, dq := vec.ShiftedSums(asF32(x.f[o:o+S]), K)
			s, q = s+ds, q+dq
			continue
		}
		for _, v := range x.f[o : o+S] {
			f := float64(v) - K
			s += f
			q += f * f
		}
	}
	d := s / float64(k.n)
	return K + d, max(q/float64(k.n)-d*d, 0)
}

// updateStats writes the optional statistics outputs and, when training,
// moves the running statistics towards the batch's.
func (k *batchNorm[T]) updateStats() {
	n, mom := k.n, k.mom
	for ch := 0; ch < k.C; ch++ {
		rm, rv := float64(k.rmean.f[ch]), float64(k.rvar.f[ch])
		if k.train {
			rm = rm*mom + k.mean[ch]*(1-mom)
			rv = rv*mom + k.bvar[ch]*float64(n)/float64(n-1)*(1-mom)
		}
		vals := [4]float64{rm, rv, k.mean[ch], k.bvar[ch]}
		for j, t := range k.stats {
			t.f[ch] = T(vals[j])
		}
		if k.train && k.updMean {
			k.rmean.f[ch] = T(rm)
		}
		if k.train && k.updVar {
			k.rvar.f[ch] = T(rv)
		}
	}
}

// backward computes, for channels [lo, hi), Σdy·(x−μ)·inv and Σdy (into
// dg and db) and adds dx.
func (k *batchNorm[T]) backward(lo, hi int) {
	x, y, N, C, S, n := k.x, k.y, k.N, k.C, k.S, k.n
	for ch := lo; ch < hi; ch++ {
		mu, iv := k.mean[ch], k.inv[ch]
		var sdy, sdyx float64
		for o := ch; o < N*C && S == 1; o += C {
			d := float64(y.g[o])
			sdy += d
			sdyx += d * (float64(x.f[o]) - mu)
		}
		for i := 0; i < N && S > 1; i++ {
			o := (i*C + ch) * S
			xs, dys := x.f[o:o+S], y.g[o:o+S]
			if k.vecOK {
				a, b := vec.CenteredDots(asF32(dys), asF32(xs), mu)
				sdy, sdyx = sdy+a, sdyx+b
				continue
			}
			for j, d := range dys {
				sdy += float64(d)
				sdyx += float64(d) * (float64(xs[j]) - mu)
			}
		}
		k.dg[ch], k.db[ch] = sdyx*iv, sdy
		if x.g == nil {
			continue
		}
		g := float64(k.scale.f[ch])
		if k.train {
			// dx = γ·iv·(dy − Σdy/n − x̂·Σ(dy·x̂)/n)
			k1 := T(g * iv)
			k2 := T(sdy / float64(n))
			k3 := T(sdyx * iv * iv / float64(n))
			muT := T(mu)
			if S == 1 {
				for o := ch; o < N*C; o += C {
					x.g[o] += k1 * (y.g[o] - k2 - (x.f[o]-muT)*k3)
				}
				continue
			}
			for i := 0; i < N; i++ {
				o := (i*C + ch) * S
				xs, dys, gx := x.f[o:o+S], y.g[o:o+S], x.g[o:o+S]
				if k.vecOK {
					vec.BNGrad(asF32(gx), asF32(dys), asF32(xs), float32(k1), float32(k2), float32(k3), float32(muT))
					continue
				}
				for j, d := range dys {
					gx[j] += k1 * (d - k2 - (xs[j]-muT)*k3)
				}
			}
		} else {
			k1 := T(g * iv)
			for i := 0; i < N; i++ {
				o := (i*C + ch) * S
				dys, gx := y.g[o:o+S], x.g[o:o+S]
				for j, d := range dys {
					gx[j] += k1 * d
				}
			}
		}
	}
}

// paramGrads adds the gradients of scale and bias and, in the eval form,
// of the statistics (only computed ones get gradients).
func (k *batchNorm[T]) paramGrads() {
	for ch := 0; ch < k.C; ch++ {
		if k.scale.g != nil {
			k.scale.g[ch] += T(k.dg[ch])
		}
		if k.bias.g != nil {
			k.bias.g[ch] += T(k.db[ch])
		}
		if k.train {
			continue
		}
		// eval form: the statistics are inputs too
		g := float64(k.scale.f[ch])
		if k.rmean.g != nil {
			k.rmean.g[ch] += T(-g * k.inv[ch] * k.db[ch])
		}
		if k.rvar.g != nil {
			// ∂y/∂σ² = −½·γ·(x−μ)·(σ²+ε)^(−3/2)
			k.rvar.g[ch] += T(-0.5 * g * k.dg[ch] * k.inv[ch] * k.inv[ch])
		}
	}
}

// LayerNormalization over the axes from `axis` on, per row:
//
//	x̂ = (x−μ)/√(σ²+ε), y = γ·x̂ + β
//	→ dγ = Σ_rows dy·x̂, dβ = Σ_rows dy, dx = (dx̂ − mean dx̂ − x̂·mean(dx̂·x̂))/√(σ²+ε), dx̂ = dy·γ
func planLayerNorm[T Float](c *nodeCtx[T]) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	scale, err := c.need(1, kFloat)
	if err != nil {
		return err
	}
	bias := c.input(2)
	r := len(x.shape)
	ax, err := ir.NormAxis(c.n.Int("axis", -1), r)
	if err != nil {
		return err
	}
	rows, D := numel(x.shape[:ax]), numel(x.shape[ax:])
	if scale.size != D || bias != nil && bias.size != D {
		return fmt.Errorf("scale %s / bias do not match the normalized shape %s", shapeStr(scale.shape), shapeStr(x.shape[ax:]))
	}
	if D == 0 {
		return errors.New("normalized shape is empty")
	}
	eps := float64(c.n.Float("epsilon", 1e-5))
	y := c.output(0, kFloat, x.shape)
	var mOut, iOut *tensor[T]
	if len(c.out) > 1 {
		// Mean and InvStdDev: x's shape with the normalized dims as 1
		for j, st := range []**tensor[T]{&mOut, &iOut}[:min(len(c.out), 3)-1] {
			shape, err := c.inferred(j + 1)
			if err != nil {
				return err
			}
			*st = c.output(j+1, kFloat, shape)
			(*st).nograd = true
		}
	}
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
			for i, v := range xs {
				h := (float64(v) - mu) * iv
				o := h * float64(scale.f[i])
				if bias != nil {
					o += float64(bias.f[i])
				}
				ys[i] = T(o)
			}
			if mOut != nil {
				mOut.f[r] = T(mu)
			}
			if iOut != nil {
				iOut.f[r] = T(iv)
			}
		}
	}
	rgrain := max(1, grain/D)
	c.fwd = func(*runCtx) error { c.e.pool.run(rows, rgrain, fwd); return nil }
	bwd := func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xs, dys, gx := x.f[r*D:(r+1)*D], y.g[r*D:(r+1)*D], x.g[r*D:(r+1)*D]
			mu, iv := mean[r], inv[r]
			var s1, s2 float64
			for i, d := range dys {
				dh := float64(d) * float64(scale.f[i])
				s1 += dh
				s2 += dh * (float64(xs[i]) - mu) * iv
			}
			s1 /= float64(D)
			s2 /= float64(D)
			for i, d := range dys {
				dh := float64(d) * float64(scale.f[i])
				h := (float64(xs[i]) - mu) * iv
				gx[i] += T(iv * (dh - s1 - h*s2))
			}
		}
	}
	c.bwd = func() {
		if x.g != nil {
			c.e.pool.run(rows, rgrain, bwd)
		}
		if scale.g != nil || bias != nil && bias.g != nil {
			for r := 0; r < rows; r++ {
				xs, dys := x.f[r*D:(r+1)*D], y.g[r*D:(r+1)*D]
				for i, d := range dys {
					if scale.g != nil {
						scale.g[i] += d * T((float64(xs[i])-mean[r])*inv[r])
					}
					if bias != nil && bias.g != nil {
						bias.g[i] += d
					}
				}
			}
		}
	}
	return nil
}
