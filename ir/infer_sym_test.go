package ir

import (
	"math"
	"slices"
	"testing"
)

func TestParseSizeCanonical(t *testing.T) {
	cases := []struct{ in, want string }{
		{"batch", "batch"},
		{"batch*4", "4*batch"},
		{"4*batch", "4*batch"},
		{"seq*batch", "batch*seq"},
		{"2*seq*3*batch", "6*batch*seq"},
		{"batch*batch", "batch*batch"},
		{"12", "12"},
		{"2*3", "6"},
		{"0*batch", "0"},
		{"sequence length", "sequence length"}, // not a product: one opaque symbol
		{"n+1", "n+1"},
		{"a**2", "a**2"}, // an empty factor: opaque
		{"-1*batch", "-1*batch"},
	}
	for _, c := range cases {
		if got := parseSize(c.in).String(); got != c.want {
			t.Errorf("parseSize(%q) = %q, want %q", c.in, got, c.want)
		}
		// The canonical form reads back as itself.
		if got := parseSize(c.want).String(); got != c.want {
			t.Errorf("parseSize(%q) = %q: canonical form does not round-trip", c.want, got)
		}
	}
}

func TestSizeArithmetic(t *testing.T) {
	b, s := parseSize("batch"), parseSize("seq")
	four := cst(4)
	check := func(what string, got sdim, want string) {
		t.Helper()
		if got.String() != want {
			t.Errorf("%s = %s, want %s", what, got, want)
		}
	}
	check("4·batch", mulSize(four, b), "4*batch")
	check("batch·4·seq", mulSize(mulSize(b, four), s), "4*batch*seq")
	check("batch·batch", mulSize(b, b), "batch*batch")
	check("0·batch", mulSize(cst(0), b), "0")
	check("?·0", mulSize(unknownSize, cst(0)), "0")
	check("?·batch", mulSize(unknownSize, b), "?")
	check("8·batch / 4", divSize(cst(8).mul(b), four), "2*batch")
	check("8·batch / batch", divSize(cst(8).mul(b), b), "8")
	check("batch·seq / seq", divSize(mulSize(b, s), s), "batch")
	check("6·batch / 4 (not exact)", divSize(cst(6).mul(b), four), "?")
	check("batch / seq", divSize(b, s), "?")
	check("4 / batch", divSize(four, b), "?")
	check("x / 0", divSize(four, cst(0)), "?")
	check("batch + batch", addSize(b, b), "2*batch")
	check("batch + 3", addSize(b, cst(3)), "?")
	check("batch + 0", addSize(b, cst(0)), "batch")
	check("3·batch − batch", subSize(cst(3).mul(b), b), "2*batch")
	check("batch − batch", subSize(b, b), "0")
	check("−7 trunc/ 2", truncDivSize(cst(-7), cst(2)), "-3")
	check("7 trunc/ −2", truncDivSize(cst(7), cst(-2)), "-3")
	check("−7 floor/ 2", floorDivConst(cst(-7), 2), "-4")
	check("−7 mod 3", modSize(cst(-7), cst(3)), "2")
	check("7 mod −3", modSize(cst(7), cst(-3)), "-2")
	check("6·batch mod 3", modSize(cst(6).mul(b), cst(3)), "0")
	check("batch mod 3", modSize(b, cst(3)), "?")
	// floor((a + c) / d) on monomials: exact only when d | coefficient and 0 ≤ c < d.
	check("floor((4·batch + 1) / 2)", floorDivPlus(cst(4).mul(b), 1, 2), "2*batch")
	check("floor((4·batch + 2) / 2)", floorDivPlus(cst(4).mul(b), 2, 2), "?")
	check("floor((3·batch + 1) / 2)", floorDivPlus(cst(3).mul(b), 1, 2), "?")
	check("floor((9 + 1) / 2)", floorDivPlus(cst(9), 1, 2), "5")
	check("floor((−3 + 0) / 2)", floorDivPlus(cst(-3), 0, 2), "-2")
	// Overflow never wraps.
	check("huge · huge", mulSize(cst(math.MaxInt64/2), cst(3)), "?")
	check("huge + huge", addSize(cst(math.MaxInt64), cst(1)), "?")
	check("−MinInt64", negSize(cst(math.MinInt64)), "?")
	check("MinInt64 / −1", truncDivSize(cst(math.MinInt64), cst(-1)), "?")
}

// mul is a test shorthand.
func (a sdim) mul(b sdim) sdim { return mulSize(a, b) }

func TestSizeComparisons(t *testing.T) {
	b := parseSize("batch")
	b4 := parseSize("4*batch")
	cases := []struct {
		a, b sdim
		eq   int
		le   bool
	}{
		{cst(3), cst(3), 1, true},
		{cst(3), cst(4), 0, true},
		{b, b, 1, true},
		{b, b4, 0, true},        // batch ≥ 1, so 4·batch > batch
		{cst(-1), b, 0, true},   // sizes are never negative
		{cst(1), b, -1, true},   // batch may be 1
		{cst(3), b4, 0, true},   // 4·batch ≥ 4
		{cst(8), b4, -1, false}, // batch = 2
		{cst(6), b4, 0, false},  // not a multiple of 4
		{b4, cst(100), -1, false},
		{b, parseSize("seq"), -1, false},
		{unknownSize, cst(1), -1, false},
	}
	for _, c := range cases {
		if got := sizeEqual(c.a, c.b); got != c.eq {
			t.Errorf("sizeEqual(%s, %s) = %d, want %d", c.a, c.b, got, c.eq)
		}
		if got := sizeEqual(c.b, c.a); got != c.eq {
			t.Errorf("sizeEqual(%s, %s) = %d, want %d (symmetric)", c.b, c.a, got, c.eq)
		}
		if got := sizeLE(c.a, c.b); got != c.le {
			t.Errorf("sizeLE(%s, %s) = %v, want %v", c.a, c.b, got, c.le)
		}
	}
}

func TestDimHelpers(t *testing.T) {
	env := map[string]int64{"batch": 3, "seq": 7}
	for _, c := range []struct {
		d    Dim
		want int64
		ok   bool
	}{
		{DimOf(5), 5, true},
		{SymDim("batch"), 3, true},
		{SymDim("4*batch"), 12, true},
		{SymDim("batch*seq"), 21, true},
		{SymDim("width"), 0, false},
		{UnknownDim(), 0, false},
	} {
		got, ok := c.d.Eval(env)
		if got != c.want || ok != c.ok {
			t.Errorf("%s.Eval = %d, %v; want %d, %v", c.d, got, ok, c.want, c.ok)
		}
	}
	s := Shape{SymDim("batch"), DimOf(16), DimOf(4), DimOf(4)}
	if got := s.NumElements(); got.Param != "256*batch" {
		t.Errorf("NumElements(%s) = %s, want 256*batch", s, got)
	}
	if got, ok := s.Eval(env); !ok || !slices.Equal(got, []int64{3, 16, 4, 4}) {
		t.Errorf("Eval(%s) = %v, %v", s, got, ok)
	}
	if got := (Shape{}).NumElements(); !got.Known() || got.Value != 1 {
		t.Errorf("scalar NumElements = %s, want 1", got)
	}
	if got := Shape(nil).NumElements(); got.Known() || got.Param != "" {
		t.Errorf("unknown-rank NumElements = %s, want unknown", got)
	}
	if got := (Shape{SymDim("seq"), SymDim("2*batch"), DimOf(3)}).Symbols(); !slices.Equal(got, []string{"batch", "seq"}) {
		t.Errorf("Symbols = %v", got)
	}
	if got := MulDims(SymDim("batch"), DimOf(4), SymDim("seq")); got.Param != "4*batch*seq" {
		t.Errorf("MulDims = %s", got)
	}
	if got, ok := DivDim(SymDim("64*batch"), SymDim("batch")); !ok || !got.Known() || got.Value != 64 {
		t.Errorf("DivDim(64*batch, batch) = %s, %v", got, ok)
	}
	if _, ok := DivDim(SymDim("batch"), DimOf(2)); ok {
		t.Error("DivDim(batch, 2) should not be exact")
	}
	if got := CanonicalDim(Dim{Value: -1, Param: "batch*4", Denotation: "DATA_BATCH"}); got.Param != "4*batch" || got.Denotation != "DATA_BATCH" {
		t.Errorf("CanonicalDim = %+v", got)
	}
	if got := CanonicalDim(Dim{Value: -1, Param: "2*3"}); !got.Known() || got.Value != 6 {
		t.Errorf("CanonicalDim(2*3) = %+v", got)
	}
}

func TestSliceDimSymbolic(t *testing.T) {
	b := parseSize("batch")
	b4 := parseSize("4*batch")
	big := cst(math.MaxInt64)
	cases := []struct {
		d, start, end sdim
		step          int64
		want          string
	}{
		{b, cst(0), big, 1, "batch"}, // x[:]
		{b, cst(0), b, 1, "batch"},   // x[0:n]
		{b, cst(-1), big, 1, "1"},    // x[-1:]: batch ≥ 1
		{b4, cst(-3), big, 1, "3"},   // 4·batch ≥ 4 ≥ 3
		{b, cst(-3), big, 1, "?"},    // batch may be 2
		{b, cst(1), big, 1, "?"},     // batch − 1: not a monomial
		{b4, b, parseSize("2*batch"), 1, "batch"},
		{b4, cst(0), parseSize("2*batch"), 1, "2*batch"},
		{b4, cst(0), big, 2, "2*batch"},
		{b, cst(-1), cst(-big.k), -1, "batch"}, // flip
		{b, cst(-3), cst(-1), 1, "?"},          // x[-3:-1] is 2 only when batch ≥ 3
	}
	for _, c := range cases {
		if got := sliceDim(c.d, c.start, c.end, c.step); got.String() != c.want {
			t.Errorf("slice %s[%s:%s:%d] = %s, want %s", c.d, c.start, c.end, c.step, got, c.want)
		}
	}
}
