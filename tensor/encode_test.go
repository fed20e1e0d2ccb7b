package tensor

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"

	"github.com/nnkit/nnkit/ir"
)

// What EncodeNpy writes is checked against another reader (npyio's, which
// follows NumPy's format specification) and against ReadNpy: the dtype
// and shape in the header, the values, and the header padded so that the
// data starts at a multiple of 64 bytes, as NumPy writes and expects.
func TestEncodeNpy(t *testing.T) {
	cases := []struct {
		t     *Tensor
		descr string
		want  any // what npyio reads into a slice of the matching type
	}{
		{&Tensor{DType: ir.Float32, Shape: []int{2, 3}, F: []float32{1, -2, 0.5, 3e38, -0, 7}}, "<f4", []float32{1, -2, 0.5, 3e38, -0, 7}},
		{&Tensor{DType: ir.Float32, Shape: []int{}, F: []float32{4.25}}, "<f4", []float32{4.25}},
		{&Tensor{DType: ir.Int64, Shape: []int{4}, I: []int64{0, -1, 1 << 40, 7}}, "<i8", []int64{0, -1, 1 << 40, 7}},
		{&Tensor{DType: ir.Bool, Shape: []int{1, 3}, I: []int64{1, 0, 1}}, "|b1", []bool{true, false, true}},
	}
	for _, c := range cases {
		b, err := EncodeNpy(c.t)
		if err != nil {
			t.Fatalf("%v %v: %v", c.t.DType, c.t.Shape, err)
		}
		if hdr := 10 + int(binary.LittleEndian.Uint16(b[8:])); hdr%64 != 0 {
			t.Errorf("%v %v: data starts at byte %d, not a multiple of 64", c.t.DType, c.t.Shape, hdr)
		}
		r, err := npy.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%v %v: npyio: %v", c.t.DType, c.t.Shape, err)
		}
		if d := r.Header.Descr; strings.Trim(d.Type, "'") != c.descr || d.Fortran || !slices.Equal(d.Shape, c.t.Shape) {
			t.Errorf("%v %v: npyio reads the header as %+v", c.t.DType, c.t.Shape, d)
		}
		got := reflect.New(reflect.TypeOf(c.want))
		if err := r.Read(got.Interface()); err != nil {
			t.Fatalf("%v %v: npyio: %v", c.t.DType, c.t.Shape, err)
		}
		if !reflect.DeepEqual(got.Elem().Interface(), c.want) {
			t.Errorf("%v %v: npyio reads %v, want %v", c.t.DType, c.t.Shape, got.Elem().Interface(), c.want)
		}
		back, err := ReadNpy(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%v %v: ReadNpy: %v", c.t.DType, c.t.Shape, err)
		}
		wantType := c.t.DType
		if wantType == ir.Bool {
			wantType = ir.Int64 // ReadNpy returns bools as int64 0/1
		}
		if back.DType != wantType || !slices.Equal(back.Shape, c.t.Shape) || !slices.Equal(back.F, c.t.F) || !slices.Equal(back.I, c.t.I) {
			t.Errorf("%v %v: ReadNpy gives %+v", c.t.DType, c.t.Shape, back)
		}
	}
}

// EncodeNpz writes one <name>.npy member per array, in the order given,
// that npyio's archive reader and NewNpz both read back.
func TestEncodeNpz(t *testing.T) {
	x := &Tensor{DType: ir.Float32, Shape: []int{2, 2}, F: []float32{1, 2, 3, 4}}
	y := &Tensor{DType: ir.Int64, Shape: []int{2}, I: []int64{0, 1}}
	b, err := EncodeNpz([]string{"y", "x"}, map[string]*Tensor{"x": x, "y": y})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewNpz(bytes.NewReader(b), int64(len(b)), "out.npz")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Keys(), []string{"y.npy", "x.npy"}) {
		t.Errorf("members %v, want y.npy, x.npy", a.Keys())
	}
	gx, err := a.Read("x.npy")
	if err != nil || !slices.Equal(gx.F, x.F) || !slices.Equal(gx.Shape, x.Shape) {
		t.Errorf("x: %+v, %v", gx, err)
	}
	var fx []float32
	var iy []int64
	if err := npz.Read(bytes.NewReader(b), "x.npy", &fx); err != nil || !slices.Equal(fx, x.F) {
		t.Errorf("npyio x: %v, %v", fx, err)
	}
	if err := npz.Read(bytes.NewReader(b), "y.npy", &iy); err != nil || !slices.Equal(iy, y.I) {
		t.Errorf("npyio y: %v, %v", iy, err)
	}
}
