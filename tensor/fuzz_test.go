package tensor

import (
	"bytes"
	"io"
	"testing"

	"github.com/nnkit/nnkit/internal/npytest"
)

// Fuzz targets for the readers of untrusted data. Run them all with
//
//	go test ./tensor -run '^$' -fuzz '^FuzzReadNpy$' -fuzztime 10m
//
// (one -fuzz pattern per run), or every fuzz target of the repository with
// testdata/fuzz.sh (see the README's Safety section). Seeds are a few
// bytes each so that the engine does not stall minimizing them.

// onlyReader hides a reader's concrete type, so ReadNpy cannot learn the
// size in advance and must grow its buffers as data arrives.
type onlyReader struct{ io.Reader }

func FuzzReadNpy(f *testing.F) {
	f.Add(npytest.NpyFile("<f4", false, "(2,)", npytest.F32Bytes(1, 2)))
	f.Add(npytest.NpyFile(">i2", true, "(2, 1)", []byte{0, 1, 0, 2}))
	f.Add(npytest.NpyFile("|b1", false, "()", []byte{1}))
	f.Add([]byte("\x93NUMPY\x02\x00\x10\x00\x00\x00{'shape': (1,)}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range []io.Reader{bytes.NewReader(b), onlyReader{bytes.NewReader(b)}} {
			a, err := ReadNpy(r)
			if err == nil {
				npytest.CheckShape(t, a.Shape, len(a.F), len(a.I))
			}
		}
	})
}
