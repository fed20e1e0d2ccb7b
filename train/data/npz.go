package data

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npy/float16"
	"codeberg.org/sbinet/npyio/npz"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
)

// loadNPZ reads arrays x and y of a NumPy archive.
func loadNPZ(path string) (*Set, error) {
	r, err := npz.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable .npz archive: %w", path, err)
	}
	defer r.Close()
	find := func(name string) string {
		for _, k := range r.Keys() {
			if k == name || k == name+".npy" {
				return k
			}
		}
		return ""
	}
	kx, ky := find("x"), find("y")
	if kx == "" || ky == "" {
		keys := make([]string, len(r.Keys()))
		for i, k := range r.Keys() {
			keys[i] = strings.TrimSuffix(k, ".npy")
		}
		return nil, fmt.Errorf("%s: need arrays x (samples) and y (labels or targets); the archive has %s", path, strings.Join(keys, ", "))
	}
	x, err := readMember(r, kx)
	if err != nil {
		return nil, fmt.Errorf("%s: array x: %w", path, err)
	}
	y, err := readMember(r, ky)
	if err != nil {
		return nil, fmt.Errorf("%s: array y: %w", path, err)
	}
	xs, ys := x.Shape, y.Shape
	if len(xs) < 1 || xs[0] == 0 {
		return nil, fmt.Errorf("%s: x has shape %s; need [samples, ...] with at least one sample", path, shapeString(xs))
	}
	n := xs[0]
	if len(ys) < 1 || ys[0] != n || len(ys) > 2 {
		return nil, fmt.Errorf("%s: y has shape %s; need [%d] or [%d, k] to match x's %d samples", path, shapeString(ys), n, n, n)
	}
	s := &Set{File: path, N: n, Shape: slices.Clone(xs[1:]), X: x.F}
	if x.DType != ir.Float32 {
		s.X = conv(x.I, func(i int64) float32 { return float32(i) })
	}
	if len(s.Shape) == 0 {
		s.Shape = []int{1}
	}
	s.where = func(i int) string { return fmt.Sprintf("%s sample %d", path, i) }
	var errs ErrorList
	checkFinite(&errs, s, s.X, s.SampleSize(), "x")
	if y.DType != ir.Float32 {
		if len(ys) == 2 && ys[1] != 1 {
			return nil, fmt.Errorf("%s: integer y has shape %s; class labels need [%d] (one-hot or multi-label targets must be float)", path, shapeString(ys), n)
		}
		s.Labels = y.I
	} else {
		s.TargetWidth = 1
		if len(ys) == 2 {
			s.TargetWidth = ys[1]
		}
		s.Targets = y.F
		checkFinite(&errs, s, s.Targets, s.TargetWidth, "y")
	}
	return s, errs.Err()
}

// checkFinite reports every sample holding NaN or ±Inf (first offender per
// sample).
func checkFinite(errs *ErrorList, s *Set, v []float32, per int, what string) {
	for i := 0; i*per < len(v); i++ {
		for j, f := range v[i*per : (i+1)*per] {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				*errs = append(*errs, fmt.Errorf("%s: %s[%d] is %v", s.Where(i), what, j, f))
				break
			}
		}
	}
}

func readMember(r *npz.Reader, key string) (*exec.Tensor, error) {
	rc, err := r.Open(key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return ReadNpy(rc)
}

// ReadNpy reads one .npy array (a file numpy.save wrote, or a member of an
// .npz archive) as a row-major tensor: float arrays (16, 32 or 64 bits) as
// float32, integer and bool arrays as int64. Fortran-order data is
// reordered; bytes after the last value are ignored, as numpy.load does.
func ReadNpy(r io.Reader) (*exec.Tensor, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	br := bytes.NewReader(raw)
	rd, err := npy.NewReader(br)
	if err != nil {
		return nil, err
	}
	h := rd.Header.Descr
	typ := strings.Trim(h.Type, "'\"")
	size := itemSize(typ)
	if size == 0 {
		return nil, fmt.Errorf("dtype %s is not supported (want a bool, integer or float array)", typ)
	}
	// Check the data's length before decoding: npyio indexes past the end
	// of a truncated last value.
	body := raw[len(raw)-br.Len():]
	have := len(body) / size
	shape := slices.Clone(h.Shape)
	n := 1
	for _, d := range shape {
		if d < 0 || d > 0 && n > have/d {
			return nil, fmt.Errorf("shape %s needs more values than the %d the file holds", shapeString(shape), have)
		}
		n *= d
	}
	br.Reset(body[:n*size])
	var a npy.Array
	if err := rd.Read(&a); err != nil {
		return nil, fmt.Errorf("reading %s data: %v", typ, err)
	}
	t := &exec.Tensor{DType: ir.Int64, Shape: shape}
	switch d := a.Data().(type) {
	case []float16.Num:
		t.DType, t.F = ir.Float32, conv(d, func(v float16.Num) float32 { return ir.HalfToFloat32(v.Uint16()) })
	case []float32:
		t.DType, t.F = ir.Float32, d
	case []float64:
		t.DType, t.F = ir.Float32, conv(d, func(v float64) float32 { return float32(v) })
	case []int8:
		t.I = conv(d, func(v int8) int64 { return int64(v) })
	case []int16:
		t.I = conv(d, func(v int16) int64 { return int64(v) })
	case []int32:
		t.I = conv(d, func(v int32) int64 { return int64(v) })
	case []int64:
		t.I = d
	case []uint8:
		t.I = conv(d, func(v uint8) int64 { return int64(v) })
	case []uint16:
		t.I = conv(d, func(v uint16) int64 { return int64(v) })
	case []uint32:
		t.I = conv(d, func(v uint32) int64 { return int64(v) })
	case []uint64:
		t.I = conv(d, func(v uint64) int64 { return int64(v) })
	case []bool:
		t.I = conv(d, func(v bool) int64 {
			if v {
				return 1
			}
			return 0
		})
	default:
		return nil, fmt.Errorf("dtype %s is not supported (want a bool, integer or float array)", typ)
	}
	if h.Fortran && len(shape) > 1 {
		if t.DType == ir.Float32 {
			t.F = fromFortran(t.F, shape)
		} else {
			t.I = fromFortran(t.I, shape)
		}
	}
	return t, nil
}

// itemSize is the size in bytes of a bool, integer or float NumPy type
// string ("<f4", "|b1", ">i8"), 0 for any other type.
func itemSize(typ string) int {
	if typ == "" || !strings.ContainsRune("<>|=", rune(typ[0])) {
		return 0
	}
	switch typ[1:] {
	case "b1", "i1", "u1":
		return 1
	case "i2", "u2", "f2":
		return 2
	case "i4", "u4", "f4":
		return 4
	case "i8", "u8", "f8":
		return 8
	}
	return 0
}

func conv[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// fromFortran reorders column-major data into row-major order.
func fromFortran[T any](in []T, shape []int) []T {
	out := make([]T, len(in))
	idx := make([]int, len(shape))
	for k := range in {
		// k is the row-major position; find its column-major one.
		rem := k
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d] = rem % shape[d]
			rem /= shape[d]
		}
		pos, stride := 0, 1
		for d := 0; d < len(shape); d++ {
			pos += idx[d] * stride
			stride *= shape[d]
		}
		out[k] = in[pos]
	}
	return out
}
