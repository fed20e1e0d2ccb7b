package data

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"
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
	x, xs, _, err := readArray(r, kx)
	if err != nil {
		return nil, fmt.Errorf("%s: array x: %w", path, err)
	}
	y, ys, yint, err := readArray(r, ky)
	if err != nil {
		return nil, fmt.Errorf("%s: array y: %w", path, err)
	}
	if len(xs) < 1 || xs[0] == 0 {
		return nil, fmt.Errorf("%s: x has shape %s; need [samples, ...] with at least one sample", path, shapeString(xs))
	}
	n := xs[0]
	if len(ys) < 1 || ys[0] != n || len(ys) > 2 {
		return nil, fmt.Errorf("%s: y has shape %s; need [%d] or [%d, k] to match x's %d samples", path, shapeString(ys), n, n, n)
	}
	s := &Set{File: path, N: n, Shape: slices.Clone(xs[1:]), X: toF32(x)}
	if len(s.Shape) == 0 {
		s.Shape = []int{1}
	}
	s.where = func(i int) string { return fmt.Sprintf("%s sample %d", path, i) }
	var errs ErrorList
	checkFinite(&errs, s, s.X, s.SampleSize(), "x")
	if yint {
		if len(ys) == 2 && ys[1] != 1 {
			return nil, fmt.Errorf("%s: integer y has shape %s; class labels need [%d] (one-hot or multi-label targets must be float)", path, shapeString(ys), n)
		}
		s.Labels = y.([]int64)
	} else {
		s.TargetWidth = 1
		if len(ys) == 2 {
			s.TargetWidth = ys[1]
		}
		s.Targets = toF32(y)
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

// readArray reads one array as float64 (x) or int64 (labels). It returns
// the data ([]float64 or []int64), the C-order shape and whether the dtype
// is integer or bool.
func readArray(r *npz.Reader, key string) (any, []int, bool, error) {
	var a npy.Array
	if err := r.Read(key, &a); err != nil {
		h := r.Header(key)
		if h != nil {
			return nil, nil, false, fmt.Errorf("dtype %s is not supported (want a bool, integer or float array): %w", h.Descr.Type, err)
		}
		return nil, nil, false, err
	}
	shape := slices.Clone(a.Shape())
	var (
		f     []float64
		ints  []int64
		isInt = true
	)
	switch d := a.Data().(type) {
	case []float32:
		f, isInt = conv(d, func(v float32) float64 { return float64(v) }), false
	case []float64:
		f, isInt = d, false
	case []int8:
		ints = conv(d, func(v int8) int64 { return int64(v) })
	case []int16:
		ints = conv(d, func(v int16) int64 { return int64(v) })
	case []int32:
		ints = conv(d, func(v int32) int64 { return int64(v) })
	case []int64:
		ints = d
	case []uint8:
		ints = conv(d, func(v uint8) int64 { return int64(v) })
	case []uint16:
		ints = conv(d, func(v uint16) int64 { return int64(v) })
	case []uint32:
		ints = conv(d, func(v uint32) int64 { return int64(v) })
	case []uint64:
		ints = conv(d, func(v uint64) int64 { return int64(v) })
	case []bool:
		ints = conv(d, func(v bool) int64 {
			if v {
				return 1
			}
			return 0
		})
	default:
		return nil, nil, false, fmt.Errorf("dtype %s is not supported (want a bool, integer or float array)", a.Descr())
	}
	if a.Fortran() && len(shape) > 1 {
		if isInt {
			ints = fromFortran(ints, shape)
		} else {
			f = fromFortran(f, shape)
		}
	}
	if isInt {
		return ints, shape, true, nil
	}
	return f, shape, false, nil
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

// toF32 converts x's values (float64, or int64 for integer arrays) to
// float32.
func toF32(v any) []float32 {
	switch d := v.(type) {
	case []float64:
		return conv(d, func(f float64) float32 { return float32(f) })
	case []int64:
		return conv(d, func(i int64) float32 { return float32(i) })
	}
	panic(fmt.Sprintf("data: toF32 of %T", v))
}
