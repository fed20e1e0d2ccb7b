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
	gs, err := poolGeometry(c.n, x.shape)
	if err != nil {
		return err
	}
	out, err := c.inferred(0) // [N C] then the windows' output sizes
	if err != nil {
		return err
	}
	y := c.output(0, kFloat, out)
	gh, gw := as2D(gs)
	if isMax {
		var ind *tensor[T]
		if len(c.out) > 1 {
			ind = c.output(1, kInt, out)
			ind.nograd = true
		}
		planMaxPool(c, x, y, ind, gh, gw)
		return nil
	}
	planAvgPool(c, x, y, gh, gw, c.n.Int("count_include_pad", 0) != 0)
	return nil
}

// poolGeometry checks a MaxPool or AveragePool node's kernel_shape against
// its input's shape and returns the geometry of the 1 or 2 spatial axes.
func poolGeometry(n *ir.Node, shape []int) ([]geom, error) {
	r := len(shape)
	if r != 3 && r != 4 {
		return nil, fmt.Errorf("input %s: only 1-D and 2-D pooling ([N,C,L] or [N,C,H,W]) is supported", shapeStr(shape))
	}
	ks := n.Ints("kernel_shape", nil)
	if len(ks) != r-2 {
		return nil, fmt.Errorf("kernel_shape %v does not match input %s", ks, shapeStr(shape))
	}
	return spatialGeom(n, shape[2:], dims(ks))
}

// maxPool is a max pooling's kernel over the planes of x: y, the flat
// position of each maximum in its plane (arg, −1 for a window wholly in
// the padding) and, when asked for, ONNX's indices output ind.
type maxPool[T Float] struct {
	x, y, ind *tensor[T]
	arg       []int32
	gh, gw    geom
	// rowIn[oh], colIn[ow]: the windows of output row oh (column ow) lie
	// inside the input
	rowIn, colIn []bool
	// forwardValues: colIn is true on [colLo, colHi); the window positions
	// inside the input of each output row and column (poolTaps)
	colLo, colHi     int
	rowTaps, colTaps []int
}

func planMaxPool[T Float](c *nodeCtx[T], x, y, ind *tensor[T], gh, gw geom) {
	k := &maxPool[T]{x: x, y: y, ind: ind, arg: make([]int32, y.size), gh: gh, gw: gw,
		rowIn: make([]bool, gh.out), colIn: make([]bool, gw.out)}
	H, W := gh.in, gw.in
	for oh := range k.rowIn {
		k.rowIn[oh] = oh*gh.s-gh.pb >= 0 && oh*gh.s-gh.pb+(gh.k-1)*gh.d < H
	}
	for ow := range k.colIn {
		k.colIn[ow] = ow*gw.s-gw.pb >= 0 && ow*gw.s-gw.pb+(gw.k-1)*gw.d < W
	}
	planes := x.shape[0] * x.shape[1]
	pgrain := max(1, grain/max(1, H*W))
	fwd, bwd := k.forward, k.backward // bound once: no allocation per run
	if c.e.opts.Inference && ind == nil {
		// nothing reads the positions of the maxima
		k.arg = nil
		k.colLo, k.colHi = gw.out, gw.out
		for ow, in := range k.colIn {
			if in {
				k.colLo, k.colHi = min(k.colLo, ow), ow+1
			}
		}
		k.rowTaps, k.colTaps = poolTaps(gh), poolTaps(gw)
		fwd = k.forwardValues
	}
	c.fwd = func(*runCtx) error { c.e.pool.run(planes, pgrain, fwd); return nil }
	c.bwd = func() {
		if x.g != nil {
			c.e.pool.run(planes, pgrain, bwd)
		}
	}
}

// forward pools planes [lo, hi). A window lying wholly inside the input
// (the usual case, and every window without padding) is reduced
// branch-free: the maximum with max (NaN propagates) and its first
// position (PyTorch's tie rule) by a masked select, since which element
// wins is random.
func (k *maxPool[T]) forward(lo, hi int) {
	x, y, ind, arg, gh, gw := k.x, k.y, k.ind, k.arg, k.gh, k.gw
	rowIn, colIn := k.rowIn, k.colIn
	H, W := gh.in, gw.in
	ohw := gh.out * gw.out
	kh, kw, dh, dw := gh.k, gw.k, gh.d*W, gw.d
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

// forwardValues is forward without the positions of the maxima, for a
// forward-only program whose MaxPool has no indices output (ResNet's stem:
// the bookkeeping cost more than the maxima). Its y is forward's, bit for
// bit: windows inside the input are reduced with max (whose result does
// not depend on the order), the others by forward's own scan.
func (k *maxPool[T]) forwardValues(lo, hi int) {
	x, y, gh, gw := k.x, k.y, k.gh, k.gw
	H, W := gh.in, gw.in
	OW, ohw := gw.out, gh.out*gw.out
	kh, kw, dh, dw, sw := gh.k, gw.k, gh.d*W, gw.d, gw.s
	for p := lo; p < hi; p++ {
		xp := x.f[p*H*W : (p+1)*H*W]
		yp := y.f[p*ohw : (p+1)*ohw]
		for oh := 0; oh < gh.out; oh++ {
			yr := yp[oh*OW : (oh+1)*OW]
			lo, hi := 0, 0 // the outputs reduced here
			if k.rowIn[oh] {
				lo, hi = k.colLo, k.colHi
				base := (oh*gh.s-gh.pb)*W + lo*sw - gw.pb
				switch {
				case kh == 3 && kw == 3: // ResNet's stem, unrolled
					for ow := lo; ow < hi; ow, base = ow+1, base+sw {
						r0 := xp[base : base+2*dw+1]
						r1 := xp[base+dh : base+dh+2*dw+1]
						r2 := xp[base+2*dh : base+2*dh+2*dw+1]
						m0 := max(r0[0], r0[dw], r0[2*dw])
						m1 := max(r1[0], r1[dw], r1[2*dw])
						m2 := max(r2[0], r2[dw], r2[2*dw])
						yr[ow] = max(m0, m1, m2)
					}
				case kh == 2 && kw == 2:
					for ow := lo; ow < hi; ow, base = ow+1, base+sw {
						yr[ow] = max(xp[base], xp[base+dw], xp[base+dh], xp[base+dh+dw])
					}
				default:
					for ow := lo; ow < hi; ow, base = ow+1, base+sw {
						best := xp[base]
						for i := 0; i < kh; i++ {
							row := xp[base+i*dh : base+i*dh+(kw-1)*dw+1]
							for j := 0; j < len(row); j += dw {
								best = max(best, row[j])
							}
						}
						yr[ow] = best
					}
				}
			}
			for ow := 0; ow < OW; ow++ {
				if ow == lo && hi > lo {
					ow = hi - 1
					continue
				}
				yr[ow] = k.edge(xp, oh, ow)
			}
		}
	}
}

// edge is forward's reduction of a window that reaches into the padding:
// the first maximum in scan order, or −Inf for a window wholly in the
// padding. That is max over the window's taps inside the input (NaN if
// there is one), except on a tie of −0 and +0, where the first zero wins.
func (k *maxPool[T]) edge(xp []T, oh, ow int) T {
	gh, gw := k.gh, k.gw
	W := gw.in
	ih0, iw0 := oh*gh.s-gh.pb, ow*gw.s-gw.pb
	i0, i1 := k.rowTaps[2*oh], k.rowTaps[2*oh+1]
	j0, j1 := k.colTaps[2*ow], k.colTaps[2*ow+1]
	best := T(math.Inf(-1))
	for i := i0; i < i1; i++ {
		row := (ih0 + i*gh.d) * W
		for j := j0; j < j1; j++ {
			best = max(best, xp[row+iw0+j*gw.d])
		}
	}
	if best == 0 {
		for i := i0; i < i1; i++ {
			row := (ih0 + i*gh.d) * W
			for j := j0; j < j1; j++ {
				if v := xp[row+iw0+j*gw.d]; v == 0 {
					return v
				}
			}
		}
	}
	return best
}

// poolTaps returns, for every output position along one axis, the window
// positions [lo, hi) that lie inside the input, as pairs.
func poolTaps(g geom) []int {
	t := make([]int, 2*g.out)
	for o := 0; o < g.out; o++ {
		lo, hi := g.k, 0
		for i := 0; i < g.k; i++ {
			if p := o*g.s - g.pb + i*g.d; p >= 0 && p < g.in {
				lo, hi = min(lo, i), i+1
			}
		}
		t[2*o], t[2*o+1] = lo, max(lo, hi)
	}
	return t
}

// backward routes each output gradient of planes [lo, hi) to its maximum.
func (k *maxPool[T]) backward(lo, hi int) {
	hw, ohw := k.gh.in*k.gw.in, k.gh.out*k.gw.out
	for p := lo; p < hi; p++ {
		gx := k.x.g[p*hw : (p+1)*hw]
		for o := p * ohw; o < (p+1)*ohw; o++ {
			if a := k.arg[o]; a >= 0 {
				gx[a] += k.y.g[o]
			}
		}
	}
}

func planAvgPool[T Float](c *nodeCtx[T], x, y *tensor[T], gh, gw geom, includePad bool) {
	planes := x.shape[0] * x.shape[1]
	H, W := gh.in, gw.in
	ohw := gh.out * gw.out
	pgrain := max(1, grain/max(1, H*W))
	div := avgPoolDivisors[T](gh, gw, includePad)
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
}

// avgPoolDivisors returns the divisor of each output position (the same
// for every plane): the number of window positions inside the input, or
// with includePad inside the padded input.
func avgPoolDivisors[T Float](gh, gw geom, includePad bool) []T {
	H, W := gh.in, gw.in
	div := make([]T, gh.out*gw.out)
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
	return div
}

func planGlobalPool[T Float](c *nodeCtx[T], isMax bool) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	out, err := c.inferred(0) // [N C 1 …]
	if err != nil {
		return err
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
