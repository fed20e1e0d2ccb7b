package fused

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// FMA32 against exact arithmetic (math/big) on random operands, including
// ones built to sit on float32 rounding boundaries, where a float64 sum
// rounded again to float32 goes wrong.
func TestFMA32Exact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	exact := func(a, b, c float32) float32 {
		x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
		x.Mul(x, new(big.Float).SetFloat64(float64(b)))
		x.Add(x, new(big.Float).SetFloat64(float64(c)))
		f, _ := x.Float32()
		return f
	}
	doubleRounded := 0
	for i := 0; i < 200000; i++ {
		a := float32(rng.NormFloat64())
		b := float32(rng.NormFloat64())
		c := float32(rng.NormFloat64())
		if i%5 == 3 { // float32's subnormal range
			a, b, c = a*0x1p-70, b*0x1p-60, c*0x1p-130
		}
		if i%2 == 1 {
			// the hard case: (1+2⁻²³)·2ᵉ + (1+2⁻²³)·2⁻²⁴(1−2⁻²³)·2ᵉ lies
			// 2⁻⁷⁰·2ᵉ below a float32 midpoint; float64 rounds it onto
			// the midpoint and the tie then rounds up, wrongly
			e := rng.IntN(40) - 20
			sign := float32(1 - 2*rng.IntN(2))
			a = sign * (1 + 0x1p-23)
			b = float32(math.Ldexp(0x1p-24*(1-0x1p-23), e))
			c = sign * float32(math.Ldexp(1+0x1p-23, e))
		}
		got, want := FMA32(a, b, c), exact(a, b, c)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("FMA32(%g, %g, %g) = %g, exact %g", a, b, c, got, want)
		}
		if float32(float64(a)*float64(b)+float64(c)) != want {
			doubleRounded++
		}
	}
	if doubleRounded < 50000 {
		t.Fatalf("only %d hard cases: the test does not exercise double rounding", doubleRounded)
	}
}

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64() * scale)
	}
	return s
}

// The AVX2 kernel and the Go fallback give the same bits for Adam and
// AdamW, lengths that are and are not multiples of the vector width.
func TestAdamKernelMatchesGo(t *testing.T) {
	if !haveAVX2 {
		t.Log("no AVX2 on this CPU: Adam runs the Go fallback only (nothing to compare)")
		return
	}
	rng := rand.New(rand.NewPCG(9, 10))
	hs := []AdamHyper{
		{Decay: 1, B1: 0.9, One1: float32(1 - 0.9), B2: 0.999, One2: float32(1 - 0.999), BC2Sqrt: float32(math.Sqrt(1 - 0.999)), Eps: 1e-8, StepSize: float32(-1e-3 / (1 - 0.9))},
		{Decay: 1, WD: 0.01, Coupled: 1, B1: 0.8, One1: float32(1 - 0.8), B2: 0.99, One2: float32(1 - 0.99), BC2Sqrt: 0.3, Eps: 1e-6, StepSize: -0.01},
		{Decay: float32(1 - 1e-3*0.01), B1: 0.9, One1: float32(1 - 0.9), B2: 0.999, One2: float32(1 - 0.999), BC2Sqrt: 0.05, Eps: 1e-8, StepSize: -0.002},
	}
	for _, n := range []int{1, 7, 8, 9, 100, 1037} {
		for hi := range hs {
			h := &hs[hi]
			th, g := randVec(rng, n, 1), randVec(rng, n, 0.1)
			m, v := randVec(rng, n, 0.01), randVec(rng, n, 0.001)
			for i := range v {
				v[i] = float32(math.Abs(float64(v[i])))
			}
			if n > 3 {
				g[2], v[2] = 0, 0 // 0/0-free: denominator is eps
			}
			th2, m2, v2 := append([]float32(nil), th...), append([]float32(nil), m...), append([]float32(nil), v...)
			for step := 0; step < 3; step++ {
				Adam(th, g, m, v, h)
				adamGo(th2, g, m2, v2, h)
			}
			for i := range th {
				if math.Float32bits(th[i]) != math.Float32bits(th2[i]) || math.Float32bits(m[i]) != math.Float32bits(m2[i]) || math.Float32bits(v[i]) != math.Float32bits(v2[i]) {
					t.Fatalf("n=%d hyper %d element %d: kernel θ,m,v = %g,%g,%g; Go %g,%g,%g", n, hi, i, th[i], m[i], v[i], th2[i], m2[i], v2[i])
				}
			}
		}
	}
}

func TestSumSquaresAndScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{0, 1, 15, 16, 17, 1000, 4099} {
		x := randVec(rng, n, 3)
		var want float64
		for _, v := range x {
			want += float64(v) * float64(v)
		}
		// a float64 sum of n positive terms in another order: relative
		// error ≤ n·2⁻⁵³ (Higham §4.2)
		if got := SumSquares(x); math.Abs(got-want) > float64(n)*0x1p-53*want {
			t.Errorf("n=%d: SumSquares %v, sequential sum %v", n, got, want)
		}
		y := append([]float32(nil), x...)
		Scale(y, 0.37)
		for i := range x {
			if y[i] != x[i]*0.37 {
				t.Fatalf("n=%d: Scale[%d] = %v, want %v", n, i, y[i], x[i]*0.37)
			}
		}
	}
}

func TestRunCoversEachIndexOnce(t *testing.T) {
	for _, n := range []int{1, 2, 3, 10, 1001} {
		hits := make([]int32, n)
		Run(n, minWork, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				hits[i]++
			}
		})
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d: index %d run %d times", n, i, h)
			}
		}
	}
}

// The AVX2 kernels and the Go fallbacks give the same bits for every SGD
// and RMSprop flag combination.
func TestSGDAndRMSpropKernelsMatchGo(t *testing.T) {
	if !haveAVX2 {
		t.Log("no AVX2 on this CPU: SGD and RMSprop run the Go fallback only (nothing to compare)")
		return
	}
	rng := rand.New(rand.NewPCG(13, 14))
	same := func(what string, a, b []float32) {
		t.Helper()
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: kernel %g, Go %g", what, i, a[i], b[i])
			}
		}
	}
	for _, n := range []int{1, 7, 8, 13, 1000} {
		for flags := uint32(0); flags < 16; flags++ {
			if flags&SGDMomentum == 0 && flags&(SGDFirst|SGDNesterov) != 0 {
				continue
			}
			h := &SGDHyper{WD: 1e-3, Mom: 0.9, Damp: 0.75, Alpha: -0.05, Flags: flags}
			th, g, buf := randVec(rng, n, 1), randVec(rng, n, 0.1), randVec(rng, n, 0.1)
			th2, buf2 := append([]float32(nil), th...), append([]float32(nil), buf...)
			SGD(th, g, buf, h)
			sgdGo(th2, g, buf2, h)
			same(fmt.Sprintf("sgd n=%d flags=%d θ", n, flags), th, th2)
			same(fmt.Sprintf("sgd n=%d flags=%d buf", n, flags), buf, buf2)
		}
		for flags := uint32(0); flags < 8; flags++ {
			h := &RMSHyper{WD: 1e-3, Alpha: 0.99, One: float32(1 - 0.99), Eps: 1e-8, Mom: 0.9, NegLR: -0.01, Flags: flags}
			th, g := randVec(rng, n, 1), randVec(rng, n, 0.1)
			sq, gavg, buf := randVec(rng, n, 0.01), randVec(rng, n, 0.01), randVec(rng, n, 0.1)
			for i := range sq {
				sq[i] = sq[i]*sq[i] + gavg[i]*gavg[i] // keeps sq − gavg² ≥ 0
			}
			th2, sq2, gavg2, buf2 := append([]float32(nil), th...), append([]float32(nil), sq...), append([]float32(nil), gavg...), append([]float32(nil), buf...)
			for step := 0; step < 3; step++ {
				RMSprop(th, g, sq, gavg, buf, h)
				rmsGo(th2, g, sq2, gavg2, buf2, h)
			}
			name := fmt.Sprintf("rmsprop n=%d flags=%d", n, flags)
			same(name+" θ", th, th2)
			same(name+" sq", sq, sq2)
			same(name+" gavg", gavg, gavg2)
			same(name+" buf", buf, buf2)
		}
	}
}
