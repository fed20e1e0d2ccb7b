package data

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/internal/safefile"
	"github.com/nnkit/nnkit/ir"
)

// loadNPZ reads arrays x and y of a NumPy archive.
func loadNPZ(path string) (*Set, error) {
	r, err := OpenNpz(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return npzSet(r, path)
}

// npzSet builds a data set from an open archive.
func npzSet(r *Npz, path string) (*Set, error) {
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
	x, err := r.read(kx, false)
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
	y, err := r.read(ky, false)
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
	var errs ErrorList
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
	return s, errs.Err()
}

// Npz is an open NumPy archive (numpy.savez / savez_compressed: a zip of
// .npy members, stored or deflated).
type Npz struct {
	size    int64 // of the archive
	f       *os.File
	members map[string]*zip.File
	keys    []string
}

// OpenNpz opens an .npz archive, refusing anything but a regular file.
func OpenNpz(path string) (*Npz, error) {
	f, st, err := safefile.Open(path)
	if err != nil {
		return nil, err
	}
	a, err := newNpz(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	a.f = f
	return a, nil
}

func newNpz(r io.ReaderAt, size int64, path string) (*Npz, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable .npz archive: %v", path, err)
	}
	a := &Npz{size: size, members: map[string]*zip.File{}}
	for _, m := range z.File {
		if _, dup := a.members[m.Name]; dup {
			return nil, fmt.Errorf("%s: member %q appears twice", path, m.Name)
		}
		a.members[m.Name] = m
		a.keys = append(a.keys, m.Name)
	}
	return a, nil
}

// Keys lists the members in archive order ("x.npy", "y.npy").
func (a *Npz) Keys() []string { return a.keys }

// Close closes the archive file.
func (a *Npz) Close() error {
	if a.f == nil {
		return nil
	}
	return a.f.Close()
}

// Read reads member key as ReadNpy does.
func (a *Npz) Read(key string) (*exec.Tensor, error) { return a.read(key, false) }

// read reads one member. The member's size in the zip directory must be
// exactly the .npy header plus the data its shape and dtype describe; only
// those bytes are inflated (a zip bomb is refused by its directory entry,
// before inflating anything), and the zip reader checks that the stream
// neither exceeds that size nor fails its CRC.
func (a *Npz) read(key string, asFloat bool) (*exec.Tensor, error) {
	m := a.members[key]
	if m == nil {
		return nil, fmt.Errorf("no member %q", key)
	}
	if m.Method != zip.Store && m.Method != zip.Deflate {
		return nil, fmt.Errorf("member %s: compression method %d is not supported (numpy.savez stores, savez_compressed deflates)", key, m.Method)
	}
	// The compressed bytes bound what the member can really hold, so that
	// the data can be allocated at its size before inflating: a directory
	// entry lying about the size of a small member is caught here.
	limit := m.CompressedSize64
	if m.Method == zip.Deflate {
		limit *= maxDeflateRatio
	}
	if m.CompressedSize64 > uint64(a.size) || m.UncompressedSize64 > limit {
		return nil, fmt.Errorf("member %s: %d compressed bytes cannot hold the %d bytes the archive directory claims; the archive is damaged or crafted",
			key, m.CompressedSize64, m.UncompressedSize64)
	}
	rc, err := m.Open()
	if err != nil {
		return nil, fmt.Errorf("member %s: %v", key, err)
	}
	defer rc.Close()
	h, err := readNpyHeader(rc)
	if err != nil {
		return nil, err
	}
	size := m.UncompressedSize64
	if want := uint64(h.hdrLen) + uint64(h.dataBytes()); size != want {
		return nil, fmt.Errorf("member %s: the archive says it holds %d bytes, but its header describes %d (shape %s of %s); the archive is damaged or crafted",
			key, size, want, shapeString(h.shape), h.descr)
	}
	t, err := h.read(rc, asFloat, true) // the size was checked above
	if err != nil {
		return nil, err
	}
	// Reading past the end makes the zip reader verify the CRC.
	var one [1]byte
	if n, err := rc.Read(one[:]); n != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = errors.New("more data than the archive directory says")
		}
		return nil, fmt.Errorf("member %s: %v", key, err)
	}
	return t, nil
}

// openRegular opens a data file, refusing FIFOs, devices and directories
// without blocking.
func openRegular(path string) (*os.File, error) {
	f, _, err := safefile.Open(path)
	return f, err
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
