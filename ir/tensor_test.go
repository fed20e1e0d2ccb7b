package ir

import (
	"math"
	"testing"
)

func TestHalfConversions(t *testing.T) {
	// Every finite half value converts to float32 and back unchanged.
	for h := 0; h < 1<<16; h++ {
		f := HalfToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			if exp := (h >> 10) & 0x1F; exp != 0x1F {
				t.Fatalf("%#04x: NaN from a finite half", h)
			}
			continue
		}
		if back := Float32ToHalf(f); back != uint16(h) {
			t.Fatalf("%#04x → %g → %#04x", h, f, back)
		}
	}
	// Known values and round-to-nearest-even.
	cases := []struct {
		f float32
		h uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {1e-8, 0x0000},
		{5.9604645e-08, 0x0001}, {float32(math.Inf(-1)), 0xfc00},
		{1 + 1.0/2048, 0x3c00}, // halfway between 1 and next half: ties to even (1)
		{1 + 3.0/2048, 0x3c02}, // halfway between 1+1/1024 and 1+2/1024: ties to even
	}
	for _, c := range cases {
		if got := Float32ToHalf(c.f); got != c.h {
			t.Errorf("Float32ToHalf(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
}

func TestNumElements(t *testing.T) {
	if n, err := NumElements([]int64{2, 3, 4}); err != nil || n != 24 {
		t.Fatal(n, err)
	}
	if n, err := NumElements(nil); err != nil || n != 1 {
		t.Fatal("scalar", n, err)
	}
	if n, err := NumElements([]int64{0, 1 << 62, 1 << 62}); err != nil || n != 0 {
		t.Fatal("zero dim", n, err)
	}
	if _, err := NumElements([]int64{1 << 32, 1 << 32}); err == nil {
		t.Fatal("overflow accepted")
	}
	if _, err := NumElements([]int64{2, -1}); err == nil {
		t.Fatal("negative accepted")
	}
}

func TestTensorAccessors(t *testing.T) {
	w := NewFloat32("w", []int64{2, 2}, []float32{1, -2, 3.5, 0})
	f, err := w.Float32s()
	if err != nil || f[2] != 3.5 {
		t.Fatal(f, err)
	}
	if _, err := w.Int64s(); err == nil {
		t.Fatal("Int64s of a float tensor accepted")
	}
	i := NewInt64("s", []int64{3}, []int64{-1, 0, 7})
	got, err := i.Int64s()
	if err != nil || got[0] != -1 || got[2] != 7 {
		t.Fatal(got, err)
	}
	short := &Tensor{Name: "bad", DType: Float32, Dims: []int64{4}, Raw: make([]byte, 8)}
	if _, err := short.Float32s(); err == nil {
		t.Fatal("short data accepted")
	}
	if err := w.SetFloat32s([]float32{1}); err == nil {
		t.Fatal("wrong length accepted")
	}
}
