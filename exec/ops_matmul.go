package exec

import (
	"errors"
)

// Gemm and MatMul: matrix products through the pluggable float32 BLAS.

func registerMatMul[T Float](m map[string]opDef[T]) {
	m["Gemm"] = opDef[T]{plan: planGemm[T]}
	m["MatMul"] = opDef[T]{plan: planMatMul[T]}
}

// Gemm: Y = α·op(A)·op(B) + β·C
//
//	→ dop(A) = α·dY·op(B)ᵀ, dop(B) = α·op(A)ᵀ·dY, dC = β·Σ_broadcast dY
func planGemm[T Float](c *nodeCtx[T]) error {
	a, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	b, err := c.need(1, kFloat)
	if err != nil {
		return err
	}
	cc := c.input(2)
	if cc != nil && cc.kind != kFloat {
		return errors.New("C must be a float tensor")
	}
	out, err := c.inferred(0) // [M N]; op(A) and op(B) agree on K, C broadcasts
	if err != nil {
		return err
	}
	M, N := out[0], out[1]
	tA, tB := c.n.Int("transA", 0) != 0, c.n.Int("transB", 0) != 0
	alpha, beta := T(c.n.Float("alpha", 1)), T(c.n.Float("beta", 1))
	K := a.shape[1]
	if tA {
		K = a.shape[0]
	}
	var cm *bmap
	if cc != nil {
		cm = newBmap(out, cc.shape)
	}
	y := c.output(0, kFloat, out)
	lda, ldb := a.shape[1], b.shape[1]
	mm := c.e.mm
	packed := inferPackedB(c, b, tB, K, N, ldb) // forward-only programs (gemm_infer.go)
	c.fwd = func(*runCtx) error {
		var b0 T
		if cm != nil && beta != 0 {
			bGather(cm, 0, y.f, cc.f)
			if beta != 1 {
				for i := range y.f {
					y.f[i] *= beta
				}
			}
			b0 = 1
		}
		if packed != nil {
			packed.gemm(tA, M, float32(alpha), asF32(a.f), lda, float32(b0), asF32(y.f))
			return nil
		}
		mm.gemm(tA, tB, M, N, K, alpha, a.f, lda, b.f, ldb, b0, y.f, N)
		return nil
	}
	c.bwd = func() {
		dy := y.g
		if a.g != nil {
			switch {
			case !tA && !tB:
				mm.gemm(false, true, M, K, N, alpha, dy, N, b.f, ldb, 1, a.g, K)
			case !tA && tB:
				mm.gemm(false, false, M, K, N, alpha, dy, N, b.f, ldb, 1, a.g, K)
			case tA && !tB:
				mm.gemm(false, true, K, M, N, alpha, b.f, ldb, dy, N, 1, a.g, M)
			default:
				mm.gemm(true, true, K, M, N, alpha, b.f, ldb, dy, N, 1, a.g, M)
			}
		}
		if b.g != nil {
			switch {
			case !tB && !tA:
				mm.gemm(true, false, K, N, M, alpha, a.f, lda, dy, N, 1, b.g, N)
			case !tB && tA:
				mm.gemm(false, false, K, N, M, alpha, a.f, lda, dy, N, 1, b.g, N)
			case tB && !tA:
				mm.gemm(true, false, N, K, M, alpha, dy, N, a.f, lda, 1, b.g, K)
			default:
				mm.gemm(true, true, N, K, M, alpha, dy, N, a.f, lda, 1, b.g, K)
			}
		}
		if cc != nil && cc.g != nil && beta != 0 {
			if beta == 1 {
				bReduce(cm, 0, cc.g, dy)
			} else {
				for r := 0; r < cm.rows; r++ {
					o := cm.off[0][r]
					for t := 0; t < cm.inner; t++ {
						cc.g[o+t*cm.step[0]] += beta * dy[r*cm.inner+t]
					}
				}
			}
		}
	}
	return nil
}

// MatMul (numpy matmul): Y_i = A_i·B_i over broadcast batch dims
//
//	→ dA_i = dY_i·B_iᵀ, dB_i = A_iᵀ·dY_i (summed where A or B is broadcast)
func planMatMul[T Float](c *nodeCtx[T]) error {
	a, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	b, err := c.need(1, kFloat)
	if err != nil {
		return err
	}
	out, err := c.inferred(0) // batch dims broadcast, then M and N (a vector's dropped)
	if err != nil {
		return err
	}
	as, bs := a.shape, b.shape
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	M, K := as[len(as)-2], as[len(as)-1]
	N := bs[len(bs)-1]
	ab, bb := as[:len(as)-2], bs[:len(bs)-2]
	batch := out[:max(len(ab), len(bb))]
	y := c.output(0, kFloat, out)
	nb := numel(batch)
	mm := c.e.mm
	pool := c.e.pool
	// B without batch dims: one product with A's batch folded into M.
	if numel(bb) == 1 && numel(ab) == nb {
		MM := nb * M
		c.fwd = func(*runCtx) error {
			mm.gemm(false, false, MM, N, K, 1, a.f, K, b.f, N, 0, y.f, N)
			return nil
		}
		c.bwd = func() {
			if a.g != nil {
				mm.gemm(false, true, MM, K, N, 1, y.g, N, b.f, N, 1, a.g, K)
			}
			if b.g != nil {
				mm.gemm(true, false, K, N, MM, 1, a.f, K, y.g, N, 1, b.g, N)
			}
		}
		return nil
	}
	bm := newBmap(batch, ab, bb)
	aOff, bOff := make([]int, nb), make([]int, nb)
	for r := 0; r < bm.rows; r++ {
		for t := 0; t < bm.inner; t++ {
			aOff[r*bm.inner+t] = (bm.off[0][r] + t*bm.step[0]) * M * K
			bOff[r*bm.inner+t] = (bm.off[1][r] + t*bm.step[1]) * K * N
		}
	}
	aFull, bFull := numel(ab) == nb, numel(bb) == nb
	fwd := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			gemmSerial(false, false, M, N, K, 1, a.f[aOff[i]:], K, b.f[bOff[i]:], N, 0, y.f[i*M*N:], N)
		}
	}
	bwdA := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			gemmSerial(false, true, M, K, N, 1, y.g[i*M*N:], N, b.f[bOff[i]:], N, 1, a.g[aOff[i]:], K)
		}
	}
	bwdB := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			gemmSerial(true, false, K, N, M, 1, a.f[aOff[i]:], K, y.g[i*M*N:], N, 1, b.g[bOff[i]:], N)
		}
	}
	c.fwd = func(*runCtx) error {
		if nb == 1 {
			mm.gemm(false, false, M, N, K, 1, a.f, K, b.f, N, 0, y.f, N)
		} else {
			pool.run(nb, 1, fwd)
		}
		return nil
	}
	c.bwd = func() {
		if a.g != nil {
			if aFull {
				pool.run(nb, 1, bwdA)
			} else {
				bwdA(0, nb)
			}
		}
		if b.g != nil {
			if bFull {
				pool.run(nb, 1, bwdB)
			} else {
				bwdB(0, nb)
			}
		}
	}
	return nil
}
