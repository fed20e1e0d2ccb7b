package summary

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/nnkit/nnkit/onnxio"
)

// BenchmarkSummaryResNet18 measures `nnlint summary`'s work on the 45 MB
// torchvision ResNet-18 training export: read the file, infer shapes, build
// the table, format it. Budget (issue 2): ≤ 100 ms.
//
//	go test ./summary -run '^$' -bench ResNet18 -benchmem
func BenchmarkSummaryResNet18(b *testing.B) {
	path := unzipFixture(b, "../testdata/models/resnet18/train.onnx.gz")
	b.SetBytes(fileSize(b, path))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := onnxio.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		s, err := Build(m, path)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.WriteText(io.Discard, false); err != nil {
			b.Fatal(err)
		}
	}
}

func unzipFixture(b *testing.B, gz string) string {
	b.Helper()
	f, err := os.Open(gz)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "model.onnx")
	w, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(w, zr); err != nil {
		b.Fatal(err)
	}
	w.Close()
	return out
}

func fileSize(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}
