package exec

import (
	"github.com/nnkit/nnkit/exec/internal/sgemm"
	"github.com/nnkit/nnkit/exec/internal/vec"
)

// Depthwise convolution with one output channel per input channel
// (MobileNet's 3×3 convs) on channels-last blocks. Plane by plane, the late
// layers of a small image are 4×4, 2×2 or 1×1 planes: a few multiply-adds
// each behind a loop nest. Instead, cb channels of one image are transposed
// to [position][channel] rows, and the convolution becomes a list of row
// operations fixed by the geometry alone — y[o] += w[t] ⊙ x[i] for every
// output position o and kernel tap t whose input position i is inside the
// plane — each a vector multiply-add over the block's channels (package
// vec), then transposed back.
//
// Every output is the bias followed by its taps in kernel order, as the
// plane-by-plane loop adds them, so the forward bits are the same. The
// backward pass runs block by block, each block summing its weight
// gradient over the images in order: the bits do not depend on the thread
// count.

// dwOps are a geometry's row operations (see vec.Triples), as index
// triples for the generic path and as vec.Triples for float32.
type dwOps struct {
	ops [][3]int
	tr  *vec.Triples
}

func newDWOps(ops [][3]int) dwOps { return dwOps{ops, vec.NewTriples(ops)} }

// mulAddRows: d[D] += a[A] ⊙ b[B] on rows of w for each operation, the
// product rounded before the sum.
func mulAddRows[T Float](d, a, b []T, o *dwOps, w int) {
	if is32[T]() {
		vec.MulAddRows(asF32(d), asF32(a), asF32(b), o.tr, w)
		return
	}
	for _, op := range o.ops {
		dd, aa, bb := d[op[0]*w:op[0]*w+w], a[op[1]*w:op[1]*w+w], b[op[2]*w:op[2]*w+w]
		for j := range dd {
			dd[j] += T(aa[j] * bb[j])
		}
	}
}

// transposeT writes dst[c·ldd+r] = src[r·lds+c] for r < rows, c < cols.
func transposeT[T Float](dst []T, ldd int, src []T, lds, rows, cols int) {
	if is32[T]() {
		sgemm.Transpose(asF32(dst), ldd, asF32(src), lds, rows, cols)
		return
	}
	for r := 0; r < rows; r++ {
		for c, v := range src[r*lds : r*lds+cols] {
			dst[c*ldd+r] = v
		}
	}
}

// planDepthwiseCL sets the closures of a Conv with group = C input
// channels = M output channels.
func planDepthwiseCL[T Float](c *nodeCtx[T], x, w, b, y *tensor[T], g *dwGeom) {
	N, C := x.shape[0], x.shape[1]
	gh, gw := g.gh, g.gw
	hw, ohw, kk := gh.in*gw.in, gh.out*gw.out, gh.k*gw.k
	cb := min(16, (C+7)&^7) // channels per block: two AVX2 vectors, or one
	nb := (C + cb - 1) / cb
	var fwd, dx, dw [][3]int
	for oh := 0; oh < gh.out; oh++ {
		for ow := 0; ow < gw.out; ow++ {
			for kh := 0; kh < gh.k; kh++ {
				ih := oh*gh.s - gh.pb + kh*gh.d
				for kw := 0; kw < gw.k; kw++ {
					iw := ow*gw.s - gw.pb + kw*gw.d
					if ih < 0 || ih >= gh.in || iw < 0 || iw >= gw.in {
						continue
					}
					o, t, i := oh*gw.out+ow, kh*gw.k+kw, ih*gw.in+iw
					fwd = append(fwd, [3]int{o, t, i}) // y[o] += w[t]·x[i]
					dx = append(dx, [3]int{i, t, o})   // dx[i] += w[t]·dy[o]
					dw = append(dw, [3]int{t, i, o})   // dw[t] += x[i]·dy[o]
				}
			}
		}
	}
	fwdOps, dxOps, dwOps := newDWOps(fwd), newDWOps(dx), newDWOps(dw)

	// one scratch per part; parts = threads, whatever the split of the work
	P := c.e.pool.threads
	type scratch struct{ xt, yt, dxt, dwt, tmp []T }
	c.charge(nb*(kk+1)*cb+P*(3*hw+2*ohw+kk)*cb, "depthwise channel blocks")
	sc := make([]scratch, P)
	for i := range sc {
		sc[i] = scratch{xt: make([]T, hw*cb), yt: make([]T, ohw*cb), dwt: make([]T, kk*cb)}
	}
	wt := make([]T, nb*kk*cb) // weights as [block][tap][channel], zero-padded
	bt := make([]T, nb*cb)    // bias, zero-padded
	pack := func() {
		for ch := 0; ch < C; ch++ {
			blk, j := ch/cb, ch%cb
			for t := 0; t < kk; t++ {
				wt[(blk*kk+t)*cb+j] = w.f[ch*kk+t]
			}
			if b != nil {
				bt[ch] = b.f[ch]
			}
		}
	}
	items := N * nb
	fwdParts := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			s := &sc[p]
			for it := p * items / P; it < (p+1)*items/P; it++ {
				n, blk := it/nb, it%nb
				c0 := blk * cb
				cbn := min(cb, C-c0)
				transposeT(s.xt, cb, x.f[(n*C+c0)*hw:], hw, cbn, hw)
				for o := 0; o < ohw; o++ {
					copy(s.yt[o*cb:(o+1)*cb], bt[c0:c0+cb])
				}
				mulAddRows(s.yt, wt[blk*kk*cb:(blk+1)*kk*cb], s.xt, &fwdOps, cb)
				transposeT(y.f[(n*C+c0)*ohw:], ohw, s.yt, cb, ohw, cbn)
			}
		}
	}
	c.fwd = func(*runCtx) error {
		pack()
		c.e.pool.run(P, 1, fwdParts)
		return nil
	}
	bwdParts := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			s := &sc[p]
			for blk := p * nb / P; blk < (p+1)*nb/P; blk++ {
				c0 := blk * cb
				cbn := min(cb, C-c0)
				clear(s.dwt)
				for n := 0; n < N; n++ {
					dyt := s.yt
					transposeT(dyt, cb, y.g[(n*C+c0)*ohw:], ohw, cbn, ohw)
					if w.g != nil {
						transposeT(s.xt, cb, x.f[(n*C+c0)*hw:], hw, cbn, hw)
						mulAddRows(s.dwt, s.xt, dyt, &dwOps, cb)
					}
					if x.g != nil {
						clear(s.dxt)
						mulAddRows(s.dxt, wt[blk*kk*cb:(blk+1)*kk*cb], dyt, &dxOps, cb)
						transposeT(s.tmp, hw, s.dxt, cb, hw, cbn)
						gx := x.g[(n*C+c0)*hw : (n*C+c0+cbn)*hw]
						for i, v := range s.tmp[:cbn*hw] {
							gx[i] += v
						}
					}
					if b != nil && b.g != nil {
						for j := 0; j < cbn; j++ {
							var acc float64
							for _, d := range y.g[(n*C+c0+j)*ohw : (n*C+c0+j+1)*ohw] {
								acc += float64(d)
							}
							b.g[c0+j] += T(acc)
						}
					}
				}
				if w.g != nil {
					for j := 0; j < cbn; j++ {
						for t := 0; t < kk; t++ {
							w.g[(c0+j)*kk+t] += s.dwt[t*cb+j]
						}
					}
				}
			}
		}
	}
	c.bwd = func() {
		if x.g != nil && sc[0].dxt == nil {
			for i := range sc {
				sc[i].dxt, sc[i].tmp = make([]T, hw*cb), make([]T, hw*cb)
			}
		}
		pack()
		c.e.pool.run(P, 1, bwdParts)
	}
}
