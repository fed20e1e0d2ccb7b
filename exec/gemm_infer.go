package exec

import "github.com/nnkit/nnkit/exec/internal/sgemm"

// Gemm (a fully connected layer) in a forward-only program whose B, the
// weights, is a parameter or constant: B is packed for the GEMM kernel once,
// when the plan is built, instead of on every call (ResNet-50's 2048×1000
// classifier is 8 MB of weights, transposed on every call otherwise). The
// columns of C are split over the workers in whole micro-tiles, so the bits
// are those of one thread.
type packedGemm struct {
	pb   *sgemm.Packed
	nr   int
	pool *pool
	fn   func(lo, hi int)

	// the current call
	tA     bool
	m, lda int
	alpha  float32
	beta   float32
	a, c   []float32
}

// inferPackedB returns B packed for C = alpha·op(A)·op(B) + beta·C (op(B)
// K×N), or nil where the program is not forward-only float32 on the SIMD
// kernel or B is computed.
func inferPackedB[T Float](c *nodeCtx[T], b *tensor[T], tB bool, K, N, ldb int) *packedGemm {
	if !c.e.opts.Inference || !is32[T]() || !simd() || !(b.state || b.static) {
		return nil
	}
	g := &packedGemm{pool: c.e.pool}
	_, g.nr = sgemm.Tile()
	c.charge(prod(roundUp(N, g.nr), K), "packed weights")
	g.pb = sgemm.PackB(tB, K, N, asF32(b.f), ldb)
	g.fn = g.part
	return g
}

// gemm computes C[m, N] = alpha·op(A)·B + beta·C (C's rows N apart).
func (g *packedGemm) gemm(tA bool, m int, alpha float32, a []float32, lda int, beta float32, c []float32) {
	g.tA, g.m, g.lda, g.alpha, g.beta, g.a, g.c = tA, m, lda, alpha, beta, a, c
	tiles := (g.pb.Rows() + g.nr - 1) / g.nr
	// pieces of at least 64k multiply-adds
	g.pool.run(tiles, max(1, (1<<16)/max(1, m*g.nr*g.pb.Depth())), g.fn)
	g.a, g.c = nil, nil
}

func (g *packedGemm) part(lo, hi int) {
	n := g.pb.Rows()
	sgemm.GemmPB(g.tA, g.m, g.alpha, g.a, g.lda, g.pb, lo*g.nr, min(hi*g.nr, n), g.beta, g.c, n)
}
