package exec

// Depthwise convolution (one input channel per group, e.g. MobileNet's
// 3×3 convs): im2col + GEMM would multiply 1×9 by 9×HW matrices, so it is
// computed directly, plane by plane.
//
//	y[n,m] = Σ_kh,kw w[m,kh,kw]·x[n,m/k] shifted + b[m]   (k = M/C channels per group)
//	→ dw[m,kh,kw] = Σ_n,oh,ow dy[n,m]·x[n,m/k] shifted, db[m] = Σ dy[n,m],
//	  dx[n,c] += Σ_{m of c} Σ_kh,kw w[m,kh,kw]·dy[n,m] shifted back

type dwGeom struct {
	gh, gw geom
}

// span returns, for kernel column kw, the output columns whose input column
// iw = ow·s − pb + kw·d is inside [0, W).
func (g *dwGeom) span(kw int) (lo, hi int) {
	gw := g.gw
	off := kw*gw.d - gw.pb
	// ow·s + off ≥ 0  ⇔ ow ≥ ceil(−off/s)
	lo = 0
	if off < 0 {
		lo = (-off + gw.s - 1) / gw.s
	}
	// ow·s + off ≤ W−1 ⇔ ow ≤ (W−1−off)/s
	if W := gw.in; W-1-off < 0 {
		hi = 0
	} else {
		hi = min(gw.out, (W-1-off)/gw.s+1)
	}
	return lo, max(lo, hi)
}

func dwForward[T Float](g *dwGeom, xp, yp, w []T) {
	gh, gw := g.gh, g.gw
	W, OW := gw.in, gw.out
	for kh := 0; kh < gh.k; kh++ {
		for kw := 0; kw < gw.k; kw++ {
			wv := w[kh*gw.k+kw]
			lo, hi := g.span(kw)
			off := kw*gw.d - gw.pb
			for oh := 0; oh < gh.out; oh++ {
				ih := oh*gh.s - gh.pb + kh*gh.d
				if ih < 0 || ih >= gh.in || lo >= hi {
					continue
				}
				yr := yp[oh*OW+lo : oh*OW+hi]
				xr := xp[ih*W:]
				if gw.s == 1 {
					xs := xr[lo+off : hi+off]
					for i, v := range xs {
						yr[i] += wv * v
					}
				} else {
					for i := range yr {
						yr[i] += wv * xr[(lo+i)*gw.s+off]
					}
				}
			}
		}
	}
}

// dwBackward accumulates dw (KH×KW) += dy ⋆ x and, if dxp != nil,
// dxp += w ⋆ᵀ dy for one plane.
func dwBackward[T Float](g *dwGeom, xp, dyp, w, dw, dxp []T) {
	gh, gw := g.gh, g.gw
	W, OW := gw.in, gw.out
	for kh := 0; kh < gh.k; kh++ {
		for kw := 0; kw < gw.k; kw++ {
			wv := w[kh*gw.k+kw]
			lo, hi := g.span(kw)
			off := kw*gw.d - gw.pb
			var acc T
			for oh := 0; oh < gh.out; oh++ {
				ih := oh*gh.s - gh.pb + kh*gh.d
				if ih < 0 || ih >= gh.in || lo >= hi {
					continue
				}
				dr := dyp[oh*OW+lo : oh*OW+hi]
				if gw.s == 1 {
					xs := xp[ih*W+lo+off : ih*W+hi+off]
					for i, d := range dr {
						acc += d * xs[i]
					}
					if dxp != nil {
						ds := dxp[ih*W+lo+off : ih*W+hi+off]
						for i, d := range dr {
							ds[i] += wv * d
						}
					}
				} else {
					for i, d := range dr {
						j := ih*W + (lo+i)*gw.s + off
						acc += d * xp[j]
						if dxp != nil {
							dxp[j] += wv * d
						}
					}
				}
			}
			if dw != nil {
				dw[kh*gw.k+kw] += acc
			}
		}
	}
}

// planDepthwise sets the closures of a Conv with one input channel per
// group and mg output channels per group.
func planDepthwise[T Float](c *nodeCtx[T], x, w, b, y *tensor[T], g *dwGeom, mg int) {
	if mg == 1 {
		planDepthwiseCL(c, x, w, b, y, g)
		return
	}
	N, C, M := x.shape[0], x.shape[1], w.shape[0]
	hw, ohw, kk := g.gh.in*g.gw.in, g.gh.out*g.gw.out, g.gh.k*g.gw.k
	fwd := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			n, m := p/M, p%M
			yp := y.f[p*ohw : (p+1)*ohw]
			var bv T
			if b != nil {
				bv = b.f[m]
			}
			for i := range yp {
				yp[i] = bv
			}
			dwForward(g, x.f[(n*C+m/mg)*hw:(n*C+m/mg+1)*hw], yp, w.f[m*kk:(m+1)*kk])
		}
	}
	pgrain := max(1, grain/max(1, ohw*kk))
	c.fwd = func(*runCtx) error { c.e.pool.run(N*M, pgrain, fwd); return nil }
	// backward by input channel: the weights of the group's output
	// channels are summed over the batch by one worker, in order
	bwd := func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			for n := 0; n < N; n++ {
				xp := x.f[(n*C+ch)*hw : (n*C+ch+1)*hw]
				var dxp []T
				if x.g != nil {
					dxp = x.g[(n*C+ch)*hw : (n*C+ch+1)*hw]
				}
				for m := ch * mg; m < (ch+1)*mg; m++ {
					dyp := y.g[(n*M+m)*ohw : (n*M+m+1)*ohw]
					var dw []T
					if w.g != nil {
						dw = w.g[m*kk : (m+1)*kk]
					}
					dwBackward(g, xp, dyp, w.f[m*kk:(m+1)*kk], dw, dxp)
					if b != nil && b.g != nil {
						var acc float64
						for _, d := range dyp {
							acc += float64(d)
						}
						b.g[m] += T(acc)
					}
				}
			}
		}
	}
	c.bwd = func() { c.e.pool.run(C, max(1, pgrain/N), bwd) }
}
