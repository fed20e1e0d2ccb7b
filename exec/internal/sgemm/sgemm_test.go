package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// kernels returns every micro-kernel this machine can run: the SIMD ones
// the CPU supports and the pure-Go one at two register-block shapes (one
// deliberately odd, to exercise packing and the ragged edges).
func kernels() []*kernel {
	ks := []*kernel{
		goKernel("go 6×16", 6, 16),
		goKernel("go 5×7", 5, 7),
	}
	if hasAVX2FMA {
		ks = append(ks, avx2Kernel)
	}
	if hasAVX512 {
		ks = append(ks, avx512Kernel)
	}
	return ks
}

// goroutines runs f's ranges on real goroutines, split like the executor's
// pool: part i of n covers [i*n/parts, (i+1)*n/parts).
func goroutines(parts int) Runner {
	return func(n int, f func(lo, hi int)) {
		k := min(parts, n)
		var wg sync.WaitGroup
		for i := 0; i < k; i++ {
			wg.Add(1)
			go func(lo, hi int) { defer wg.Done(); f(lo, hi) }(i*n/k, (i+1)*n/k)
		}
		wg.Wait()
	}
}

type gemmCase struct {
	tA, tB        bool
	m, n, k       int
	alpha, beta   float32
	lda, ldb, ldc int
	a, b, c       []float32
}

func randCase(rng *rand.Rand, tA, tB bool, m, n, k int) gemmCase {
	g := gemmCase{tA: tA, tB: tB, m: m, n: n, k: k}
	alphas := []float32{1, -0.5, 2.25}
	betas := []float32{0, 1, 0.75}
	g.alpha = alphas[rng.IntN(len(alphas))]
	g.beta = betas[rng.IntN(len(betas))]
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	// leading dimensions: tight or padded by a few elements
	g.lda = ac + rng.IntN(3)
	g.ldb = bc + rng.IntN(3)
	g.ldc = n + rng.IntN(3)
	g.a = randSlice(rng, (ar-1)*g.lda+ac)
	g.b = randSlice(rng, (br-1)*g.ldb+bc)
	g.c = randSlice(rng, (m-1)*g.ldc+n)
	return g
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, max(n, 0))
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func (g gemmCase) at(i, p int) float64 {
	if g.tA {
		return float64(g.a[p*g.lda+i])
	}
	return float64(g.a[i*g.lda+p])
}

func (g gemmCase) bt(p, j int) float64 {
	if g.tB {
		return float64(g.b[j*g.ldb+p])
	}
	return float64(g.b[p*g.ldb+j])
}

// check compares got with the product in float64. The bound is the
// standard one for a float32 dot product of length k (Higham, Accuracy and
// Stability of Numerical Algorithms, §3.1: |error| ≤ γ_k Σ|a||b| with
// γ_k ≈ k·2⁻²⁴), applied to |alpha|·Σ|a||b| + |beta·c| with k+2 roundings.
func (g gemmCase) check(t *testing.T, name string, got []float32) {
	t.Helper()
	const u = 1.0 / (1 << 24)
	bad := 0
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			var s, mag float64
			for p := 0; p < g.k; p++ {
				x := g.at(i, p) * g.bt(p, j)
				s += x
				mag += math.Abs(x)
			}
			c0 := float64(g.c[i*g.ldc+j])
			want := float64(g.alpha)*s + float64(g.beta)*c0
			tol := float64(g.k+2) * u * (math.Abs(float64(g.alpha))*mag + math.Abs(float64(g.beta)*c0))
			if d := math.Abs(float64(got[i*g.ldc+j]) - want); d > tol && bad < 5 {
				t.Errorf("%s: C[%d,%d] = %g, want %g (±%g)", name, i, j, got[i*g.ldc+j], want, tol)
				bad++
			}
		}
	}
	// padding between rows of C is never written
	for i := 0; i < g.m-1; i++ {
		for j := g.n; j < g.ldc; j++ {
			if got[i*g.ldc+j] != g.c[i*g.ldc+j] {
				t.Fatalf("%s: C's padding at row %d column %d was written", name, i, j)
			}
		}
	}
}

var shapes = [][3]int{
	{1, 1, 1}, {1, 17, 3}, {7, 1, 5}, {5, 7, 1}, {13, 29, 31}, {6, 16, 8}, {14, 32, 40},
	{33, 65, 257}, {64, 10, 128}, {97, 100, 300}, {130, 515, 70}, {29, 600, 520},
}

// Every kernel, every transpose combination, alpha/beta, padded leading
// dimensions, odd sizes and sizes crossing the kc/mc/nc blocks, against a
// float64 product; and the bits do not depend on the thread count.
func TestGemm(t *testing.T) {
	eachCase(1, 2, func(kr *kernel, g gemmCase, name string) {
		tA, tB := g.tA, g.tB
		var first []float32
		for _, threads := range []int{1, 2, 3, 4} {
			c := append([]float32(nil), g.c...)
			p := newParallel(threads, goroutines(threads), kr)
			p.Gemm(tA, tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
			if threads == 1 {
				g.check(t, name, c)
				first = c
				continue
			}
			sameBits(t, fmt.Sprintf("%s: %d threads", name, threads), c, first)
		}
		if kr == active { // the serial entry point the executor's nested loops use
			c := append([]float32(nil), g.c...)
			Gemm(tA, tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
			sameBits(t, name+": Gemm", c, first)
		}
	})
}

// eachCase calls f on a random case (randCase, from a generator seeded
// with seed1, seed2) for every kernel, shape and transpose combination,
// in that order, with the case's name.
func eachCase(seed1, seed2 uint64, f func(kr *kernel, g gemmCase, name string)) {
	rng := rand.New(rand.NewPCG(seed1, seed2))
	for _, kr := range kernels() {
		for _, sh := range shapes {
			for tr := 0; tr < 4; tr++ {
				tA, tB := tr&1 != 0, tr&2 != 0
				g := randCase(rng, tA, tB, sh[0], sh[1], sh[2])
				f(kr, g, fmt.Sprintf("%s %dx%dx%d tA=%v tB=%v alpha=%g beta=%g", kr.name, g.m, g.n, g.k, tA, tB, g.alpha, g.beta))
			}
		}
	}
}

// The selected kernel against gonum's Sgemm, the executor's
// fallback, on the same random cases: both within the float32 bound of the
// exact product, and of each other.
func TestGemmAgainstGonum(t *testing.T) {
	kr := active
	if kr == nil { // no SIMD kernel on this CPU: the same comparison for the Go kernel
		kr = kernels()[0]
	}
	rng := rand.New(rand.NewPCG(3, 4))
	tr := map[bool]blas.Transpose{false: blas.NoTrans, true: blas.Trans}
	for _, sh := range shapes {
		for t4 := 0; t4 < 4; t4++ {
			tA, tB := t4&1 != 0, t4&2 != 0
			g := randCase(rng, tA, tB, sh[0], sh[1], sh[2])
			name := fmt.Sprintf("%dx%dx%d tA=%v tB=%v", g.m, g.n, g.k, tA, tB)
			ours := append([]float32(nil), g.c...)
			if prologue(g.m, g.n, g.k, g.alpha, g.beta, ours, g.ldc) {
				block(kr, new(workspace), tA, tB, 0, g.m, 0, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, ours, g.ldc, nil, nil)
			}
			g.check(t, "sgemm "+name, ours)
			theirs := append([]float32(nil), g.c...)
			gonum.Implementation{}.Sgemm(tr[tA], tr[tB], g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, theirs, g.ldc)
			g.check(t, "gonum "+name, theirs)
		}
	}
}

func sameBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: differs from 1 thread at %d: %g vs %g", name, i, got[i], want[i])
		}
	}
}

func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range [][2]int{{1, 1}, {8, 8}, {7, 9}, {9, 7}, {14, 256}, {32, 201}, {16, 16}, {30, 17}} {
		rows, cols := sh[0], sh[1]
		lds, ldd := cols+3, rows+2
		src := randSlice(rng, rows*lds)
		dst := make([]float32, cols*ldd)
		transpose(dst, ldd, src, lds, rows, cols)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				if dst[c*ldd+r] != src[r*lds+c] {
					t.Fatalf("%dx%d: dst[%d][%d] = %v, want %v", rows, cols, c, r, dst[c*ldd+r], src[r*lds+c])
				}
			}
			for c := 0; c < cols; c++ {
				for r := rows; r < ldd; r++ {
					if dst[c*ldd+r] != 0 {
						t.Fatalf("%dx%d: padding dst[%d][%d] written", rows, cols, c, r)
					}
				}
			}
		}
	}
}

// Each SIMD kernel on one thread, in GFLOPS per second of that thread's
// CPU time (a per-core figure that load on the machine does not distort).
func BenchmarkKernel(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, kr := range kernels()[2:] {
		for _, sh := range [][3]int{{512, 512, 512}, {64, 12544, 288}, {64, 512, 784}} {
			m, n, k := sh[0], sh[1], sh[2]
			a, bb, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
			b.Run(fmt.Sprintf("%s/%dx%dx%d", kr.name, m, n, k), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				w := new(workspace)
				t0 := threadCPU()
				for b.Loop() {
					block(kr, w, false, false, 0, m, 0, n, k, 1, a, k, bb, n, c, n, nil, nil)
				}
				if cpu := threadCPU() - t0; cpu > 0 {
					b.ReportMetric(2*float64(m*n*k)*float64(b.N)/cpu.Seconds()/1e9, "cpu-GFLOPS")
				}
			})
		}
	}
}

// The micro-kernels alone on panels that stay in cache: their ceiling.
func BenchmarkMicroKernel(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, kr := range kernels()[2:] {
		const k = 256
		a, bb, c := randSlice(rng, kr.mr*k), randSlice(rng, k*kr.nr*4), make([]float32, kr.mr*kr.nr)
		fn := kr.fns[kr.mr-1]
		b.Run(kr.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			t0 := threadCPU()
			for b.Loop() {
				for j := 0; j < 4; j++ {
					fn(k, &a[0], &bb[j*k*kr.nr], &c[0], kr.nr, 1)
				}
			}
			if cpu := threadCPU() - t0; cpu > 0 {
				b.ReportMetric(2*float64(4*kr.mr*kr.nr*k)*float64(b.N)/cpu.Seconds()/1e9, "cpu-GFLOPS")
			}
		})
	}
}

// Scaling C by beta tile by tile inside the loop nest (what Gemm and
// Parallel do) gives the bits of scaling all of C first, then adding the
// product (what the packed entry points do), for every beta the cases draw
// (0, 1 and others), NaNs in C included.
func TestBetaInTiles(t *testing.T) {
	eachCase(7, 8, func(kr *kernel, g gemmCase, name string) {
		if len(g.c) > 0 {
			g.c[len(g.c)/2] = float32(math.NaN())
		}
		want := append([]float32(nil), g.c...)
		if prologue(g.m, g.n, g.k, g.alpha, g.beta, want, g.ldc) {
			block(kr, new(workspace), g.tA, g.tB, 0, g.m, 0, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, want, g.ldc, nil, nil)
		}
		for _, beta := range []float32{g.beta, 0} {
			if beta != g.beta {
				want = append([]float32(nil), g.c...)
				if prologue(g.m, g.n, g.k, g.alpha, beta, want, g.ldc) {
					block(kr, new(workspace), g.tA, g.tB, 0, g.m, 0, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, want, g.ldc, nil, nil)
				}
			}
			got := append([]float32(nil), g.c...)
			p := newParallel(2, goroutines(2), kr)
			p.Gemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, beta, got, g.ldc)
			sameBits(t, fmt.Sprintf("%s beta=%g", name, beta), got, want)
		}
	})
}
