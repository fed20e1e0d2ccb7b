package exec

import (
	"errors"
	"fmt"
	"math"

	"github.com/nnkit/nnkit/ir"
)

// Pooling over 1-D or 2-D planes; every (image, channel) plane is
// independent, so planes are spread over the worker goroutines.
//
//	MaxPool:  y = max over the window  → dx[argmax] += dy (first maximum wins, as PyTorch)
//	AvgPool:  y = Σ window / count     → dx[window] += dy / count
//	Global*:  the window is the whole plane.

func registerPool[T Float](m map[string]opDef[T]) {
	m["MaxPool"] = opDef[T]{plan: func(c *nodeCtx[T]) error { return planPool(c, true) }, check: checkPool}
	m["AveragePool"] = opDef[T]{plan: func(c *nodeCtx[T]) error { return planPool(c, false) }, check: checkPool}
	m["GlobalAveragePool"] = opDef[T]{plan: func(c *nodeCtx[T]) error { return planGlobalPool(c, false) }}
	m["GlobalMaxPool"] = opDef[T]{plan: func(c *nodeCtx[T]) error { return planGlobalPool(c, true) }}
}

func checkPool(n *ir.Node, opset int64) error {
	if err := checkSpatial(n, opset); err != nil {
		return err
	}
	if n.Int("storage_order", 0) != 0 && len(n.Outputs) > 1 && n.Outputs[1] != nil {
		return errors.New("storage_order=1 indices")
	}
	return nil
}

func planPool[T Float](c *nodeCtx[T], isMax bool) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	r := len(x.shape)
	if r != 3 && r != 4 {
		return fmt.Errorf("input %s: only 1-D and 2-D pooling ([N,C,L] or [N,C,H,W]) is supported", shapeStr(x.shape))
	}
	ks := c.n.Ints("kernel_shape", nil)
	if len(ks) != r-2 {
		return fmt.Errorf("kernel_shape %v does not match input %s", ks, shapeStr(x.shape))
	}
	gs, err := spatialGeom(c.n, x.shape[2:], dims(ks), c.n.Int("ceil_mode", 0) != 0)
	if err != nil {
		return err
	}
	gh, gw := as2D(gs)
	out := append([]int{}, x.shape[:2]...)
	for _, g := range gs {
		out = append(out, g.out)
	}
	y := c.output(0, kFloat, out)
	planes := x.shape[0] * x.shape[1]
	H, W := gh.in, gw.in
	ohw := gh.out * gw.out
	includePad := c.n.Int("count_include_pad", 0) != 0
	pgrain := max(1, grain/max(1, H*W))
	if isMax {
		arg := make([]int32, y.size)
		var ind *tensor[T]
		if len(c.out) > 1 {
			ind = c.output(1, kInt, out)
			ind.nograd = true
		}
		// A window lying wholly inside the input (the usual case, and every
		// window without padding) is reduced branch-free: the maximum with
		// max (NaN propagates) and its first position (PyTorch's tie rule)
		// by a masked select, since which element wins is random.
		rowIn := make([]bool, gh.out)
		colIn := make([]bool, gw.out)
		for oh := range rowIn {
			rowIn[oh] = oh*gh.s-gh.pb >= 0 && oh*gh.s-gh.pb+(gh.k-1)*gh.d < H
		}
		for ow := range colIn {
			colIn[ow] = ow*gw.s-gw.pb >= 0 && ow*gw.s-gw.pb+(gw.k-1)*gw.d < W
		}
		kh, kw, dh, dw := gh.k, gw.k, gh.d*W, gw.d
		fwd := func(lo, hi int) {
			for p := lo; p < hi; p++ {
				xp := x.f[p*H*W : (p+1)*H*W]
				for oh := 0; oh < gh.out; oh++ {
					for ow := 0; ow < gw.out; ow++ {
						best, at := T(math.Inf(-1)), int32(-1)
						if rowIn[oh] && colIn[ow] {
							base := (oh*gh.s-gh.pb)*W + ow*gw.s - gw.pb
							best, at = xp[base], int32(base)
							if kh == 2 && kw == 2 { // the common 2×2 window, unrolled
								for _, idx := range [3]int32{int32(base + dw), int32(base + dh), int32(base + dh + dw)} {
									v := xp[idx]
									at += (idx - at) & -int32(b2u(v > best))
									best = max(best, v)
								}
								goto done
							}
							for i := 0; i < kh; i++ {
								row := base + i*dh
								for j := 0; j < kw; j++ {
									idx := int32(row + j*dw)
									v := xp[idx]
									at += (idx - at) & -int32(b2u(v > best))
									best = max(best, v)
								}
							}
							goto done
						}
						for i := 0; i < gh.k; i++ {
							ih := oh*gh.s - gh.pb + i*gh.d
							if ih < 0 || ih >= H {
								continue
							}
							for j := 0; j < gw.k; j++ {
								iw := ow*gw.s - gw.pb + j*gw.d
								if iw < 0 || iw >= W {
									continue
								}
								if v := xp[ih*W+iw]; v > best || v != v || at < 0 {
									best, at = v, int32(ih*W+iw)
									if v != v {
										goto done
									}
								}
							}
						}
					done:
						o := p*ohw + oh*gw.out + ow
						y.f[o] = best
						arg[o] = at
						if ind != nil {
							ind.i[o] = int64(p*H*W) + int64(at)
						}
					}
				}
			}
		}
		c.fwd = func(*runCtx) error { c.e.pool.run(planes, pgrain, fwd); return nil }
		bwd := func(lo, hi int) {
			for p := lo; p < hi; p++ {
				gx := x.g[p*H*W : (p+1)*H*W]
				for o := p * ohw; o < (p+1)*ohw; o++ {
					if a := arg[o]; a >= 0 {
						gx[a] += y.g[o]
					}
				}
			}
		}
		c.bwd = func() {
			if x.g != nil {
				c.e.pool.run(planes, pgrain, bwd)
			}
		}
		return nil
	}
	// average: divisor per output position (the same for every plane)
	div := make([]T, ohw)
	for oh := 0; oh < gh.out; oh++ {
		for ow := 0; ow < gw.out; ow++ {
			cnt := 0
			for i := 0; i < gh.k; i++ {
				ih := oh*gh.s - gh.pb + i*gh.d
				for j := 0; j < gw.k; j++ {
					iw := ow*gw.s - gw.pb + j*gw.d
					inImg := ih >= 0 && ih < H && iw >= 0 && iw < W
					inPad := ih >= -gh.pb && ih < H+gh.pe && iw >= -gw.pb && iw < W+gw.pe
					if inImg || includePad && inPad {
						cnt++
					}
				}
			}
			div[oh*gw.out+ow] = T(max(cnt, 1))
		}
	}
	window := func(oh, ow int, f func(idx int)) {
		for i := 0; i < gh.k; i++ {
			ih := oh*gh.s - gh.pb + i*gh.d
			if ih < 0 || ih >= H {
				continue
			}
			for j := 0; j < gw.k; j++ {
				iw := ow*gw.s - gw.pb + j*gw.d
				if iw >= 0 && iw < W {
					f(ih*W + iw)
				}
			}
		}
	}
	fwd := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x.f[p*H*W : (p+1)*H*W]
			for oh := 0; oh < gh.out; oh++ {
				for ow := 0; ow < gw.out; ow++ {
					var acc float64
					window(oh, ow, func(i int) { acc += float64(xp[i]) })
					y.f[p*ohw+oh*gw.out+ow] = T(acc) / div[oh*gw.out+ow]
				}
			}
		}
	}
	c.fwd = func(*runCtx) error { c.e.pool.run(planes, pgrain, fwd); return nil }
	bwd := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			gx := x.g[p*H*W : (p+1)*H*W]
			for oh := 0; oh < gh.out; oh++ {
				for ow := 0; ow < gw.out; ow++ {
					d := y.g[p*ohw+oh*gw.out+ow] / div[oh*gw.out+ow]
					window(oh, ow, func(i int) { gx[i] += d })
				}
			}
		}
	}
	c.bwd = func() {
		if x.g != nil {
			c.e.pool.run(planes, pgrain, bwd)
		}
	}
	return nil
}

func planGlobalPool[T Float](c *nodeCtx[T], isMax bool) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	if len(x.shape) < 3 {
		return fmt.Errorf("input %s has no spatial dimensions", shapeStr(x.shape))
	}
	out := append([]int{}, x.shape[:2]...)
	for range x.shape[2:] {
		out = append(out, 1)
	}
	y := c.output(0, kFloat, out)
	planes := x.shape[0] * x.shape[1]
	S := numel(x.shape[2:])
	pgrain := max(1, grain/max(1, S))
	fwd := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x.f[p*S : (p+1)*S]
			if isMax {
				best := T(math.Inf(-1))
				for _, v := range xp {
					if v > best || v != v {
						best = v
					}
				}
				y.f[p] = best
				continue
			}
			var acc float64
			for _, v := range xp {
				acc += float64(v)
			}
			y.f[p] = T(acc / float64(S))
		}
	}
	c.fwd = func(*runCtx) error { c.e.pool.run(planes, pgrain, fwd); return nil }
	bwd := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			gx := x.g[p*S : (p+1)*S]
			xp := x.f[p*S : (p+1)*S]
			if isMax {
				for i, v := range xp {
					if v == y.f[p] {
						gx[i] += y.g[p]
						break
					}
				}
				continue
			}
			d := y.g[p] / T(S)
			for i := range gx {
				gx[i] += d
			}
		}
	}
	c.bwd = func() {
		if x.g != nil {
			c.e.pool.run(planes, pgrain, bwd)
		}
	}
	return nil
}
