package exec

import (
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
// Images are taken in chunks of nb, side by side in one column matrix, so
// that every product has at least convMinCols columns:
//
//	Y'[M, nb·OH·OW] = W[M, C·KH·KW] · col[C·KH·KW, nb·OH·OW]
//
// or, when that leaves fewer columns than a micro-tile is wide (the last
// layers at batch 1), the transposed product Y'ᵀ = colᵀ · Wᵀ, whose rows
// the kernel handles one by one without padding. Either way each output
// element is one dot product over C·KH·KW in the kernel's fixed order, so
// the bits do not depend on the chunking, the orientation or the thread
// count. Chunks go to the worker goroutines when there are enough of them;
// otherwise each chunk's im2col and product are split over the workers.

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
	bias                    []float32 // during a Run
	act                     *epilogue // fused activation, or nil
	mr, nr                  int
	calls                   []*convCall // one per worker slot
}

// convCall is one worker slot's scratch and the chunk it is computing; its
// loop functions are made once, so a Run allocates nothing.
type convCall struct {
	q     *convInfer
	col   []float32 // [K, nb·ohw] (nil when direct and nb == 1)
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
}

// inferConvOK reports whether planConvInfer can run this convolution: a
// float32 forward-only program on the SIMD kernel, one group, and weights
// known when the plan is built.
func inferConvOK[T Float](c *nodeCtx[T], w, b *tensor[T], grp int) bool {
	return c.e.opts.Inference && is32[T]() && simd() && grp == 1 && (w.state || w.static)
}

func planConvInfer[T Float](c *nodeCtx[T], x, w, b, y *tensor[T], gh, gw geom) {
	N, C, M := x.shape[0], x.shape[1], w.shape[0]
	kk := gh.k * gw.k
	q := &convInfer{N: N, C: C, M: M, K: C * kk, kk: kk, hw: gh.in * gw.in, ohw: gh.out * gw.out, gh: gh, gw: gw}
	q.direct = kk == 1 && gh.s == 1 && gw.s == 1 && gh.pb == 0 && gh.pe == 0 && gw.pb == 0 && gw.pe == 0
	q.mr, q.nr = sgemm.Tile()
	q.nb = min(N, max(1, (convMinCols+q.ohw-1)/q.ohw))
	q.chunks = (N + q.nb - 1) / q.nb
	q.nb = (N + q.chunks - 1) / q.chunks // even chunks
	L := q.nb * q.ohw
	// the transposed product when the normal one would pad more columns
	// than it has (it pads nothing: its rows are the kernel's rows)
	q.trans = roundUp(L, q.nr) > 2*L
	q.byRows = (M+q.mr-1)/q.mr > (L+q.nr-1)/q.nr
	c.charge(prod(roundUp(M, q.nr), q.K), "packed weights")
	wf := asF32(w.f)
	if q.trans {
		q.w = sgemm.PackB(true, q.K, M, wf, q.K)
	} else {
		q.w = sgemm.PackA(false, M, q.K, wf, q.K)
	}
	q.act = c.fusedActivation(y)
	threads := c.e.pool.threads
	slots := 1
	if q.chunks >= threads {
		slots = threads
	}
	needCol := !q.direct || q.nb > 1
	needStage := q.trans || q.nb > 1
	if needCol {
		c.charge(prod(slots, q.K, L), "im2col buffers")
	}
	if needStage {
		c.charge(prod(slots, M, L), "convolution output staging")
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
		k.fillFn, k.bandFn, k.scatterF = k.fill, k.band, k.scatter
		q.calls[i] = k
	}
	slotFn := func(lo, hi int) { // the chunks of worker slots lo..hi, serially
		for s := lo; s < hi; s++ {
			for ch := s * q.chunks / slots; ch < (s+1)*q.chunks/slots; ch++ {
				q.calls[s].chunk(ch, nil)
			}
		}
	}
	c.fwd = func(*runCtx) error {
		if b != nil { // the bias may be computed (an Identity of a shared initializer)
			q.bias = asF32(b.f)
		}
		for _, k := range q.calls {
			k.x, k.y = asF32(x.f), asF32(y.f)
		}
		if slots > 1 {
			c.e.pool.run(slots, 1, slotFn)
		} else {
			for ch := 0; ch < q.chunks; ch++ {
				q.calls[0].chunk(ch, c.e.pool)
			}
		}
		for _, k := range q.calls {
			k.x, k.y, k.a, k.out = nil, nil, nil, nil
		}
		q.bias = nil
		return nil
	}
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

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
	run := func(n, grain int, f func(lo, hi int)) {
		if p != nil {
			p.run(n, grain, f)
		} else {
			f(0, n)
		}
	}
	k.a, k.lda = k.x[k.n0*q.C*q.hw:], q.hw
	if k.col != nil {
		k.a, k.lda = k.col, ld
		run(k.nb*convFillBlocks, 1, k.fillFn)
	}
	k.out, k.ldo = k.y[k.n0*q.M*q.ohw:], q.ohw
	if k.stage != nil {
		k.out, k.ldo = k.stage, ld
		if q.trans {
			k.ldo = q.M
		}
	}
	switch {
	case q.trans:
		run((q.M+q.nr-1)/q.nr, 1, k.bandFn)
	case q.byRows:
		run((q.M+q.mr-1)/q.mr, 1, k.bandFn)
	default:
		run((L+q.nr-1)/q.nr, 1, k.bandFn)
	}
	if k.stage != nil {
		run(q.M, max(1, grain/max(1, L)), k.scatterF)
	}
}

// fill writes the column matrix of (image, channel block) units lo..hi.
func (k *convCall) fill(lo, hi int) {
	q := k.q
	ld := q.nb * q.ohw
	for u := lo; u < hi; u++ {
		i, cb := u/convFillBlocks, u%convFillBlocks
		c0, c1 := cb*q.C/convFillBlocks, (cb+1)*q.C/convFillBlocks
		if c0 == c1 {
			continue
		}
		xn := k.x[(k.n0+i)*q.C*q.hw:]
		dst := k.col[c0*q.kk*ld+i*q.ohw:]
		if q.direct {
			for ci := c0; ci < c1; ci++ {
				copy(dst[(ci-c0)*ld:(ci-c0)*ld+q.ohw], xn[ci*q.hw:(ci+1)*q.hw])
			}
			continue
		}
		im2col(xn[c0*q.hw:], c1-c0, q.gh, q.gw, dst, ld)
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
		// C'[L, M] = colᵀ · Wᵀ
		j0, j1 := lo*q.nr, min(hi*q.nr, q.M)
		beta := float32(0)
		if q.bias != nil {
			for l := 0; l < L; l++ {
				copy(out[l*ldo+j0:l*ldo+j1], q.bias[j0:j1])
			}
			beta = 1
		}
		sgemm.GemmPB(true, L, 1, k.a, k.lda, q.w, j0, j1, beta, out, ldo)
		return
	}
	// C'[M, L] = W · col
	i0, i1, j0, j1 := 0, q.M, 0, L
	if q.byRows {
		i0, i1 = lo*q.mr, min(hi*q.mr, q.M)
	} else {
		j0, j1 = lo*q.nr, min(hi*q.nr, L)
	}
	beta := float32(0)
	if q.bias != nil {
		for m := i0; m < i1; m++ {
			row := out[m*ldo+j0 : m*ldo+j1]
			for j := range row {
				row[j] = q.bias[m]
			}
		}
		beta = 1
	}
	sgemm.GemmPA(q.w, i0, i1, false, j1-j0, 1, k.a[j0:], k.lda, beta, out[j0:], ldo)
	if k.stage == nil && q.act != nil {
		for m := i0; m < i1; m++ {
			q.act.apply(out[m*ldo+j0 : m*ldo+j1])
		}
	}
}

// scatter moves output channels lo..hi of the staged product into y,
// applying the fused activation.
func (k *convCall) scatter(lo, hi int) {
	q := k.q
	out, ldo := k.out, k.ldo
	for m := lo; m < hi; m++ {
		for i := 0; i < k.nb; i++ {
			dst := k.y[((k.n0+i)*q.M+m)*q.ohw : ((k.n0+i)*q.M+m+1)*q.ohw]
			if q.trans { // y[n][m][s] = C'[i·ohw+s][m]
				for s, o := 0, i*q.ohw*ldo+m; s < len(dst); s, o = s+1, o+ldo {
					dst[s] = out[o]
				}
			} else {
				copy(dst, out[m*ldo+i*q.ohw:m*ldo+(i+1)*q.ohw])
			}
			q.act.apply(dst)
		}
	}
}
