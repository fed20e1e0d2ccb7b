package exec

import (
	"sync/atomic"

	"github.com/nnkit/nnkit/exec/internal/sgemm"
)

// Conv in a forward-only program (Options.Inference) whose weights are
// parameters or constants: the weights are packed for the GEMM kernel once,
// when the plan is built, instead of on every product (on thin products —
// few output pixels per weight, as in the late layers of a CNN or at batch
// 1 — packing them cost as much as the arithmetic). The bias is the initial
// value of the product (C = b + W·col, one rounding less than adding it
// afterwards), and an activation that only this convolution feeds (Relu,
// Clip) is applied to each block of output while it is in cache (see
// fuse.go).
//
// Images are taken in chunks of nb, interleaved pixel by pixel in one
// column matrix (so that im2col moves runs nb times longer than a row of
// one small image), so that every product has at least convMinCols columns:
//
//	Y'[M, OH·OW·nb] = W[M, C·KH·KW] · col[C·KH·KW, OH·OW·nb]
//
// Kernel rows or columns that meet nothing but padding at every output
// position (a 3×3 kernel on a 1×1 plane) are left out of W and col: their
// terms are 0·w. Not when a weight is ±Inf or NaN: 0·w is NaN then, and
// the output must be NaN as PyTorch's is. When the product's columns would leave much of the last
// micro-tile empty (49 pixels of a 7×7 plane in 64 columns; a few pixels
// at batch 1), the transposed product Y'ᵀ = colᵀ · Wᵀ runs instead, whose
// rows the kernel takes in panels of any height, without padding. Either way each output element is one dot product over
// C·KH·KW in the kernel's fixed order, so the bits do not depend on the
// chunking, the orientation or the thread count. Chunks go to the worker
// goroutines when there are enough of them; otherwise each chunk's im2col
// and product are split over the workers.

// convMinCols: chunks of images give products at least this wide (a few
// micro-tiles of columns, so the packed weights are streamed once per
// several tiles).
const convMinCols = 256

// convInfer is one inference convolution's plan.
type convInfer struct {
	N, C, M, K, kk, hw, ohw int
	gh, gw                  geom
	direct                  bool // 1×1, stride 1, no padding: col is the image itself
	nb, chunks              int  // images per chunk, number of chunks
	trans                   bool // Y'ᵀ = colᵀ·Wᵀ (W packed as B) instead of Y' = W·col
	byRows                  bool // the normal product is split over rows of C (else columns)
	w                       *sgemm.Packed
	bias                    []float32        // during a Run
	act                     *epilogue        // fused activation, or nil
	skip                    *tensor[float32] // fused residual Add's other operand, or nil
	res                     []float32        // skip's values during a Run
	mr, nr                  int
	calls                   []*convCall  // one per worker slot
	next                    atomic.Int64 // the next chunk to take
}

// convCall is one worker slot's scratch and the chunk it is computing; its
// loop functions are made once, so a Run allocates nothing.
type convCall struct {
	q     *convInfer
	col   []float32 // [K, nb·ohw] (nil when direct and nb == 1)
	xt    []float32 // a chunk's images interleaved, [C, H·W, nb] (nil when direct or nb == 1)
	phase []float32 // one image's columns by phase, [C, H, sw, ⌈W/sw⌉] (nil unless strided, nb == 1)
	stage []float32 // product before it is scattered into y (nil when written in place)

	// the current chunk
	x, y     []float32
	n0, nb   int
	a        []float32 // the column matrix (col, or the image itself)
	lda      int
	out      []float32 // where the product goes (y or stage)
	ldo      int
	fillFn   func(lo, hi int)
	bandFn   func(lo, hi int)
	scatterF func(lo, hi int)

	// the loop spread is running (see spread)
	dn, dper int
	df       func(lo, hi int)
	dnext    atomic.Int64
	dynFn    func(lo, hi int)
}

// inferConvOK reports whether planConvInfer can run this convolution: a
// float32 forward-only program on the SIMD kernel, one group, weights known
// when the plan is built, and no empty operand.
func inferConvOK[T Float](c *nodeCtx[T], x, w *tensor[T], grp int) bool {
	return c.e.opts.Inference && is32[T]() && simd() && grp == 1 && (w.state || w.static) && x.size > 0 && w.size > 0
}

func planConvInfer[T Float](c *nodeCtx[T], x, w, b, y *tensor[T], gh, gw geom) {
	N, C, M := x.shape[0], x.shape[1], w.shape[0]
	wf := asF32(w.f)
	// kernel rows and columns that only ever meet padding (a 3×3 kernel on
	// a 1×1 plane) add nothing but zeros: leave them out
	h0, h1 := usedTaps(gh)
	w0, w1 := usedTaps(gw)
	if h0 < h1 && w0 < w1 && (h1-h0 < gh.k || w1-w0 < gw.k) && finiteF32(wf) {
		kh, kw := h1-h0, w1-w0
		c.charge(prod(M, C, kh, kw), "pruned weights")
		pw := make([]float32, M*C*kh*kw)
		for mc := 0; mc < M*C; mc++ {
			for i := 0; i < kh; i++ {
				copy(pw[(mc*kh+i)*kw:(mc*kh+i+1)*kw], wf[(mc*gh.k+h0+i)*gw.k+w0:])
			}
		}
		wf = pw
		gh.k, gh.pb = kh, gh.pb-h0*gh.d
		gw.k, gw.pb = kw, gw.pb-w0*gw.d
	}
	kk := gh.k * gw.k
	q := &convInfer{N: N, C: C, M: M, K: C * kk, kk: kk, hw: gh.in * gw.in, ohw: gh.out * gw.out, gh: gh, gw: gw}
	q.direct = kk == 1 && gh.s == 1 && gw.s == 1 && gh.pb == 0 && gw.pb == 0 && gh.out == gh.in && gw.out == gw.in
	q.mr, q.nr = sgemm.Tile()
	q.nb = min(N, max(1, (convMinCols+q.ohw-1)/q.ohw))
	q.chunks = (N + q.nb - 1) / q.nb
	q.nb = (N + q.chunks - 1) / q.chunks // even chunks
	L := q.nb * q.ohw
	// the transposed product when the normal one would pad its columns
	// with 5% more work than the transposed one pads its columns (its
	// rows are the kernel's rows: 49 pixels are 3 panels of 14 and one of
	// 7, where the normal product computes 64 columns)
	threads := c.e.pool.threads
	q.trans = roundUp(L, q.nr)*M*20 > L*roundUp(M, q.nr)*21
	if q.trans {
		// by rows (pixels) when there are enough: each piece then packs
		// only its own rows of colᵀ, and the weights are packed already
		q.byRows = (L+q.mr-1)/q.mr >= 2*threads
	} else {
		q.byRows = (M+q.mr-1)/q.mr > (L+q.nr-1)/q.nr
	}
	c.charge(prod(roundUp(M, q.nr), q.K), "packed weights")
	if q.trans {
		q.w = sgemm.PackB(true, q.K, M, wf, q.K)
	} else {
		q.w = sgemm.PackA(false, M, q.K, wf, q.K)
	}
	q.act = c.fusedActivation(y)
	if q.act == nil {
		var skip *tensor[T]
		skip, q.act = c.fusedResidual(y)
		if skip != nil {
			q.skip = any(skip).(*tensor[float32]) // fusedResidual returns nil unless T is float32
		}
	}
	slots := 1
	if q.chunks >= threads {
		slots = threads
	}
	needCol := !q.direct || q.nb > 1
	needStage := q.trans || q.nb > 1
	needXT := !q.direct && q.nb > 1 // interleaved input of a chunk
	// one image per chunk, strided along W: im2col reads phase planes
	needPhase := !q.direct && q.nb == 1 && gw.s > 1
	phaseLen := C * gh.in * gw.s * ((gw.in + gw.s - 1) / gw.s)
	if needCol {
		c.charge(prod(slots, q.K, L), "im2col buffers")
	}
	if needXT {
		c.charge(prod(slots, C, q.hw, q.nb), "interleaved input")
	}
	if needStage {
		c.charge(prod(slots, M, L), "convolution output staging")
	}
	if needPhase {
		c.charge(prod(slots, phaseLen), "strided input by phase")
	}
	q.calls = make([]*convCall, slots)
	for i := range q.calls {
		k := &convCall{q: q}
		if needCol {
			k.col = make([]float32, q.K*L)
		}
		if needStage {
			k.stage = make([]float32, M*L)
		}
		if needXT {
			k.xt = make([]float32, C*q.hw*q.nb)
		}
		if needPhase {
			k.phase = make([]float32, phaseLen)
		}
		k.fillFn, k.bandFn, k.scatterF, k.dynFn = k.fill, k.band, k.scatter, k.dyn
		q.calls[i] = k
	}
	// each worker slot takes the next chunk until none is left, so a
	// worker the machine delays does not hold the others up
	slotFn := func(lo, hi int) {
		for s := lo; s < hi; s++ {
			for {
				ch := int(q.next.Add(1)) - 1
				if ch >= q.chunks {
					break
				}
				q.calls[s].chunk(ch, nil)
			}
		}
	}
	c.fwd = func(*runCtx) error {
		if b != nil { // the bias may be computed (an Identity of a shared initializer)
			q.bias = asF32(b.f)
		}
		if q.skip != nil {
			q.res = q.skip.f
		}
		for _, k := range q.calls {
			k.x, k.y = asF32(x.f), asF32(y.f)
		}
		if slots > 1 {
			q.next.Store(0)
			c.e.pool.run(slots, 1, slotFn)
		} else {
			for ch := 0; ch < q.chunks; ch++ {
				q.calls[0].chunk(ch, c.e.pool)
			}
		}
		for _, k := range q.calls {
			k.x, k.y, k.a, k.out = nil, nil, nil, nil
		}
		q.bias, q.res = nil, nil
		return nil
	}
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// usedTaps returns the kernel positions [lo, hi) along one axis that read
// inside the input for at least one output position (they form a range).
func usedTaps(g geom) (lo, hi int) {
	lo, hi = g.k, 0
	for k := 0; k < g.k; k++ {
		off := k*g.d - g.pb // input index of output 0
		// outputs o with 0 ≤ o·s + off < in
		first := 0
		if off < 0 {
			first = (-off + g.s - 1) / g.s
		}
		if g.in-1-off >= 0 && first <= min(g.out-1, (g.in-1-off)/g.s) {
			lo, hi = min(lo, k), k+1
		}
	}
	return lo, hi
}

// convColBlock: the normal product runs in blocks of this many columns
// (package sgemm's column block).
const convColBlock = 512

// convFillBlocks: im2col splits each image into this many channel blocks,
// so that one image's column matrix can be filled by several workers.
const convFillBlocks = 8

// chunk computes the images of chunk ch into y; with a pool it splits the
// work over the pool's workers, else it runs on the calling goroutine.
func (k *convCall) chunk(ch int, p *pool) {
	q := k.q
	k.n0 = ch * q.nb
	k.nb = min(q.nb, q.N-k.n0)
	ld := q.nb * q.ohw // row stride of col and stage
	L := k.nb * q.ohw
	k.a, k.lda = k.x[k.n0*q.C*q.hw:], q.hw
	if k.col != nil {
		k.a, k.lda = k.col, ld
		k.spread(p, convFillBlocks, 1, k.fillFn)
	}
	k.out, k.ldo = k.y[k.n0*q.M*q.ohw:], q.ohw
	if k.stage != nil {
		k.out, k.ldo = k.stage, ld
		if q.trans {
			k.ldo = q.M
		}
	}
	// pieces of the product: a few per worker, except where each piece
	// packs the whole column matrix again (bands of rows)
	switch {
	case q.trans && q.byRows:
		k.spread(p, (L+q.mr-1)/q.mr, 4, k.bandFn)
	case q.trans:
		k.spread(p, (q.M+q.nr-1)/q.nr, 4, k.bandFn)
	case q.byRows:
		k.spread(p, (q.M+q.mr-1)/q.mr, 1, k.bandFn)
	default:
		k.spread(p, (L+q.nr-1)/q.nr, 4, k.bandFn)
	}
	if k.stage != nil {
		k.spread(p, q.M, 4, k.scatterF)
	}
}

// spread calls f over [0, n) on the pool's workers (on the calling
// goroutine when p is nil), in about pieces·threads pieces that the workers
// take in turn, so that one the machine delays does not hold the others
// up. Only loops whose results do not depend on who computes which piece
// may use it.
func (k *convCall) spread(p *pool, n, pieces int, f func(lo, hi int)) {
	if p == nil || p.threads == 1 || n <= 1 {
		f(0, n)
		return
	}
	k.dn, k.df = n, f
	k.dper = max(1, n/(pieces*p.threads))
	k.dnext.Store(0)
	p.run(p.threads, 1, k.dynFn)
	k.df = nil
}

// dyn is one worker's part of spread: pieces until none is left.
func (k *convCall) dyn(lo, hi int) {
	for {
		u := int(k.dnext.Add(int64(k.dper))) - k.dper
		if u >= k.dn {
			return
		}
		k.df(u, min(u+k.dper, k.dn))
	}
}

// fill writes the column matrix of units lo..hi: (image, channel block)
// pairs for one image, channel blocks for a chunk of several.
func (k *convCall) fill(lo, hi int) {
	q := k.q
	ld := q.nb * q.ohw
	if k.nb == 1 {
		xn := k.x[k.n0*q.C*q.hw:]
		for cb := lo; cb < hi; cb++ {
			c0, c1 := cb*q.C/convFillBlocks, (cb+1)*q.C/convFillBlocks
			switch {
			case c0 == c1:
			case k.phase != nil:
				n := len(k.phase) / q.C
				im2colPhased(xn[c0*q.hw:], c1-c0, q.gh, q.gw, k.col[c0*q.kk*ld:], ld, k.phase[c0*n:c1*n])
			default:
				im2col(xn[c0*q.hw:], c1-c0, q.gh, q.gw, k.col[c0*q.kk*ld:], ld)
			}
		}
		return
	}
	// several images: interleaved, so that their pixels sit side by side
	// and every row of col is made of runs nb times longer
	for cb := lo; cb < hi; cb++ {
		c0, c1 := cb*q.C/convFillBlocks, (cb+1)*q.C/convFillBlocks
		if c0 == c1 {
			continue
		}
		xt := k.col // a 1×1 convolution's col is the interleaved input
		if !q.direct {
			xt = k.xt
		}
		for c := c0; c < c1; c++ {
			dst := xt[c*q.hw*k.nb : (c+1)*q.hw*k.nb]
			if q.direct {
				dst = xt[c*ld : c*ld+q.hw*k.nb]
			}
			for i := 0; i < k.nb; i++ {
				src := k.x[((k.n0+i)*q.C+c)*q.hw : ((k.n0+i)*q.C+c+1)*q.hw]
				for p, v := range src {
					dst[p*k.nb+i] = v
				}
			}
		}
		if !q.direct {
			im2colBatch(xt[c0*q.hw*k.nb:], c1-c0, k.nb, q.gh, q.gw, k.col[c0*q.kk*ld:], ld)
		}
	}
}

// im2colPhased is im2col of one image for a convolution strided along W
// (sw > 1; ResNet's 7×7 stem has stride 2): each row of x is first split
// into its sw phases (columns ≡ p mod sw), so that every run of a column
// row, the inputs ow·sw + iw0 for consecutive ow, is a contiguous piece of
// one phase, copied instead of gathered element by element. ph holds C·H·
// sw·⌈W/sw⌉ floats.
func im2colPhased(x []float32, C int, gh, gw geom, col []float32, ld int, ph []float32) {
	H, W, s := gh.in, gw.in, gw.s
	OH, OW := gh.out, gw.out
	Wp := (W + s - 1) / s
	for cr := 0; cr < C*H; cr++ { // rows of the image, channel by channel
		xr := x[cr*W : (cr+1)*W]
		pr := ph[cr*s*Wp : (cr+1)*s*Wp]
		for p := 0; p < s; p++ {
			d := pr[p*Wp : (p+1)*Wp]
			for j := range (W - p + s - 1) / s {
				d[j] = xr[j*s+p]
			}
		}
	}
	r := 0
	for c := 0; c < C; c++ {
		for kh := 0; kh < gh.k; kh++ {
			for kw := 0; kw < gw.k; kw++ {
				row := col[r*ld : r*ld+OH*OW]
				r++
				iw0 := kw*gw.d - gw.pb
				lo, hi := strideSpan(iw0, s, W, OW)
				// input column lo·s + iw0 = j0·s + p
				p := ((iw0 % s) + s) % s
				j0 := (lo*s + iw0 - p) / s
				for oh := 0; oh < OH; oh++ {
					d := row[oh*OW : (oh+1)*OW]
					ih := oh*gh.s - gh.pb + kh*gh.d
					if ih < 0 || ih >= H {
						clear(d)
						continue
					}
					for i := 0; i < lo; i++ {
						d[i] = 0
					}
					src := ph[((c*H+ih)*s+p)*Wp:]
					copy(d[lo:hi], src[j0:j0+hi-lo])
					for i := hi; i < OW; i++ {
						d[i] = 0
					}
				}
			}
		}
	}
}

// im2colBatch is im2col of nb interleaved images (x[c][h][w][i]): col
// [(c·KH+kh)·KW+kw][(oh·OW+ow)·nb+i] = x[c][oh·sh−ph+kh·dh][ow·sw−pw+kw·dw][i]
// (0 in the padding); rows of col are ld apart.
func im2colBatch(x []float32, C, nb int, gh, gw geom, col []float32, ld int) {
	H, W := gh.in, gw.in
	OH, OW := gh.out, gw.out
	flat := gh.s == 1 && gw.s == 1 && W == OW // output row oh reads input row oh + const
	r := 0
	for c := 0; c < C; c++ {
		xc := x[c*H*W*nb : (c+1)*H*W*nb]
		for kh := 0; kh < gh.k; kh++ {
			for kw := 0; kw < gw.k; kw++ {
				row := col[r*ld : r*ld+OH*OW*nb]
				r++
				iw0 := kw*gw.d - gw.pb
				// output columns ow with 0 ≤ ow·s + iw0 < W
				lo := 0
				if iw0 < 0 {
					lo = min((-iw0+gw.s-1)/gw.s, OW)
				}
				hi := lo
				if W-1-iw0 >= 0 {
					hi = max(lo, min(OW, (W-1-iw0)/gw.s+1))
				}
				if flat && lo < hi {
					// stride 1 and W = OW: the output rows whose input
					// row exists are one run of x, copied at once; then
					// the columns outside [lo, hi) of each row, which the
					// run filled from the neighbouring input rows, are
					// zeroed, and so are the rows in the padding
					oh0 := min(max(0, gh.pb-kh*gh.d), OH)
					oh1 := max(oh0, min(OH, H+gh.pb-kh*gh.d))
					clear(row[:oh0*OW*nb])
					if oh0 < oh1 {
						ih0 := oh0 - gh.pb + kh*gh.d
						copy(row[(oh0*OW+lo)*nb:oh1*OW*nb], xc[(ih0*W+lo+iw0)*nb:])
						for oh := oh0; oh < oh1; oh++ {
							d := row[oh*OW*nb : (oh+1)*OW*nb]
							for i := range d[:lo*nb] {
								d[i] = 0
							}
							for i := hi * nb; i < len(d); i++ {
								d[i] = 0
							}
						}
					}
					clear(row[oh1*OW*nb:])
					continue
				}
				for oh := 0; oh < OH; oh++ {
					d := row[oh*OW*nb : (oh+1)*OW*nb]
					ih := oh*gh.s - gh.pb + kh*gh.d
					if ih < 0 || ih >= H {
						clear(d)
						continue
					}
					xr := xc[ih*W*nb : (ih+1)*W*nb]
					clear(d[:lo*nb])
					if gw.s == 1 {
						copy(d[lo*nb:hi*nb], xr[(lo+iw0)*nb:(hi+iw0)*nb])
					} else {
						for ow := lo; ow < hi; ow++ {
							iw := ow*gw.s + iw0
							copy(d[ow*nb:(ow+1)*nb], xr[iw*nb:(iw+1)*nb])
						}
					}
					clear(d[hi*nb:])
				}
			}
		}
	}
}

// band computes micro-tiles lo..hi of the product: bands of output
// channels (columns of the transposed product, rows of the normal one) or
// of output pixels (columns of the normal one).
func (k *convCall) band(lo, hi int) {
	q := k.q
	L := k.nb * q.ohw
	out, ldo := k.out, k.ldo
	if q.trans {
		// C'[L, M] = colᵀ · Wᵀ, rows i0..i1 and columns j0..j1
		i0, i1, j0, j1 := 0, L, 0, q.M
		if q.byRows {
			i0, i1 = lo*q.mr, min(hi*q.mr, L)
		} else {
			j0, j1 = lo*q.nr, min(hi*q.nr, q.M)
		}
		beta := float32(0)
		if q.bias != nil {
			for l := i0; l < i1; l++ {
				copy(out[l*ldo+j0:l*ldo+j1], q.bias[j0:j1])
			}
			beta = 1
		}
		sgemm.GemmPB(true, i1-i0, 1, k.a[i0:], k.lda, q.w, j0, j1, beta, out[i0*ldo:], ldo)
		return
	}
	// C'[M, L] = W · col
	i0, i1, j0, j1 := 0, q.M, 0, L
	if q.byRows {
		i0, i1 = lo*q.mr, min(hi*q.mr, q.M)
	} else {
		j0, j1 = lo*q.nr, min(hi*q.nr, L)
	}
	// in blocks of columns, so that the block of C the bias is written into
	// and the activation reads is still in cache around its product
	for jb := j0; jb < j1; jb += convColBlock {
		je := min(jb+convColBlock, j1)
		beta := float32(0)
		if q.bias != nil {
			for m := i0; m < i1; m++ {
				fill32(out[m*ldo+jb:m*ldo+je], q.bias[m])
			}
			beta = 1
		}
		sgemm.GemmPA(q.w, i0, i1, false, je-jb, 1, k.a[jb:], k.lda, beta, out[jb:], ldo)
		if k.stage == nil && (q.act != nil || q.res != nil) {
			var res []float32
			if q.res != nil { // y's layout: out is y from image n0 on
				res = q.res[k.n0*q.M*q.ohw:]
			}
			for m := i0; m < i1; m++ {
				if res != nil {
					addTo(out[m*ldo+jb:m*ldo+je], res[m*ldo+jb:m*ldo+je])
				}
				q.act.apply(out[m*ldo+jb : m*ldo+je])
			}
		}
	}
}

// scatter moves output channels lo..hi of the staged product into y,
// adding the fused residual and applying the fused activation. Column (or, transposed, row) l of the
// product is pixel s of image i at l = s·nb + i (images interleaved).
func (k *convCall) scatter(lo, hi int) {
	q := k.q
	out, ldo, nb, ohw := k.out, k.ldo, k.nb, q.ohw
	// the residual and the activation run over groups of channels of at
	// least convEpilogueRun elements of y, not plane by plane: on 2×2 and
	// 1×1 planes a call per plane cost more than the arithmetic
	g := max(1, convEpilogueRun/ohw)
	for i := 0; i < nb; i++ {
		base := (k.n0 + i) * q.M * ohw // image n0+i in y
		for m0 := lo; m0 < hi; m0 += g {
			m1 := min(m0+g, hi)
			for m := m0; m < m1; m++ {
				dst := k.y[base+m*ohw : base+(m+1)*ohw]
				if q.trans { // y[n][m][s] = C'[s·nb+i][m]
					for s, o := 0, i*ldo+m; s < len(dst); s, o = s+1, o+nb*ldo {
						dst[s] = out[o]
					}
				} else if nb == 1 {
					copy(dst, out[m*ldo:m*ldo+ohw])
				} else {
					src := out[m*ldo+i : m*ldo+ohw*nb]
					for s := range dst {
						dst[s] = src[s*nb]
					}
				}
			}
			blk := k.y[base+m0*ohw : base+m1*ohw]
			if q.res != nil {
				addTo(blk, q.res[base+m0*ohw:base+m1*ohw])
			}
			q.act.apply(blk)
		}
	}
}

// convEpilogueRun: the fused residual and activation of a staged product
// run over at least this many elements at a time (see scatter).
const convEpilogueRun = 256

// addTo adds src to dst element by element: a fused residual Add, the
// float32 sums the Add node computes.
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// fill32 sets every element of s to v: doubling copies (memmove's vector
// loop) for long rows.
func fill32(s []float32, v float32) {
	if len(s) < 32 {
		for i := range s {
			s[i] = v
		}
		return
	}
	for i := range 16 {
		s[i] = v
	}
	for n := 16; n < len(s); n *= 2 {
		copy(s[n:], s[:n])
	}
}

// finiteF32 reports whether no element of v is ±Inf or NaN.
func finiteF32(v []float32) bool {
	for _, x := range v {
		if x-x != 0 { // Inf-Inf and NaN-NaN are NaN
			return false
		}
	}
	return true
}
