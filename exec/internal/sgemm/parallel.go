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
	alpha, beta   float32
	a, b, c       []float32
	lda, ldb, ldc int
	pm, pn        int // partition of C: pm row bands × pn column bands
	un            int // micro-panels (nr columns) of C
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
	if m <= 0 || n <= 0 {
		return
	}
	kr := p.kr
	un := (n + kr.nr - 1) / kr.nr
	pm, pn := split(p.threads, m, n, k, kr)
	if k <= 0 || alpha == 0 {
		prologue(m, n, k, alpha, beta, c, ldc)
		return
	}
	if pm*pn == 1 {
		blockBeta(kr, p.ws[0], tA, tB, 0, m, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, nil)
		return
	}
	p.tA, p.tB, p.m, p.n, p.k = tA, tB, m, n, k
	p.alpha, p.beta, p.a, p.b, p.c = alpha, beta, a, b, c
	p.lda, p.ldb, p.ldc = lda, ldb, ldc
	p.pm, p.pn, p.un = pm, pn, un
	p.run(pm*pn, p.partFn)
	p.a, p.b, p.c = nil, nil, nil
}

// split chooses pm×pn ≤ threads bands of C: the factorization whose
// slowest band costs least by a model of the work — the micro-kernel's
// tiles (a row band may start anywhere, since every row count runs the
// same arithmetic per element, and a short tile costs a little more than
// its rows; column bands hold whole nr-column panels, a ragged one costing
// a full one) plus the packing each band does for itself: splitting
// columns repeats A's packing in every band, splitting rows repeats B's.
// Products too small to pay for a hand-off stay serial.
func split(threads, m, n, k int, kr *kernel) (pm, pn int) {
	if threads == 1 || m*n*k < 48*48*48 {
		return 1, 1
	}
	un := (n + kr.nr - 1) / kr.nr
	pm, pn = 1, 1
	best := -1.0
	for f := 1; f <= threads; f++ {
		if threads%f != 0 {
			continue
		}
		g := threads / f // f row bands, g column bands
		if f > m || g > un {
			continue
		}
		// the largest band: rows and panels rounded up
		rows := (m + f - 1) / f
		panels := (un + g - 1) / g
		cols := min(panels*kr.nr, n)
		if c := bandCost(kr, rows, panels, cols, k); best < 0 || c < best {
			best, pm, pn = c, f, g
		}
	}
	if best < 0 { // too few rows and panels for the threads
		if m >= un {
			return min(threads, m), 1
		}
		return 1, min(threads, un)
	}
	return pm, pn
}

// packCost is the cost of packing one float in units of one lane of one
// FMA of the micro-kernel: measured per core, packing and its cache misses
// take about as long as four kernel FMAs per float (the serial products
// of bench_test's shapes lose 5–20 % of their time to it).
const packCost = 4

// bandCost models the time of one band of rows × panels with inner
// dimension k: tiles of mr rows (the last one shorter; a tile of r rows
// costs as r+2 rows, at least 6, for loading and storing C and for the
// short tiles' FMA latency), times panels of nr columns, times k; plus
// packing its rows of A once per nc-column block and its columns of B.
func bandCost(kr *kernel, rows, panels, cols, k int) float64 {
	full, r := rows/kr.mr, rows%kr.mr
	tile := func(r int) int { return max(r+2, 6) }
	rowCost := full * tile(kr.mr)
	if r > 0 {
		rowCost += tile(r)
	}
	compute := float64(rowCost) * float64(panels*kr.nr) * float64(k)
	ncs := nc / kr.nr * kr.nr
	blocks := (cols + ncs - 1) / ncs
	pack := float64(rows*k*blocks + cols*k)
	return compute + packCost*pack
}

func (p *Parallel) parts(lo, hi int) {
	for t := lo; t < hi; t++ {
		bi, bj := t/p.pn, t%p.pn
		kr := p.kr
		// rows as even as can be (a band may start on any row: its
		// elements' bits do not depend on where its tiles begin),
		// columns as even as whole nr-column panels allow
		i0 := bi * p.m / p.pm
		i1 := (bi + 1) * p.m / p.pm
		j0 := bj * p.un / p.pn * kr.nr
		j1 := min((bj+1)*p.un/p.pn*kr.nr, p.n)
		if i0 >= i1 || j0 >= j1 {
			continue
		}
		// each band scales its own part of C by beta, tile by tile: the
		// same operation on each element as a pass over all of C, but on
		// every thread and while the tile is in cache
		blockBeta(kr, p.ws[t], p.tA, p.tB, i0, i1, j0, j1, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc, nil, nil)
	}
}
