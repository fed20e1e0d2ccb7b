package tensor

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nnkit/nnkit/internal/safefile"
	"github.com/nnkit/nnkit/ir"
)

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
	a, err := NewNpz(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	a.f = f
	return a, nil
}

// NewNpz reads the directory of an .npz archive of size bytes held by r
// (in memory, or a file the caller opened); path names it in errors. The
// members are read by Read, each checked as OpenNpz's are.
func NewNpz(r io.ReaderAt, size int64, path string) (*Npz, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable .npz archive: %w", path, err)
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

// Read reads member key ("x.npy") as ReadNpy does. The member's size in the
// zip directory must be exactly the .npy header plus the data its shape and
// dtype describe; only those bytes are inflated (a zip bomb is refused by
// its directory entry, before inflating anything), and the zip reader
// checks that the stream neither exceeds that size nor fails its CRC.
func (a *Npz) Read(key string) (*Tensor, error) {
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
		return nil, fmt.Errorf("member %s: %w", key, err)
	}
	defer rc.Close()
	h, err := readNpyHeader(rc)
	if err != nil {
		return nil, err
	}
	size := m.UncompressedSize64
	if want := uint64(h.hdrLen) + uint64(h.dataBytes()); size != want {
		return nil, fmt.Errorf("member %s: the archive says it holds %d bytes, but its header describes %d (shape %s of %s); the archive is damaged or crafted",
			key, size, want, ir.DimsString(h.shape), h.descr)
	}
	t, err := h.read(rc, true) // the size was checked above
	if err != nil {
		return nil, err
	}
	// Reading past the end makes the zip reader verify the CRC.
	var one [1]byte
	if n, err := rc.Read(one[:]); n != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = errors.New("more data than the archive directory says")
		}
		return nil, fmt.Errorf("member %s: %w", key, err)
	}
	return t, nil
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

// EncodeNpz encodes arrays[name] as <name>.npy for every name, in that
// order, in a zip archive of stored members (what numpy.savez writes).
func EncodeNpz(names []string, arrays map[string]*Tensor) ([]byte, error) {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, name := range names {
		data, err := EncodeNpy(arrays[name])
		if err != nil {
			return nil, err
		}
		w, err := z.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
