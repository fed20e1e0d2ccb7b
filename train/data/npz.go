package data

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/nnkit/nnkit/internal/safefile"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/tensor"
)

// loadNPZ reads arrays x and y of a NumPy archive.
func loadNPZ(path string) (*Set, error) {
	r, err := tensor.OpenNpz(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return npzSet(r, path)
}

// npzSet builds a data set from an open archive.
func npzSet(r *tensor.Npz, path string) (*Set, error) {
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
	x, err := r.Read(kx)
	if err != nil {
		return nil, fmt.Errorf("%s: array x: %w", path, err)
	}
	if x.DType != ir.Float32 {
		// integer features (token ids for an embedding): exact as float32
		// up to 2^24, which every realistic vocabulary is below
		f := make([]float32, len(x.I))
		for i, v := range x.I {
			if v > MaxExactInt || v < -MaxExactInt {
				per := max(1, prod(x.Shape[1:]))
				return nil, fmt.Errorf("%s sample %d: integer feature %d is beyond ±2^24 (%d), where float32 storage stops being exact", path, i/per, v, MaxExactInt)
			}
			f[i] = float32(v)
		}
		x.F, x.I, x.DType = f, nil, ir.Float32
	}
	y, err := r.Read(ky)
	if err != nil {
		return nil, fmt.Errorf("%s: array y: %w", path, err)
	}
	xs, ys := x.Shape, y.Shape
	if len(xs) < 1 || xs[0] == 0 {
		return nil, fmt.Errorf("%s: x has shape %s; need [samples, ...] with at least one sample", path, shapeString(xs))
	}
	n := xs[0]
	if len(ys) < 1 || ys[0] != n || len(ys) > 2 && y.DType == ir.Float32 {
		return nil, fmt.Errorf("%s: y has shape %s; need [%d], [%d, k] or integer labels per position [%d, d1, ...] to match x's %d samples", path, shapeString(ys), n, n, n, n)
	}
	s := &Set{File: path, N: n, Shape: slices.Clone(xs[1:]), X: x.F}
	if len(s.Shape) == 0 {
		s.Shape = []int{1}
	}
	s.where = func(i int) string { return fmt.Sprintf("%s sample %d", path, i) }
	var errs ir.ErrorList
	checkFinite(&errs, s, s.X, s.SampleSize(), "x")
	if y.DType != ir.Float32 {
		s.Labels = y.I
		if len(ys) >= 2 && !(len(ys) == 2 && ys[1] == 1) {
			// one class index per position: [n, H, W] for a segmentation
			// output [n, C, H, W] (one-hot or multi-label targets are float)
			s.LabelShape = slices.Clone(ys[1:])
		}
	} else {
		s.TargetWidth = 1
		if len(ys) == 2 {
			s.TargetWidth = ys[1]
		}
		s.Targets = y.F
		checkFinite(&errs, s, s.Targets, s.TargetWidth, "y")
	}
	return s, errs.Limit(maxListed).Err()
}

// openRegular opens a data file, refusing FIFOs, devices and directories
// without blocking.
func openRegular(path string) (*os.File, error) {
	f, _, err := safefile.Open(path)
	return f, err
}

// checkFinite reports every sample holding NaN or ±Inf (first offender per
// sample).
func checkFinite(errs *ir.ErrorList, s *Set, v []float32, per int, what string) {
	for i := 0; i*per < len(v); i++ {
		for j, f := range v[i*per : (i+1)*per] {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				*errs = append(*errs, fmt.Errorf("%s: %s[%d] is %v", s.Where(i), what, j, f))
				break
			}
		}
	}
}
