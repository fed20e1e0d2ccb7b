package data

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/nnkit/nnkit/internal/npytest"
	"github.com/nnkit/nnkit/tensor"
)

// Fuzz targets for the readers of untrusted data. Run them all with
//
//	go test ./train/data -run '^$' -fuzz '^FuzzNpz$' -fuzztime 10m
//
// (one -fuzz pattern per run), or every fuzz target of the repository with
// testdata/fuzz.sh (see the README's Safety section). Seeds are a few
// bytes each so that the engine does not stall minimizing them.

// npzBytes builds a small archive for seeds.
func npzBytes(members map[string][]byte, method uint16) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for name, data := range members {
		w, _ := z.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		w.Write(data)
	}
	z.Close()
	return b.Bytes()
}

func FuzzNpz(f *testing.F) {
	x := npytest.NpyFile("<f4", false, "(2, 1)", npytest.F32Bytes(1, 2))
	y := npytest.NpyFile("|u1", false, "(2,)", []byte{0, 1})
	f.Add(npzBytes(map[string][]byte{"x.npy": x, "y.npy": y}, zip.Store))
	f.Add(npzBytes(map[string][]byte{"x.npy": x, "y.npy": npytest.NpyFile("<f8", false, "(2, 1)", make([]byte, 16))}, zip.Deflate))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := tensor.NewNpz(bytes.NewReader(b), int64(len(b)), "f.npz")
		if err != nil {
			return
		}
		for _, k := range a.Keys() {
			if m, err := a.Read(k); err == nil {
				npytest.CheckShape(t, m.Shape, len(m.F), len(m.I))
			}
		}
		s, err := npzSet(a, "f.npz")
		if err == nil {
			checkSet(t, s)
		}
	})
}

// checkSet asserts a loaded set is consistent.
func checkSet(t *testing.T, s *Set) {
	if len(s.X) != s.N*s.SampleSize() {
		t.Fatalf("%d samples of %v but %d values", s.N, s.Shape, len(s.X))
	}
	if s.Labels != nil && len(s.Labels) != s.N || s.Labels == nil && len(s.Targets) != s.N*s.TargetWidth {
		t.Fatalf("%d samples, %d labels, %d targets of width %d", s.N, len(s.Labels), len(s.Targets), s.TargetWidth)
	}
	for i := range s.N {
		_ = s.Where(i)
	}
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("a,b,y\n1,2,0\n3,4,1\n"), "")
	f.Add([]byte("a,y\n1,cat\n\"2\",dog\n"), "y")
	f.Add([]byte("y,a\n0.5,1\n-1,2e3\n"), "y")
	f.Add([]byte("a,b\n1,x\"y\n"), "")
	f.Fuzz(func(t *testing.T, b []byte, labelCol string) {
		tt, err := parseCSV(bytes.NewReader(b), "f.csv", labelCol)
		if err != nil {
			return
		}
		tr, _, err := csvSets(tt, nil)
		if err == nil {
			checkSet(t, tr)
		}
	})
}

// FuzzNpzMembers fuzzes x's .npy bytes inside a well-formed archive
// (FuzzNpz's mutations mostly break the zip container itself). The input is
// a flags byte (bit 0: deflate; bits 1–2 choose y among class labels and
// float targets of several shapes), a signed byte by which x's size in the
// zip directory lies, then x. (One []byte holding everything is explored
// far better by Go's mutator than several arguments or a length-prefixed
// split, whose insertions and deletions desynchronize the parts.)
func FuzzNpzMembers(f *testing.F) {
	ys := [4][]byte{
		npytest.NpyFile("|u1", false, "(2,)", []byte{0, 1}),
		npytest.NpyFile("<f4", false, "(2,)", npytest.F32Bytes(0.5, -1)),
		npytest.NpyFile("<f8", false, "(2, 3)", make([]byte, 48)),
		npytest.NpyFile("<i8", false, "(2, 1)", make([]byte, 16)),
	}
	f.Add(append([]byte{0, 0}, npytest.NpyFile("<f4", false, "(2, 1)", npytest.F32Bytes(1, 2))...))
	f.Add(append([]byte{1 | 2<<1, 0xfd}, npytest.NpyFile("<f2", true, "(2, 2)", make([]byte, 8))...))
	f.Add(append([]byte{3 << 1, 0}, npytest.NpyFile("|b1", false, "(2, 3, 1)", make([]byte, 6))...))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 2 {
			return
		}
		method, lie := zip.Store, int8(in[1])
		if in[0]&1 != 0 {
			method = zip.Deflate
		}
		x, y := in[2:], ys[in[0]>>1&3]
		// x first, so that its central-directory entry is the first.
		var buf bytes.Buffer
		z := zip.NewWriter(&buf)
		for _, m := range []struct {
			name string
			data []byte
		}{{"x.npy", x}, {"y.npy", y}} {
			w, _ := z.CreateHeader(&zip.FileHeader{Name: m.name, Method: method})
			w.Write(m.data)
		}
		z.Close()
		b := buf.Bytes()
		if cd := bytes.Index(b, []byte("PK\x01\x02")); lie != 0 && cd >= 0 {
			size := binary.LittleEndian.Uint32(b[cd+24:])
			binary.LittleEndian.PutUint32(b[cd+24:], size+uint32(int32(lie)))
		}
		a, err := tensor.NewNpz(bytes.NewReader(b), int64(len(b)), "f.npz")
		if err != nil {
			return
		}
		if s, err := npzSet(a, "f.npz"); err == nil {
			checkSet(t, s)
		}
	})
}
