package sgemm

import (
	"fmt"
	"testing"
)

// A product with a prepacked operand gives the bits of the same product
// packed on the fly, for every kernel, transpose, alpha/beta and the
// shapes of TestGemm; and so does splitting C into bands computed by
// separate calls, along either operand (how the executor spreads them over
// its goroutines).
func TestGemmPacked(t *testing.T) {
	eachCase(7, 8, func(kr *kernel, g gemmCase, name string) {
		tA, tB := g.tA, g.tB
		want := append([]float32(nil), g.c...)
		if prologue(g.m, g.n, g.k, g.alpha, g.beta, want, g.ldc) {
			block(kr, new(workspace), tA, tB, 0, g.m, 0, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, want, g.ldc, nil, nil)
		}
		g.check(t, name, want)

		pa := packedA(kr, tA, g.m, g.k, g.a, g.lda)
		for _, bands := range []int{1, 3} {
			c := append([]float32(nil), g.c...)
			for i := 0; i < bands; i++ {
				j0, j1 := i*g.n/bands, (i+1)*g.n/bands
				if j0 == j1 {
					continue
				}
				b := g.b[j0:]
				if tB {
					b = g.b[j0*g.ldb:]
				}
				GemmPA(pa, 0, g.m, tB, j1-j0, g.alpha, b, g.ldb, g.beta, c[j0:], g.ldc)
			}
			sameBits(t, fmt.Sprintf("%s: GemmPA in %d column bands", name, bands), c, want)
			c = append(c[:0], g.c...)
			for i := 0; i < bands; i++ {
				i0, i1 := min(i*kr.mr, g.m), g.m
				if i < bands-1 {
					i1 = min((i+1)*kr.mr, g.m)
				}
				GemmPA(pa, i0, i1, tB, g.n, g.alpha, g.b, g.ldb, g.beta, c, g.ldc)
			}
			sameBits(t, fmt.Sprintf("%s: GemmPA in %d row bands", name, bands), c, want)
		}

		pb := packedB(kr, tB, g.k, g.n, g.b, g.ldb)
		for _, bands := range []int{1, 3} {
			c := append([]float32(nil), g.c...)
			for i := 0; i < bands; i++ {
				i0, i1 := i*g.m/bands, (i+1)*g.m/bands
				if i0 == i1 {
					continue
				}
				a := g.a[i0:]
				if !tA {
					a = g.a[i0*g.lda:]
				}
				GemmPB(tA, i1-i0, g.alpha, a, g.lda, pb, 0, g.n, g.beta, c[i0*g.ldc:], g.ldc)
			}
			sameBits(t, fmt.Sprintf("%s: GemmPB in %d row bands", name, bands), c, want)
			c = append(c[:0], g.c...)
			for i := 0; i < bands; i++ {
				j0, j1 := min(i*kr.nr, g.n), g.n
				if i < bands-1 {
					j1 = min((i+1)*kr.nr, g.n)
				}
				GemmPB(tA, g.m, g.alpha, g.a, g.lda, pb, j0, j1, g.beta, c, g.ldc)
			}
			sameBits(t, fmt.Sprintf("%s: GemmPB in %d column bands", name, bands), c, want)
		}
	})
}
