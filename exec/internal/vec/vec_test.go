package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randVec(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64()*2 + 0.5)
	}
	return s
}

var lengths = []int{0, 1, 7, 8, 15, 16, 17, 100, 1031}

// The float32 kernels match the scalar formulas bit for bit.
func TestAffineAndBNGradExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range lengths {
		x, d, gx := randVec(rng, n), randVec(rng, n), randVec(rng, n)
		y := make([]float32, n)
		a, b := float32(0.731), float32(-0.2)
		Affine(y, x, a, b)
		for i := range x {
			if want := float32(x[i]*a) + b; math.Float32bits(y[i]) != math.Float32bits(want) {
				t.Fatalf("n=%d Affine[%d] = %v, want %v", n, i, y[i], want)
			}
		}
		k1, k2, k3, mu := float32(1.3), float32(0.01), float32(0.7), float32(0.4)
		g2 := append([]float32(nil), gx...)
		BNGrad(gx, d, x, k1, k2, k3, mu)
		for i := range g2 {
			want := g2[i] + float32(k1*float32(float32(d[i]-k2)-float32(float32(x[i]-mu)*k3)))
			if math.Float32bits(gx[i]) != math.Float32bits(want) {
				t.Fatalf("n=%d BNGrad[%d] = %v, want %v", n, i, gx[i], want)
			}
		}
	}
}

// The float64 reductions agree with a sequential sum to within the error
// of float64 summation (n·2⁻⁵³ relative to Σ|terms|, Higham §4.2).
func TestSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range lengths {
		x, d := randVec(rng, n), randVec(rng, n)
		const k, mu = 0.3, -0.1
		var s, q, sa, sd, sdx, sda, sdxa float64
		for i := range x {
			f := float64(x[i]) - k
			s, q, sa = s+f, q+f*f, sa+math.Abs(f)
			sd, sdx = sd+float64(d[i]), sdx+float64(d[i])*(float64(x[i])-mu)
			sda, sdxa = sda+math.Abs(float64(d[i])), sdxa+math.Abs(float64(d[i])*(float64(x[i])-mu))
		}
		tol := float64(n+1) * 0x1p-53
		gs, gq := ShiftedSums(x, k)
		if math.Abs(gs-s) > tol*sa || math.Abs(gq-q) > tol*q {
			t.Errorf("n=%d ShiftedSums = %v, %v; sequential %v, %v", n, gs, gq, s, q)
		}
		gd, gdx := CenteredDots(d, x, mu)
		if math.Abs(gd-sd) > tol*sda || math.Abs(gdx-sdx) > tol*sdxa {
			t.Errorf("n=%d CenteredDots = %v, %v; sequential %v, %v", n, gd, gdx, sd, sdx)
		}
	}
}

// Relu and its gradient match Go's max and the masked add bit for bit,
// NaN, ±0 and ±Inf included.
func TestRelu(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, n := range lengths {
		x, dy, dx := randVec(rng, n), randVec(rng, n), randVec(rng, n)
		specials := []float32{nan, 0, float32(math.Copysign(0, -1)), inf, -inf, -nan}
		for i := range x {
			if i%5 == 0 {
				x[i] = specials[(i/5)%len(specials)]
			}
		}
		y := make([]float32, n)
		Relu(y, x)
		for i := range x {
			if want := max(x[i], 0); math.Float32bits(y[i]) != math.Float32bits(want) && !(want != want && y[i] != y[i]) {
				t.Fatalf("n=%d Relu(%v) = %v, want %v", n, x[i], y[i], want)
			}
		}
		d2 := append([]float32(nil), dx...)
		ReluGrad(dx, dy, x)
		for i := range x {
			want := d2[i]
			if x[i] > 0 {
				want += dy[i]
			} else {
				want += 0
			}
			if math.Float32bits(dx[i]) != math.Float32bits(want) {
				t.Fatalf("n=%d ReluGrad at x=%v: %v, want %v", n, x[i], dx[i], want)
			}
		}
	}
}

func TestMulAddRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, w := range []int{8, 16, 24, 5} {
		rows := 7
		var ops [][3]int
		for range 40 {
			ops = append(ops, [3]int{rng.IntN(rows), rng.IntN(rows), rng.IntN(rows)})
		}
		tr := NewTriples(ops)
		a, b := randVec(rng, rows*w), randVec(rng, rows*w)
		d := randVec(rng, rows*w)
		want := append([]float32(nil), d...)
		for _, o := range ops { // the definition, one element at a time
			for j := 0; j < w; j++ {
				want[o[0]*w+j] += float32(a[o[1]*w+j] * b[o[2]*w+j])
			}
		}
		MulAddRows(d, a, b, tr, w)
		for i := range d {
			if math.Float32bits(d[i]) != math.Float32bits(want[i]) {
				t.Fatalf("w=%d: d[%d] = %v, want %v (bit for bit)", w, i, d[i], want[i])
			}
		}
	}
}

func TestMulAddRowsBounds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a row past the end of d did not panic")
		}
	}()
	MulAddRows(make([]float32, 16), make([]float32, 16), make([]float32, 16), NewTriples([][3]int{{2, 0, 0}}), 8)
}

// Clip and ClipGrad against Go's min/max and the mask rule, bit for bit,
// on special values at and around the bounds (ReLU6's 0 and 6, and a pair
// of negative bounds).
func TestClip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negz := float32(math.Copysign(0, -1))
	for _, b := range [][2]float32{{0, 6}, {-2.5, -0.5}, {negz, 1}, {-1, 0}} {
		lo, hi := b[0], b[1]
		for _, n := range lengths {
			x, dy, dx := randVec(rng, n), randVec(rng, n), randVec(rng, n)
			specials := []float32{nan, 0, negz, inf, -inf, lo, hi, 6, -0.5}
			for i := range x {
				x[i] *= 4
				if i%3 == 0 {
					x[i] = specials[(i/3)%len(specials)]
				}
			}
			y := make([]float32, n)
			Clip(y, x, lo, hi)
			for i := range x {
				want := min(max(x[i], lo), hi)
				if math.Float32bits(y[i]) != math.Float32bits(want) && !(want != want && y[i] != y[i]) {
					t.Fatalf("[%v,%v] n=%d Clip(%v) = %v, want %v", lo, hi, n, x[i], y[i], want)
				}
			}
			d2 := append([]float32(nil), dx...)
			ClipGrad(dx, dy, x, lo, hi)
			for i := range x {
				want := d2[i]
				if x[i] > lo && x[i] < hi {
					want += dy[i]
				} else {
					want += 0
				}
				if math.Float32bits(dx[i]) != math.Float32bits(want) {
					t.Fatalf("[%v,%v] n=%d ClipGrad at x=%v: %v, want %v", lo, hi, n, x[i], dx[i], want)
				}
			}
		}
	}
}
