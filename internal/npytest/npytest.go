package npytest

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
)

// NpyFile builds a version 1.0 .npy file (the NumPy format specification:
// magic, header length, a Python dict literal padded to 64 bytes, data).
func NpyFile(descr string, fortran bool, shape string, data []byte) []byte {
	order := "False"
	if fortran {
		order = "True"
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, order, shape)
	hdr += strings.Repeat(" ", 63-(10+len(hdr))%64) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), byte(len(hdr)>>8))
	return append(append(b, hdr...), data...)
}

// F32Bytes is v as little-endian float32 values.
func F32Bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// CheckShape asserts what every successful read promises: as many values
// as the shape says, in exactly one of F (nf values) and I (ni values).
func CheckShape(t testing.TB, shape []int, nf, ni int) {
	t.Helper()
	n := 1
	for _, d := range shape {
		n *= d
	}
	if nf+ni != n || nf > 0 && ni > 0 {
		t.Fatalf("shape %v but %d float and %d int values", shape, nf, ni)
	}
}
