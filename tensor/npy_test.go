package tensor

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/nnkit/nnkit/internal/npytest"
)

// Point 3 of issue 9: .npy headers are validated and capped before anything
// is read or allocated — garbage headers (which made npyio slice out of
// range) and a v2 header length of 0xFFFFFFF0 (a 4 GiB allocation) are
// errors.
func TestNpyHostileHeaders(t *testing.T) {
	v2 := func(hlen uint32, rest string) []byte {
		b := []byte("\x93NUMPY\x02\x00")
		b = binary.LittleEndian.AppendUint32(b, hlen)
		return append(b, rest...)
	}
	v1 := func(hdr string) []byte {
		b := []byte("\x93NUMPY\x01\x00")
		b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)))
		return append(append(b, hdr...), 0, 0, 0, 0, 0, 0, 0, 0)
	}
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"huge v2 header", v2(0xFFFFFFF0, "{"), "header of 4294967280 bytes is longer than the 10000"},
		{"no newline, no dict", v1("garbage"), "want a dict literal"},
		{"keys out of order", v1("{'shape': (2,), 'fortran_order': False, 'descr': '<f4', }\n"), ""},
		{"brace before shape", v1("{'descr': '<f4', } 'fortran_order': False, 'shape': (2,)\n"), "unexpected"},
		{"missing key", v1("{'descr': '<f4', 'shape': (2,)}\n"), `no "fortran_order" key`},
		{"extra key", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n"), `unexpected key "x"`},
		{"negative dim", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}\n"), "non-negative integer"},
		{"huge shape", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000)}\n"), "more than the 268435456 elements"},
		{"huge dim", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}\n"), "larger than"},
		{"bad order", v1("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}\n"), "True or False"},
		{"structured", v1("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}\n"), "structured dtypes"},
		{"object", v1("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}\n"), "dtype |O is not supported"},
		{"version 9", []byte("\x93NUMPY\x09\x00\x00\x00"), "version 9.0 is not supported"},
		{"short", []byte("\x93NUM"), "not an .npy file"},
		{"truncated header", v2(100, "{'descr'"), "truncated .npy header"},
	}
	for _, c := range cases {
		for _, r := range []func() any{
			func() any { return bytes.NewReader(c.file) },
			func() any { return onlyReader{bytes.NewReader(c.file)} },
		} {
			a, err := ReadNpy(r().(interface{ Read([]byte) (int, error) }))
			if c.want == "" { // valid: any key order is a dict
				if err != nil || len(a.F) != 2 {
					t.Errorf("%s: %v", c.name, err)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.want)
			}
		}
	}
	// 2^28 int64 labels pass the element limit but decode to 2 GiB.
	if _, err := ReadNpy(onlyReader{bytes.NewReader(npytest.NpyFile("<i8", false, "(268435456,)", nil))}); err == nil || !strings.Contains(err.Error(), "decodes to 2147483648 bytes (int64), more than the 1073741824") {
		t.Errorf("2 GiB of int64: %v", err)
	}
	// A header promising more data than a stream of unknown length holds
	// is an error once the stream ends, not an up-front allocation.
	big := npytest.NpyFile("<f4", false, "(268435456,)", npytest.F32Bytes(1, 2))
	if _, err := ReadNpy(onlyReader{bytes.NewReader(big)}); err == nil || !strings.Contains(err.Error(), "the file holds 8") {
		t.Errorf("short stream: %v", err)
	}
}

// ReadNpy serves both nntrain's data sets and predict's inputs: every
// bool, integer and float width, either byte order, Fortran order.
func TestReadNpy(t *testing.T) {
	cases := []struct {
		name string
		file []byte
		f    []float32
		i    []int64
	}{
		{"f4", npytest.NpyFile("<f4", false, "(2,)", []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}), []float32{1, -2}, nil},
		{"f2", npytest.NpyFile("<f2", false, "(2,)", []byte{0x00, 0x3c, 0x00, 0xc0}), []float32{1, -2}, nil},
		{"f8 big-endian", npytest.NpyFile(">f8", false, "(1,)", []byte{0x3f, 0xf8, 0, 0, 0, 0, 0, 0}), []float32{1.5}, nil},
		{"Fortran f4", npytest.NpyFile("<f4", true, "(2, 3)", npytest.F32Bytes(0, 3, 1, 4, 2, 5)), []float32{0, 1, 2, 3, 4, 5}, nil},
		{"Fortran i2", npytest.NpyFile("<i2", true, "(2, 2)", []byte{1, 0, 3, 0, 2, 0, 0xff, 0xff}), nil, []int64{1, 2, 3, -1}},
		{"b1", npytest.NpyFile("|b1", false, "(3,)", []byte{1, 0, 1}), nil, []int64{1, 0, 1}},
		{"u1", npytest.NpyFile("|u1", false, "(2,)", []byte{7, 255}), nil, []int64{7, 255}},
		{"u8", npytest.NpyFile("<u8", false, "(1,)", []byte{9, 0, 0, 0, 0, 0, 0, 0}), nil, []int64{9}},
		{"trailing bytes", npytest.NpyFile("|u1", false, "(1,)", []byte{4, 5}), nil, []int64{4}},
	}
	for _, c := range cases {
		a, err := ReadNpy(bytes.NewReader(c.file))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.Equal(a.F, c.f) || !slices.Equal(a.I, c.i) {
			t.Errorf("%s: F %v I %v, want %v %v", c.name, a.F, a.I, c.f, c.i)
		}
	}
	for _, c := range []struct {
		name string
		file []byte
		want string
	}{
		{"complex", npytest.NpyFile("<c8", false, "(1,)", make([]byte, 8)), "dtype <c8 is not supported"},
		{"truncated", npytest.NpyFile("<f4", false, "(2, 3)", make([]byte, 22)), "shape [2, 3] of <f4 needs 24 bytes of data, the file holds 22"},
		{"not npy", []byte("x,y\n1,2\n"), ""},
	} {
		if _, err := ReadNpy(bytes.NewReader(c.file)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

// A FIFO where an .npy file is expected is an error naming it, at once —
// not a read that waits for a writer forever (issue 9, point 7).
func TestReadNpyFileRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.npy")
	syscall.Mkfifo(p, 0o644)
	if _, err := ReadNpyFile(p); err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Fatalf(".npy FIFO: %v", err)
	}
}
