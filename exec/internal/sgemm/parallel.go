package sgemm

// Runner calls f over [0, n) split into contiguous ranges, in parallel, and
// returns when all are done (the executor's worker pool).
type Runner func(n int, f func(lo, hi int))

// Parallel runs Gemm over a fixed number of threads through a Runner. It
// keeps one workspace per thread and creates its closure once, so a call
// allocates nothing in steady state. A Parallel serves one call at a time.
type Parallel struct {
	threads int
	run     Runner
	ws      []*workspace
	partFn  func(lo, hi int)
	kr      *kernel

	// current call
	tA, tB        bool
	m, n, k       int
	alpha         float32
	a, b, c       []float32
	lda, ldb, ldc int
	pm, pn        int // partition of C: pm row bands × pn column bands
	um, un        int // micro-tile rows / columns of C
}

// NewParallel returns a Parallel for threads threads (≥ 1) using run.
func NewParallel(threads int, run Runner) *Parallel {
	return newParallel(threads, run, active)
}

func newParallel(threads int, run Runner, kr *kernel) *Parallel {
	p := &Parallel{threads: max(threads, 1), run: run, kr: kr}
	p.ws = make([]*workspace, p.threads)
	for i := range p.ws {
		p.ws[i] = new(workspace)
	}
	p.partFn = p.parts
	return p
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C over the threads. The bits
// of C do not depend on the thread count (see the package doc).
func (p *Parallel) Gemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !prologue(m, n, k, alpha, beta, c, ldc) {
		return
	}
	kr := p.kr
	um, un := (m+kr.mr-1)/kr.mr, (n+kr.nr-1)/kr.nr
	pm, pn := split(p.threads, m, n, um, un, k)
	if pm*pn == 1 {
		block(kr, p.ws[0], tA, tB, 0, m, 0, n, k, alpha, a, lda, b, ldb, c, ldc, nil, nil)
		return
	}
	p.tA, p.tB, p.m, p.n, p.k = tA, tB, m, n, k
	p.alpha, p.a, p.b, p.c = alpha, a, b, c
	p.lda, p.ldb, p.ldc = lda, ldb, ldc
	p.pm, p.pn, p.um, p.un = pm, pn, um, un
	p.run(pm*pn, p.partFn)
	p.a, p.b, p.c = nil, nil, nil
}

// split chooses pm×pn ≤ threads bands of C. Each band packs the A rows
// and B columns it needs, so splitting columns repeats A's packing and
// splitting rows repeats B's: choose the factorization that repeats the
// least. Products too small to pay for a hand-off stay serial.
func split(threads, m, n, um, un, k int) (pm, pn int) {
	if threads == 1 || m*n*k < 48*48*48 {
		return 1, 1
	}
	pm, pn = 1, 1
	best := -1
	for f := 1; f <= threads; f++ {
		if threads%f != 0 {
			continue
		}
		g := threads / f // f row bands, g column bands
		if f > um || g > un {
			continue
		}
		cost := (g-1)*m + (f-1)*n
		if best < 0 || cost < best {
			best, pm, pn = cost, f, g
		}
	}
	if best < 0 { // fewer micro-tiles than threads along both axes
		if um >= un {
			return min(threads, um), 1
		}
		return 1, min(threads, un)
	}
	return pm, pn
}

func (p *Parallel) parts(lo, hi int) {
	for t := lo; t < hi; t++ {
		bi, bj := t/p.pn, t%p.pn
		kr := p.kr
		// bands on the micro-tile grid, as even as whole tiles allow
		i0 := bi * p.um / p.pm * kr.mr
		i1 := min((bi+1)*p.um/p.pm*kr.mr, p.m)
		j0 := bj * p.un / p.pn * kr.nr
		j1 := min((bj+1)*p.un/p.pn*kr.nr, p.n)
		if i0 >= i1 || j0 >= j1 {
			continue
		}
		block(kr, p.ws[t], p.tA, p.tB, i0, i1, j0, j1, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.c, p.ldc, nil, nil)
	}
}
