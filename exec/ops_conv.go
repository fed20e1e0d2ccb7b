package exec

import (
	"errors"
	"fmt"

	"github.com/nnkit/nnkit/ir"
)

// Conv (1-D and 2-D) as im2col + GEMM, one image at a time, images spread
// over the worker goroutines (each with its own im2col buffer and partial
// weight gradient, summed in a fixed order so results are deterministic).
//
//	y_n,g = W_g · col(x_n)_g + b
//	→ dW_g += dy_n,g · col_gᵀ,  dx_n += col⁻¹(W_gᵀ · dy_n,g),  db += Σ dy

func registerConv[T Float](m map[string]opDef[T]) {
	m["Conv"] = opDef[T]{plan: planConv[T], check: checkSpatial}
}

// checkSpatial rejects 3-D (and higher) convolutions and pools.
func checkSpatial(n *ir.Node, _ int64) error {
	if k := n.Ints("kernel_shape", nil); len(k) > 2 {
		return fmt.Errorf("%d-D kernel", len(k))
	}
	return nil
}

// convImageGroups: the per-image convolution splits the batch into this
// many parts (see convImages).
const convImageGroups = 2

// batchedConvPlane: output planes smaller than this use planConvBatched
// (a variable so that the tests can run both code paths).
var batchedConvPlane = 64

// geom is the geometry of one spatial axis of a convolution or pool.
type geom struct {
	in, k, s, d, pb, pe, out int
}

// spatialGeom is the geometry of the spatial axes (sizes in) of a
// convolution's or pooling's input under node n's window (ir.NodeWindow:
// strides, dilations, pads, auto_pad, ceil_mode) with the given kernel.
func spatialGeom(n *ir.Node, in, kernel []int) ([]geom, error) {
	w, err := ir.NodeWindow(n, len(in), i64s(kernel), true)
	if err != nil {
		return nil, err
	}
	gs := make([]geom, len(in))
	for i := range gs {
		pb, pe := w.PadsAt(i, int64(in[i]))
		g := geom{in: in[i], k: kernel[i], s: int(w.Strides[i]), d: int(w.Dilations[i]), pb: int(pb), pe: int(pe)}
		if ext := int(w.Extent(i)); g.in+g.pb+g.pe < ext {
			return nil, fmt.Errorf("kernel extent %d is larger than the padded input %d", ext, g.in+g.pb+g.pe)
		}
		out, ok := w.OutSize(i, int64(in[i]))
		if !ok {
			return nil, fmt.Errorf("output size of spatial axis %d overflows", i)
		}
		g.out = int(out)
		gs[i] = g
	}
	return gs, nil
}

// as2D pads a 1-D geometry list to two (H = 1).
func as2D(gs []geom) (geom, geom) {
	if len(gs) == 1 {
		return geom{in: 1, k: 1, s: 1, d: 1, out: 1}, gs[0]
	}
	return gs[0], gs[1]
}

func planConv[T Float](c *nodeCtx[T]) error {
	x, w, b, grp, err := convOperands(c)
	if err != nil {
		return err
	}
	gs, err := spatialGeom(c.n, x.shape[2:], w.shape[2:])
	if err != nil {
		return err
	}
	gh, gw := as2D(gs)
	outShape, err := c.inferred(0) // [N M] then the windows' output sizes
	if err != nil {
		return err
	}
	y := c.output(0, kFloat, outShape)

	N, C, M := x.shape[0], x.shape[1], w.shape[0]
	if C/grp == 1 && grp > 1 {
		planDepthwise(c, x, w, b, y, &dwGeom{gh, gw}, M/grp)
		return nil
	}
	if inferConvOK(c, x, w, grp) {
		planConvInfer(c, x, w, b, y, gh, gw)
		return nil
	}
	kk, ohw := gh.k*gw.k, gh.out*gw.out
	// Small output planes (late layers on small images) make one GEMM per
	// image thin (N = OH·OW columns); then the whole batch is one GEMM.
	if grp == 1 && ohw < batchedConvPlane && C*kk*N*ohw <= 1<<24 {
		planConvBatched(c, x, w, b, y, gh, gw)
		return nil
	}
	planConvImages(c, x, w, b, y, gh, gw, grp)
	return nil
}

// convOperands checks a Conv node's inputs X, W and the optional B against
// each other and the group and kernel_shape attributes, and returns them
// with the group count.
func convOperands[T Float](c *nodeCtx[T]) (x, w, b *tensor[T], grp int, err error) {
	if x, err = c.need(0, kFloat); err != nil {
		return
	}
	if w, err = c.need(1, kFloat); err != nil {
		return
	}
	b = c.input(2)
	r := len(x.shape)
	if r != 3 && r != 4 {
		return nil, nil, nil, 0, fmt.Errorf("input %s: only 1-D and 2-D convolutions ([N,C,L] or [N,C,H,W]) are supported", shapeStr(x.shape))
	}
	if len(w.shape) != r {
		return nil, nil, nil, 0, fmt.Errorf("weight %s does not match input %s", shapeStr(w.shape), shapeStr(x.shape))
	}
	C, M := x.shape[1], w.shape[0]
	if grp, err = convGroup(c.n, w); err != nil {
		return nil, nil, nil, 0, err
	}
	if C%grp != 0 || M%grp != 0 || w.shape[1]*grp != C {
		return nil, nil, nil, 0, fmt.Errorf("group=%d does not fit input %s and weight %s", grp, shapeStr(x.shape), shapeStr(w.shape))
	}
	if b != nil && (b.kind != kFloat || b.size != M) {
		return nil, nil, nil, 0, fmt.Errorf("bias %s does not match %d output channels", shapeStr(b.shape), M)
	}
	return x, w, b, grp, nil
}

// convGroup reads a convolution's group and checks its kernel_shape
// against the weight w (ir.ConvKernel).
func convGroup[T Float](n *ir.Node, w *tensor[T]) (int, error) {
	_, grp, err := ir.ConvKernel(n, i64s(w.shape[2:]))
	return int(grp), err
}

// convImages is the per-image convolution: im2col + one GEMM per group and
// image. The images are split into a fixed number of parts (P), whatever
// the thread count: each part sums its weight and bias gradients in its
// own buffer and the parts are added in order, so the bits do not depend
// on how many threads run them (2 parts: on 2 cores as fast as one per
// thread, and the buffers cost 2× the weights).
type convImages[T Float] struct {
	x, w, b, y *tensor[T]
	gh, gw     geom
	mm         *gemmer[T]
	N, C, M    int
	grp        int
	mg, ckk    int // output channels and column rows of one group
	kk, hw     int // kernel and input plane sizes
	ohw        int // output plane size
	// direct: a 1×1 kernel with stride 1 and no padding reads the image
	// itself as its column matrix
	direct bool
	// rows > 0: the column matrix is made and used that many output rows
	// at a time (convChunkRows; group 1 only, see conv_chunked.go)
	rows   int
	colLen int              // elements of a part's col and dcol
	sc     []convScratch[T] // one per part, in the plan's shared scratch
	p      *plan[T]
}

// convScratch is one part's buffers: its column matrix and column
// gradient, and (with more than one part) its weight and bias gradients.
// They are the plan's scratch (scratch.go), shared with the other
// convolutions: nothing in them outlives one forward or backward.
type convScratch[T Float] struct {
	col, dcol []T
	dw, db    []T
}

func planConvImages[T Float](c *nodeCtx[T], x, w, b, y *tensor[T], gh, gw geom, grp int) {
	N, C, M := x.shape[0], x.shape[1], w.shape[0]
	kk := gh.k * gw.k
	k := &convImages[T]{x: x, w: w, b: b, y: y, gh: gh, gw: gw, mm: c.e.mm,
		N: N, C: C, M: M, grp: grp, mg: M / grp, ckk: C / grp * kk,
		kk: kk, hw: gh.in * gw.in, ohw: gh.out * gw.out,
		direct: kk == 1 && gh.s == 1 && gw.s == 1 && gh.pb == 0 && gh.pe == 0 && gw.pb == 0 && gw.pe == 0,
		sc:     make([]convScratch[T], min(N, convImageGroups)),
	}
	P := len(k.sc)
	k.colLen = C * kk * k.ohw
	if grp == 1 && kk > 1 {
		// Large column matrices (224×224 images) in chunks of output rows.
		k.rows = convChunkRows(C, kk, gh, gw)
	}
	switch {
	case k.rows > 0:
		k.colLen = C * kk * k.rows * gw.out
		c.charge(prod(P, C*kk, k.rows, gw.out), "im2col chunks")
	case !k.direct:
		c.charge(prod(P, C, kk, k.ohw), "im2col buffers")
	}
	k.p = c.p
	if !k.direct {
		for i := range k.sc {
			c.p.scratch(scratchKey{"conv col", i}, k.colLen, &k.sc[i].col)
		}
	}
	fwdParts, bwdParts := k.forwardParts, k.backwardParts // bound once: no allocation per run
	c.fwd = func(*runCtx) error {
		if P > 1 {
			c.e.pool.run(P, 1, fwdParts)
		} else {
			for n := 0; n < N; n++ {
				k.image(&k.sc[0], n, false)
			}
		}
		return nil
	}
	c.bwd = func() { k.backward(c.e.pool, bwdParts) }
}

func (k *convImages[T]) gemm(serial bool, tA, tB bool, m, n, kd int, alpha T, a []T, lda int, bb []T, ldb int, beta T, cc []T, ldc int) {
	if serial {
		gemmSerial(tA, tB, m, n, kd, alpha, a, lda, bb, ldb, beta, cc, ldc)
	} else {
		k.mm.gemm(tA, tB, m, n, kd, alpha, a, lda, bb, ldb, beta, cc, ldc)
	}
}

// cols returns image n's column matrix (the image itself when direct).
func (k *convImages[T]) cols(s *convScratch[T], n int) []T {
	xn := k.x.f[n*k.C*k.hw : (n+1)*k.C*k.hw]
	if k.direct {
		return xn
	}
	im2col(xn, k.C, k.gh, k.gw, s.col, k.ohw)
	return s.col
}

// image is the forward of image n.
func (k *convImages[T]) image(s *convScratch[T], n int, serial bool) {
	mg, ckk, ohw := k.mg, k.ckk, k.ohw
	yn := k.y.f[n*k.M*ohw : (n+1)*k.M*ohw]
	if k.rows > 0 {
		k.imageChunks(s, n, serial, yn)
	} else {
		col := k.cols(s, n)
		for g := 0; g < k.grp; g++ {
			k.gemm(serial, false, false, mg, ohw, ckk, 1, k.w.f[g*mg*ckk:], ckk, col[g*ckk*ohw:], ohw, 0, yn[g*mg*ohw:], ohw)
		}
	}
	if k.b != nil {
		addPlaneBias(yn, k.b.f, k.M, ohw)
	}
}

// forwardParts runs the forward of the images of parts [lo, hi).
func (k *convImages[T]) forwardParts(lo, hi int) {
	P := len(k.sc)
	for p := lo; p < hi; p++ {
		for n := p * k.N / P; n < (p+1)*k.N/P; n++ {
			k.image(&k.sc[p], n, true)
		}
	}
}

// back is the backward of image n; dw/db are where this image's weight and
// bias gradients are added.
func (k *convImages[T]) back(s *convScratch[T], n int, serial bool, dw, db []T) {
	mg, ckk, ohw := k.mg, k.ckk, k.ohw
	dy := k.y.g[n*k.M*ohw : (n+1)*k.M*ohw]
	if db != nil {
		addPlaneSums(db, dy, k.M, ohw)
	}
	if k.rows > 0 {
		k.backChunks(s, n, serial, dy, dw)
		return
	}
	var col []T
	if dw != nil {
		col = k.cols(s, n)
		for g := 0; g < k.grp; g++ {
			k.gemm(serial, false, true, mg, ckk, ohw, 1, dy[g*mg*ohw:], ohw, col[g*ckk*ohw:], ohw, 1, dw[g*mg*ckk:], ckk)
		}
	}
	if k.x.g == nil {
		return
	}
	dxn := k.x.g[n*k.C*k.hw : (n+1)*k.C*k.hw]
	if k.direct {
		for g := 0; g < k.grp; g++ {
			k.gemm(serial, true, false, ckk, ohw, mg, 1, k.w.f[g*mg*ckk:], ckk, dy[g*mg*ohw:], ohw, 1, dxn[g*ckk*ohw:], ohw)
		}
		return
	}
	for g := 0; g < k.grp; g++ {
		k.gemm(serial, true, false, ckk, ohw, mg, 1, k.w.f[g*mg*ckk:], ckk, dy[g*mg*ohw:], ohw, 0, s.dcol[g*ckk*ohw:], ohw)
	}
	col2im(s.dcol, k.C, k.gh, k.gw, dxn, ohw)
}

// backwardParts runs the backward of the images of parts [lo, hi), each
// part into its own gradient buffers.
func (k *convImages[T]) backwardParts(lo, hi int) {
	P := len(k.sc)
	for p := lo; p < hi; p++ {
		s := &k.sc[p]
		if s.dw != nil {
			clear(s.dw)
		}
		if s.db != nil {
			clear(s.db)
		}
		for n := p * k.N / P; n < (p+1)*k.N/P; n++ {
			k.back(s, n, true, s.dw, s.db)
		}
	}
}

// backward allocates the gradient buffers on first use, runs the parts
// (bwdParts is k.backwardParts) and adds their sums in a fixed order.
func (k *convImages[T]) backward(pool *pool, bwdParts func(lo, hi int)) {
	x, w, b, sc := k.x, k.w, k.b, k.sc
	P := len(sc)
	needW := w.g != nil
	needB := b != nil && b.g != nil
	for i := range sc {
		if x.g != nil && !k.direct && sc[i].dcol == nil {
			k.p.scratch(scratchKey{"conv dcol", i}, k.colLen, &sc[i].dcol)
		}
		if P > 1 && needW && sc[i].dw == nil {
			k.p.scratch(scratchKey{"conv dw", i}, w.size, &sc[i].dw)
		}
		if P > 1 && needB && sc[i].db == nil {
			k.p.scratch(scratchKey{"conv db", i}, k.M, &sc[i].db)
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
		for n := 0; n < k.N; n++ {
			k.back(&sc[0], n, false, dw, db)
		}
		return
	}
	pool.run(P, 1, bwdParts)
	for i := range sc { // fixed order: deterministic sums
		if needW {
			for j, v := range sc[i].dw {
				w.g[j] += v
			}
		}
		if needB {
			for j, v := range sc[i].db {
				b.g[j] += v
			}
		}
	}
}

// im2col writes col[(c·KH+kh)·KW+kw][oh·OW+ow] = x[c][oh·sh−ph+kh·dh][ow·sw−pw+kw·dw]
// (0 in the padding); rows of col are ld apart.
func im2col[T Float](x []T, C int, gh, gw geom, col []T, ld int) {
	im2colRows(x, C, gh, gw, col, ld, 0, gh.out)
}

// col2im is the adjoint of im2col: dx += the column gradients, summed.
func col2im[T Float](col []T, C int, gh, gw geom, dx []T, ld int) {
	col2imRows(col, C, gh, gw, dx, ld, 0, gh.out)
}

var errNoInput = errors.New("input 0 is missing")

// planConvBatched: im2col of every image side by side, col [C·KH·KW, N·OH·OW],
// then Y' = W·col (one GEMM over the batch), Y[n] = Y'[:, n] + b
// → dW += dY'·colᵀ, dcol = Wᵀ·dY', dx = col⁻¹(dcol), db = Σ dY.
func planConvBatched[T Float](c *nodeCtx[T], x, w, b, y *tensor[T], gh, gw geom) {
	N, C, M := x.shape[0], x.shape[1], w.shape[0]
	kk := gh.k * gw.k
	hw, ohw := gh.in*gw.in, gh.out*gw.out
	K, L := C*kk, N*ohw
	c.charge(prod(K+M, L), "im2col buffers")
	col := make([]T, K*L)
	yb := make([]T, M*L)
	var dcol []T
	mm := c.e.mm
	c.fwd = func(*runCtx) error {
		for n := 0; n < N; n++ {
			im2col(x.f[n*C*hw:(n+1)*C*hw], C, gh, gw, col[n*ohw:], L)
		}
		mm.gemm(false, false, M, L, K, 1, w.f, K, col, L, 0, yb, L)
		for n := 0; n < N; n++ {
			for m := 0; m < M; m++ {
				var bv T
				if b != nil {
					bv = b.f[m]
				}
				dst := y.f[(n*M+m)*ohw : (n*M+m+1)*ohw]
				for i, v := range yb[m*L+n*ohw : m*L+(n+1)*ohw] {
					dst[i] = v + bv
				}
			}
		}
		return nil
	}
	c.bwd = func() {
		for n := 0; n < N; n++ { // dY' [M, N·OH·OW]
			for m := 0; m < M; m++ {
				copy(yb[m*L+n*ohw:m*L+(n+1)*ohw], y.g[(n*M+m)*ohw:(n*M+m+1)*ohw])
			}
		}
		if b != nil && b.g != nil {
			addPlaneSums(b.g, yb, M, L)
		}
		if w.g != nil {
			mm.gemm(false, true, M, K, L, 1, yb, L, col, L, 1, w.g, K)
		}
		if x.g != nil {
			if dcol == nil {
				dcol = make([]T, K*L)
			}
			mm.gemm(true, false, K, L, M, 1, w.f, K, yb, L, 0, dcol, L)
			for n := 0; n < N; n++ {
				col2im(dcol[n*ohw:], C, gh, gw, x.g[n*C*hw:(n+1)*C*hw], L)
			}
		}
	}
}

// addPlaneBias adds b[m] to each element of plane m of the planes
// consecutive planes of size elements in y: a convolution's bias for one
// image (the adjoint of addPlaneSums).
func addPlaneBias[T Float](y, b []T, planes, size int) {
	for m := 0; m < planes; m++ {
		bv := b[m]
		row := y[m*size : (m+1)*size]
		for i := range row {
			row[i] += bv
		}
	}
}

// addPlaneSums adds to db[m], for each of the planes consecutive planes of
// size elements in dy, that plane's sum (accumulated in float64, in
// order): a convolution's bias gradient for one image.
func addPlaneSums[T Float](db, dy []T, planes, size int) {
	for m := 0; m < planes; m++ {
		var acc float64
		for _, v := range dy[m*size : (m+1)*size] {
			acc += float64(v)
		}
		db[m] += T(acc)
	}
}
