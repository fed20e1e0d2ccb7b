package exec

import (
	"github.com/nnkit/nnkit/exec/internal/sgemm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/gonum"
)

// The float32 matrix products run on package sgemm's packed, cache-blocked
// GEMM with an AVX2+FMA or AVX-512 micro-kernel when the CPU has one: it
// splits C over the worker pool itself, and its bits do not depend on the
// thread count. Otherwise (or after SetBLAS) they go through gonum's
// blas.Float32 interface: the executor tiles C, runs the tiles on its own
// goroutines, and calls the implementation's Sgemm on each tile (gonum's
// pure Go by default; the tiles are small enough for it to stay serial, so
// a steady-state step allocates nothing).

// tile sizes: gonum parallelizes from 4 blocks of 64×64 on, so a 64×192
// tile stays on the calling goroutine.
const (
	tileM = 64
	tileN = 192
)

var blasOverride blas.Float32

// SetBLAS makes the executor use impl for float32 matrix products (nil goes
// back to the default: the SIMD GEMM where the CPU supports it, else
// blas32.Implementation(), gonum's pure Go unless blas32.Use changed it).
// impl's Sgemm is called concurrently on disjoint tiles of C. SetBLAS is
// not safe to call while a Program runs.
func SetBLAS(impl blas.Float32) { blasOverride = impl }

// simd reports whether float32 products go to package sgemm.
func simd() bool { return blasOverride == nil && sgemm.Available() }

// GEMMKernel names the float32 matrix-product kernel in use, e.g.
// "avx512 14×32" or "gonum" (for benchmark and diagnostic output).
func GEMMKernel() string {
	if simd() {
		return sgemm.Kernel()
	}
	if blasOverride != nil {
		return "SetBLAS"
	}
	return "gonum"
}

func sgemmImpl() blas.Float32 {
	if blasOverride != nil {
		return blasOverride
	}
	return blas32.Implementation()
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// gemmer computes C = alpha·op(A)·op(B) + beta·C, in parallel over tiles of
// C. One per engine; its tile function is created once.
type gemmer[T Float] struct {
	pool *pool
	// current call
	tA, tB   bool
	m, n, k  int
	alpha    T
	a, b, c  []T
	lda, ldb int
	ldc      int
	tilesN   int
	bm, bn   int
	tileFn   func(lo, hi int)
	simd     *sgemm.Parallel // float32 products on package sgemm
}

func newGemmer[T Float](p *pool) *gemmer[T] {
	g := &gemmer[T]{pool: p}
	g.tileFn = g.tiles
	if is32[T]() && sgemm.Available() {
		g.simd = sgemm.NewParallel(p.threads, p.runAll)
	}
	return g
}

// gemm runs on the pool; gemmSerial on the calling goroutine (for callers
// that are themselves parallel). Both leave C's rows beyond m untouched.
func (g *gemmer[T]) gemm(tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if g.simd != nil && simd() {
		g.simd.Gemm(tA, tB, m, n, k, float32(alpha), asF32(a), lda, asF32(b), ldb, float32(beta), asF32(c), ldc)
		return
	}
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	tm, tn := (m+tileM-1)/tileM, (n+tileN-1)/tileN
	if m*n*k < 64*64*64 || tm*tn == 1 {
		gemmSerial(tA, tB, m, n, k, alpha, a, lda, b, ldb, 1, c, ldc)
		return
	}
	g.tA, g.tB, g.m, g.n, g.k = tA, tB, m, n, k
	g.alpha, g.a, g.b, g.c = alpha, a, b, c
	g.lda, g.ldb, g.ldc = lda, ldb, ldc
	g.tilesN = tn
	// balanced tiles: 196 columns are two of 98, not 192 + 4
	g.bm, g.bn = (m+tm-1)/tm, (n+tn-1)/tn
	g.pool.run(tm*tn, 1, g.tileFn)
	g.a, g.b, g.c = nil, nil, nil
}

func (g *gemmer[T]) tiles(lo, hi int) {
	for t := lo; t < hi; t++ {
		i0 := (t / g.tilesN) * g.bm
		j0 := (t % g.tilesN) * g.bn
		mm := min(g.bm, g.m-i0)
		nn := min(g.bn, g.n-j0)
		if mm <= 0 || nn <= 0 {
			continue
		}
		var a, b []T
		if g.tA {
			a = g.a[i0:]
		} else {
			a = g.a[i0*g.lda:]
		}
		if g.tB {
			b = g.b[j0*g.ldb:]
		} else {
			b = g.b[j0:]
		}
		gemmTile(g.tA, g.tB, mm, nn, g.k, g.alpha, a, g.lda, b, g.ldb, g.c[i0*g.ldc+j0:], g.ldc)
	}
}

func gemmSerial[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if is32[T]() && simd() {
		sgemm.Gemm(tA, tB, m, n, k, float32(alpha), asF32(a), lda, asF32(b), ldb, float32(beta), asF32(c), ldc)
		return
	}
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	tm, tn := (m+tileM-1)/tileM, (n+tileN-1)/tileN
	bm, bn := (m+tm-1)/tm, (n+tn-1)/tn // balanced tiles
	for i0 := 0; i0 < m; i0 += bm {
		for j0 := 0; j0 < n; j0 += bn {
			mm, nn := min(bm, m-i0), min(bn, n-j0)
			var aa, bb []T
			if tA {
				aa = a[i0:]
			} else {
				aa = a[i0*lda:]
			}
			if tB {
				bb = b[j0*ldb:]
			} else {
				bb = b[j0:]
			}
			gemmTile(tA, tB, mm, nn, k, alpha, aa, lda, bb, ldb, c[i0*ldc+j0:], ldc)
		}
	}
}

func scaleC[T Float](m, n int, beta T, c []T, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// gemmTile: C += alpha·op(A)·op(B) on one tile, slices trimmed to the
// lengths BLAS expects.
func gemmTile[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	var la, lb int
	if tA {
		la = (k-1)*lda + m
	} else {
		la = (m-1)*lda + k
	}
	if tB {
		lb = (n-1)*ldb + k
	} else {
		lb = (k-1)*ldb + n
	}
	lc := (m-1)*ldc + n
	if is32[T]() {
		sgemmImpl().Sgemm(trans(tA), trans(tB), m, n, k, float32(alpha), asF32(a[:la]), lda, asF32(b[:lb]), ldb, 1, asF32(c[:lc]), ldc)
		return
	}
	gonum.Implementation{}.Dgemm(trans(tA), trans(tB), m, n, k, float64(alpha), asF64(a[:la]), lda, asF64(b[:lb]), ldb, 1, asF64(c[:lc]), ldc)
}
