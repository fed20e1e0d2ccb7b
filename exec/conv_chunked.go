package exec

// Convolutions whose column matrix is large (VGG's and AlexNet's early
// layers at 224×224: 64 channels × 3×3 taps × 224² positions is 115 MB per
// image) run in chunks of output rows: im2col writes a chunk small enough
// to stay in cache, the GEMM reads it from there, and the gradient passes
// work on the same chunks, instead of streaming the whole matrix through
// memory once per pass (im2col, packing, col2im). The chunking depends on
// the shape only, so the bits do not depend on the thread count. They are
// the per-image convolution (convImages) with rows > 0: its parts, buffers
// and gradient sums, chunk by chunk.

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
	colRows(x, C, gh, gw, col, ld, oh0, oh1, false)
}

// col2imRows is the adjoint of im2colRows: dx += the column gradients of
// output rows [oh0, oh1), summed.
func col2imRows[T Float](col []T, C int, gh, gw geom, dx []T, ld, oh0, oh1 int) {
	colRows(dx, C, gh, gw, col, ld, oh0, oh1, true)
}

// colRows walks the column matrix of output rows [oh0, oh1) (rows ld
// apart) against the image x it is made of: without adj it writes each
// column row from x (0 in the padding), with adj it adds each into the
// elements of x it was read from.
func colRows[T Float](x []T, C int, gh, gw geom, col []T, ld, oh0, oh1 int, adj bool) {
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
						if !adj {
							clear(row)
						}
						continue
					}
					xr := xc[ih*W : (ih+1)*W]
					iw0 := kw*gw.d - gw.pb
					switch {
					case gw.s == 1 && adj:
						// columns ow with 0 ≤ ow+iw0 < W
						lo := min(max(0, -iw0), OW)
						hi := max(min(OW, W-iw0), lo)
						dst := xr[lo+iw0 : hi+iw0]
						for i, v := range row[lo:hi] {
							dst[i] += v
						}
					case gw.s == 1:
						lo := min(max(0, -iw0), OW)
						hi := max(min(OW, W-iw0), lo)
						clear(row[:lo])
						copy(row[lo:hi], xr[lo+iw0:hi+iw0])
						clear(row[hi:])
					case adj:
						for ow, v := range row {
							if iw := ow*gw.s + iw0; iw >= 0 && iw < W {
								xr[iw] += v
							}
						}
					default:
						// columns ow with 0 ≤ ow·s + iw0 < W, then a
						// strided copy without a test per element
						lo, hi := strideSpan(iw0, gw.s, W, OW)
						clear(row[:lo])
						src := xr[lo*gw.s+iw0:]
						for i := range row[lo:hi] {
							row[lo+i] = src[i*gw.s]
						}
						clear(row[hi:])
					}
				}
			}
		}
	}
}

// strideSpan returns the output positions [lo, hi) (within [0, out)) whose
// input position o·s + off lies in [0, in).
func strideSpan(off, s, in, out int) (lo, hi int) {
	if off < 0 {
		lo = min((-off+s-1)/s, out)
	}
	hi = lo
	if in-1-off >= 0 {
		hi = max(lo, min(out, (in-1-off)/s+1))
	}
	return lo, hi
}

// imageChunks is the forward of image n (into yn, without the bias) in
// chunks of k.rows output rows: Y[:, chunk] = W·col.
func (k *convImages[T]) imageChunks(s *convScratch[T], n int, serial bool, yn []T) {
	gh, gw, K, ohw := k.gh, k.gw, k.ckk, k.ohw
	xn := k.x.f[n*k.C*k.hw : (n+1)*k.C*k.hw]
	for oh0 := 0; oh0 < gh.out; oh0 += k.rows {
		oh1 := min(gh.out, oh0+k.rows)
		nc, j0 := (oh1-oh0)*gw.out, oh0*gw.out
		im2colRows(xn, k.C, gh, gw, s.col, nc, oh0, oh1)
		k.gemm(serial, false, false, k.M, nc, K, 1, k.w.f, K, s.col, nc, 0, yn[j0:], ohw)
	}
}

// backChunks is the backward of image n (output gradient dy) but for the
// bias, in chunks of k.rows output rows: dW += dY[:, chunk]·colᵀ (when dw
// is not nil), dcol = Wᵀ·dY[:, chunk], dx += col⁻¹(dcol).
func (k *convImages[T]) backChunks(s *convScratch[T], n int, serial bool, dy, dw []T) {
	gh, gw, K, ohw := k.gh, k.gw, k.ckk, k.ohw
	xn := k.x.f[n*k.C*k.hw : (n+1)*k.C*k.hw]
	for oh0 := 0; oh0 < gh.out; oh0 += k.rows {
		oh1 := min(gh.out, oh0+k.rows)
		nc, j0 := (oh1-oh0)*gw.out, oh0*gw.out
		if dw != nil {
			im2colRows(xn, k.C, gh, gw, s.col, nc, oh0, oh1)
			k.gemm(serial, false, true, k.M, K, nc, 1, dy[j0:], ohw, s.col, nc, 1, dw, K)
		}
		if k.x.g != nil {
			k.gemm(serial, true, false, K, nc, k.M, 1, k.w.f, K, dy[j0:], ohw, 0, s.dcol, nc)
			col2imRows(s.dcol, k.C, gh, gw, k.x.g[n*k.C*k.hw:(n+1)*k.C*k.hw], nc, oh0, oh1)
		}
	}
}
