package exec

// Convolutions whose column matrix is large (VGG's and AlexNet's early
// layers at 224×224: 64 channels × 3×3 taps × 224² positions is 115 MB per
// image) run in chunks of output rows: im2col writes a chunk small enough
// to stay in cache, the GEMM reads it from there, and the gradient passes
// work on the same chunks, instead of streaming the whole matrix through
// memory once per pass (im2col, packing, col2im). The chunking depends on
// the shape only, so the bits do not depend on the thread count.

// convChunkElems bounds one chunk's column matrix, in elements (2 MB of
// float32: a chunk and its packed copy fit in the L2+L3 cache a core
// gets); a variable so that the tests can force small chunks.
var convChunkElems = 1 << 19

// convChunkCols is the least number of columns (output positions) of a
// chunk: narrower GEMMs lose more than the cache saves (measured on
// AlexNet's 13×13 and 27×27 layers).
var convChunkCols = 1024

// convChunkRows is the number of output rows per chunk of a group-1
// convolution with a C·KH·KW × OH·OW column matrix, or 0 if it runs
// unchunked (fewer than two chunks).
func convChunkRows(C, kk int, gh, gw geom) int {
	if C*kk*gh.out*gw.out <= convChunkElems {
		return 0
	}
	r := max(convChunkElems/(C*kk*gw.out), (convChunkCols+gw.out-1)/gw.out, 1)
	if r*2 > gh.out {
		return 0
	}
	return r
}

// im2colRows is im2col for output rows [oh0, oh1): column j of col is
// output position (oh0·OW + j).
func im2colRows[T Float](x []T, C int, gh, gw geom, col []T, ld, oh0, oh1 int) {
	H, W := gh.in, gw.in
	OW := gw.out
	r := 0
	for c := 0; c < C; c++ {
		xc := x[c*H*W : (c+1)*H*W]
		for kh := 0; kh < gh.k; kh++ {
			for kw := 0; kw < gw.k; kw++ {
				o := r * ld
				r++
				for oh := oh0; oh < oh1; oh++ {
					row := col[o : o+OW]
					o += OW
					ih := oh*gh.s - gh.pb + kh*gh.d
					if ih < 0 || ih >= H {
						clear(row)
						continue
					}
					xr := xc[ih*W : (ih+1)*W]
					iw0 := kw*gw.d - gw.pb
					if gw.s == 1 {
						// columns ow with 0 ≤ ow+iw0 < W
						lo := min(max(0, -iw0), OW)
						hi := max(min(OW, W-iw0), lo)
						clear(row[:lo])
						copy(row[lo:hi], xr[lo+iw0:hi+iw0])
						clear(row[hi:])
						continue
					}
					for ow := range row {
						iw := ow*gw.s + iw0
						if iw >= 0 && iw < W {
							row[ow] = xr[iw]
						} else {
							row[ow] = 0
						}
					}
				}
			}
		}
	}
}

// col2imRows is the adjoint of im2colRows: dx += the column gradients of
// output rows [oh0, oh1), summed.
func col2imRows[T Float](col []T, C int, gh, gw geom, dx []T, ld, oh0, oh1 int) {
	H, W := gh.in, gw.in
	OW := gw.out
	r := 0
	for c := 0; c < C; c++ {
		xc := dx[c*H*W : (c+1)*H*W]
		for kh := 0; kh < gh.k; kh++ {
			for kw := 0; kw < gw.k; kw++ {
				o := r * ld
				r++
				for oh := oh0; oh < oh1; oh++ {
					row := col[o : o+OW]
					o += OW
					ih := oh*gh.s - gh.pb + kh*gh.d
					if ih < 0 || ih >= H {
						continue
					}
					xr := xc[ih*W : (ih+1)*W]
					iw0 := kw*gw.d - gw.pb
					if gw.s == 1 {
						lo := min(max(0, -iw0), OW)
						hi := max(min(OW, W-iw0), lo)
						dst := xr[lo+iw0 : hi+iw0]
						for i, v := range row[lo:hi] {
							dst[i] += v
						}
						continue
					}
					for ow, v := range row {
						iw := ow*gw.s + iw0
						if iw >= 0 && iw < W {
							xr[iw] += v
						}
					}
				}
			}
		}
	}
}

// planConvChunked sets the closures of a group-1 convolution in chunks of
// output rows: per chunk, Y[:, chunk] = W·col, dW += dY[:, chunk]·colᵀ,
// dcol = Wᵀ·dY[:, chunk], dx += col⁻¹(dcol). The images are split into
// convImageGroups groups as in planConv, each with its own weight-gradient
// buffer, added in order.
//
// R is convChunkRows(C, KH·KW, gh, gw) > 0.
func planConvChunked[T Float](c *nodeCtx[T], x, w, b, y *tensor[T], gh, gw geom) {
	N, C, M := x.shape[0], x.shape[1], w.shape[0]
	hw, ohw, kk := gh.in*gw.in, gh.out*gw.out, gh.k*gw.k
	K := C * kk
	R := convChunkRows(C, kk, gh, gw)
	P := min(N, convImageGroups)
	c.charge(prod(P, K, R, gw.out), "im2col chunks")
	type scratch struct{ col, dcol, dw, db []T }
	sc := make([]scratch, P)
	for i := range sc {
		sc[i].col = make([]T, K*R*gw.out)
	}
	mm := c.e.mm
	gemm := func(serial bool, tA, tB bool, m, n, k int, a []T, lda int, bb []T, ldb int, beta T, cc []T, ldc int) {
		if serial {
			gemmSerial(tA, tB, m, n, k, 1, a, lda, bb, ldb, beta, cc, ldc)
		} else {
			mm.gemm(tA, tB, m, n, k, 1, a, lda, bb, ldb, beta, cc, ldc)
		}
	}
	image := func(s *scratch, n int, serial bool) {
		xn := x.f[n*C*hw : (n+1)*C*hw]
		yn := y.f[n*M*ohw : (n+1)*M*ohw]
		for oh0 := 0; oh0 < gh.out; oh0 += R {
			oh1 := min(gh.out, oh0+R)
			nc, j0 := (oh1-oh0)*gw.out, oh0*gw.out
			im2colRows(xn, C, gh, gw, s.col, nc, oh0, oh1)
			gemm(serial, false, false, M, nc, K, w.f, K, s.col, nc, 0, yn[j0:], ohw)
		}
		if b != nil {
			for m := 0; m < M; m++ {
				bv := b.f[m]
				row := yn[m*ohw : (m+1)*ohw]
				for i := range row {
					row[i] += bv
				}
			}
		}
	}
	fwdParts := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			for n := p * N / P; n < (p+1)*N/P; n++ {
				image(&sc[p], n, true)
			}
		}
	}
	c.fwd = func(*runCtx) error {
		if P > 1 {
			c.e.pool.run(P, 1, fwdParts)
		} else {
			for n := 0; n < N; n++ {
				image(&sc[0], n, false)
			}
		}
		return nil
	}
	back := func(s *scratch, n int, serial bool, dw, db []T) {
		dy := y.g[n*M*ohw : (n+1)*M*ohw]
		if db != nil {
			addPlaneSums(db, dy, M, ohw)
		}
		xn := x.f[n*C*hw : (n+1)*C*hw]
		for oh0 := 0; oh0 < gh.out; oh0 += R {
			oh1 := min(gh.out, oh0+R)
			nc, j0 := (oh1-oh0)*gw.out, oh0*gw.out
			if dw != nil {
				im2colRows(xn, C, gh, gw, s.col, nc, oh0, oh1)
				gemm(serial, false, true, M, K, nc, dy[j0:], ohw, s.col, nc, 1, dw, K)
			}
			if x.g != nil {
				gemm(serial, true, false, K, nc, M, w.f, K, dy[j0:], ohw, 0, s.dcol, nc)
				col2imRows(s.dcol, C, gh, gw, x.g[n*C*hw:(n+1)*C*hw], nc, oh0, oh1)
			}
		}
	}
	bwdParts := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			s := &sc[p]
			clear(s.dw)
			clear(s.db)
			for n := p * N / P; n < (p+1)*N/P; n++ {
				back(s, n, true, s.dw, s.db)
			}
		}
	}
	c.bwd = func() {
		needW, needB := w.g != nil, b != nil && b.g != nil
		for i := range sc {
			if x.g != nil && sc[i].dcol == nil {
				sc[i].dcol = make([]T, K*R*gw.out)
			}
			if P > 1 && needW && sc[i].dw == nil {
				sc[i].dw = make([]T, w.size)
			}
			if P > 1 && needB && sc[i].db == nil {
				sc[i].db = make([]T, M)
			}
		}
		if P == 1 {
			var dw, db []T
			if needW {
				dw = w.g
			}
			if needB {
				db = b.g
			}
			for n := 0; n < N; n++ {
				back(&sc[0], n, false, dw, db)
			}
			return
		}
		c.e.pool.run(P, 1, bwdParts)
		for i := range sc { // fixed order: deterministic sums
			for j, v := range sc[i].dw {
				w.g[j] += v
			}
			for j, v := range sc[i].db {
				b.g[j] += v
			}
		}
	}
}
