package data

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/tensor"
)

// Set is an in-memory data set: N samples of Shape, row-major float32, with
// either integer Labels (class indices) or float Targets.
type Set struct {
	// File names where the samples came from, for messages.
	File  string
	N     int
	Shape []int // one sample's shape
	X     []float32
	// Labels holds one class index per sample (or LabelWidth() per sample
	// when LabelShape is set), or is nil when the targets are floats.
	Labels []int64
	// LabelShape is the per-sample shape of position-wise labels ([H, W]
	// for segmentation masks, [T] for token classification); nil: one
	// label per sample.
	LabelShape []int
	// Targets holds TargetWidth floats per sample when Labels is nil.
	Targets     []float32
	TargetWidth int
	// Classes names the classes (image folders, CSV labels that are not
	// numbers), or is nil.
	Classes []string

	// where locates sample i in its file ("line 12", "sample 7", a path).
	where func(i int) string
}

// MaxExactInt is the largest integer magnitude float32 holds exactly
// (2^24): the bound on integer features, which are stored as float32.
const MaxExactInt = 1 << 24

// MaxArrayElements is the largest array read from any data file: .npy and
// .npz arrays (tensor.MaxArrayElements, checked by their reader), CSV
// tables and image sets alike.
const MaxArrayElements = tensor.MaxArrayElements

// LabelWidth is the number of labels per sample (1 unless LabelShape).
func (s *Set) LabelWidth() int {
	if s.LabelShape == nil {
		return 1
	}
	return prod(s.LabelShape)
}

// CheckIntegers checks that every feature is an integer exactly held by
// float32, for a model whose input is an integer tensor (token ids).
func (s *Set) CheckIntegers() error {
	var errs ir.ErrorList
	sz := s.SampleSize()
	for i, v := range s.X {
		if v != float32(math.Trunc(float64(v))) || v > MaxExactInt || v < -MaxExactInt {
			errs = append(errs, fmt.Errorf("%s: feature %d is %v; the model's input is an integer tensor, so every feature must be a whole number within ±2^24", s.Where(i/sz), i%sz, v))
		}
	}
	return errs.Limit(maxListed).Err()
}

// SampleSize is the number of elements of one sample.
func (s *Set) SampleSize() int { return prod(s.Shape) }

// Where names sample i's origin for messages: "data/train.csv line 14".
func (s *Set) Where(i int) string {
	if s.where == nil {
		return fmt.Sprintf("%s sample %d", s.File, i)
	}
	return s.where(i)
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func shapeString(s []int) string { return ir.DimsString(s) }

// Reshape fits the samples to a model input's per-sample shape (the input
// shape without its batch dimension; −1 marks an unknown dimension). When
// every dimension is known the element counts must agree (64 features →
// [1,8,8]); unknown dimensions are taken from the data when the ranks
// agree, or inferred when only one is unknown.
func (s *Set) Reshape(model []int) error {
	have := s.SampleSize()
	unknown := 0
	known := 1
	for _, d := range model {
		if d < 0 {
			unknown++
		} else {
			known *= d
		}
	}
	mismatch := func() error {
		return fmt.Errorf("%s: samples of shape %s (%d values) do not fit the model's input %s (batch dimension left out)",
			s.File, shapeString(s.Shape), have, shapeString(model))
	}
	switch {
	case unknown == 0:
		if known != have {
			return mismatch()
		}
		s.Shape = slices.Clone(model)
	case len(model) == len(s.Shape) && func() bool {
		for i, d := range model {
			if d >= 0 && d != s.Shape[i] {
				return false
			}
		}
		return true
	}():
		// the data's own shape fills the unknown dimensions
	case unknown == 1 && known > 0 && have%known == 0:
		shape := slices.Clone(model)
		for i, d := range shape {
			if d < 0 {
				shape[i] = have / known
			}
		}
		s.Shape = shape
	default:
		return mismatch()
	}
	return nil
}

// maxListed is how many problems of a data set an error lists before
// "... and N more".
const maxListed = 10

// CheckClasses checks that every label is a class index in [0, k): the
// model has k outputs.
func (s *Set) CheckClasses(k int) error { return s.CheckLabels(k, false, 0) }

// CheckLabels is CheckClasses where, with ignore, the label ignoreIndex is
// also accepted (cross-entropy's ignore_index).
func (s *Set) CheckLabels(k int, ignore bool, ignoreIndex int64) error {
	var errs ir.ErrorList
	w := s.LabelWidth()
	for j, y := range s.Labels {
		i := j / w
		if ignore && y == ignoreIndex {
			continue
		}
		if y < 0 || y >= int64(k) {
			if w > 1 {
				errs = append(errs, fmt.Errorf("%s: label %d at position %d is out of range for %d classes (0..%d)", s.Where(i), y, j%w, k, k-1))
				continue
			}
			name := ""
			if s.Classes != nil && y >= 0 && y < int64(len(s.Classes)) {
				name = fmt.Sprintf(" (class %q)", s.Classes[y])
			}
			errs = append(errs, fmt.Errorf("%s: label %d%s is out of range for a model with %d outputs (classes 0..%d)",
				s.Where(i), y, name, k, k-1))
		}
	}
	return errs.Limit(maxListed).Err()
}

// CheckBinary checks that every label is 0 or 1 (binary cross-entropy on a
// one-output model).
func (s *Set) CheckBinary() error {
	var errs ir.ErrorList
	for i, y := range s.Labels {
		if y != 0 && y != 1 {
			errs = append(errs, fmt.Errorf("%s: label %d is not 0 or 1, as binary cross-entropy on a one-output model needs", s.Where(i), y))
		}
	}
	return errs.Limit(maxListed).Err()
}

// IsClassification reports whether the targets are class indices.
func (s *Set) IsClassification() bool { return s.Labels != nil }

// Subset returns the samples at idx, in that order.
func (s *Set) Subset(idx []int) *Set {
	sz := s.SampleSize()
	out := &Set{File: s.File, N: len(idx), Shape: slices.Clone(s.Shape), TargetWidth: s.TargetWidth, Classes: s.Classes, LabelShape: s.LabelShape}
	out.X = make([]float32, 0, len(idx)*sz)
	orig := make([]int, len(idx))
	lw := s.LabelWidth()
	for j, i := range idx {
		out.X = append(out.X, s.X[i*sz:(i+1)*sz]...)
		if s.Labels != nil {
			out.Labels = append(out.Labels, s.Labels[i*lw:(i+1)*lw]...)
		} else {
			out.Targets = append(out.Targets, s.Targets[i*s.TargetWidth:(i+1)*s.TargetWidth]...)
		}
		orig[j] = i
	}
	parent := s.Where
	out.where = func(i int) string { return parent(orig[i]) }
	return out
}

// Split holds out round(frac·N) samples (at least one when frac > 0)
// chosen by a permutation seeded with seed; both parts keep file order.
func (s *Set) Split(frac float64, seed uint64) (train, val *Set, err error) {
	if frac <= 0 || frac >= 1 {
		return nil, nil, fmt.Errorf("validation split %v is not in (0, 1)", frac)
	}
	nVal := int(frac*float64(s.N) + 0.5)
	nVal = max(nVal, 1)
	if nVal >= s.N {
		return nil, nil, fmt.Errorf("%s: %d samples are too few to hold out %v of them for validation", s.File, s.N, frac)
	}
	perm := rand.New(rand.NewPCG(seed, 0x76616c)).Perm(s.N) // "val"
	v := slices.Clone(perm[:nVal])
	t := slices.Clone(perm[nVal:])
	slices.Sort(v)
	slices.Sort(t)
	return s.Subset(t), s.Subset(v), nil
}

// Order is the sample order of one epoch: file order, or a permutation
// seeded by (seed, epoch) — a new shuffle every epoch, the same for the
// same seed.
func Order(n int, shuffle bool, seed uint64, epoch int) []int {
	if !shuffle {
		o := make([]int, n)
		for i := range o {
			o[i] = i
		}
		return o
	}
	return rand.New(rand.NewPCG(seed, uint64(epoch))).Perm(n)
}

// Batch is a slice of consecutive samples of an epoch's order. Its slices
// are reused: they are valid until the iteration continues.
type Batch struct {
	N       int
	X       []float32 // N samples
	Labels  []int64   // N·LabelWidth labels, or nil
	Targets []float32 // N·TargetWidth targets, or nil
}

// Batches yields the samples in order, size at a time (the last batch may
// be smaller, as PyTorch's DataLoader with drop_last=False).
func (s *Set) Batches(size int, order []int) iter.Seq[Batch] {
	if size < 1 {
		panic("data: batch size < 1")
	}
	return func(yield func(Batch) bool) {
		sz := s.SampleSize()
		w := s.TargetWidth
		lw := s.LabelWidth()
		var b Batch
		for start := 0; start < len(order); start += size {
			idx := order[start:min(start+size, len(order))]
			b.N = len(idx)
			b.X = b.X[:0]
			b.Labels = b.Labels[:0]
			b.Targets = b.Targets[:0]
			for _, i := range idx {
				b.X = append(b.X, s.X[i*sz:(i+1)*sz]...)
				if s.Labels != nil {
					b.Labels = append(b.Labels, s.Labels[i*lw:(i+1)*lw]...)
				} else {
					b.Targets = append(b.Targets, s.Targets[i*w:(i+1)*w]...)
				}
			}
			if s.Labels == nil {
				b.Labels = nil
			}
			if !yield(b) {
				return
			}
		}
	}
}

// errNoData is wrapped by Load's "nothing found" error.
var errNoData = errors.New("no training data found")
