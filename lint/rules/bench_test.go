package rules_test

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
	"github.com/nnkit/nnkit/lint/probe"
	"github.com/nnkit/nnkit/lint/rules"
	"github.com/nnkit/nnkit/onnxio"
)

// resnet18File decompresses testdata/models/resnet18/train.onnx.gz (45 MB
// raw) into a temporary file once per benchmark: the benchmarks time what a
// user's `nnlint model.onnx` does with an uncompressed model.
func resnet18File(b *testing.B) string {
	b.Helper()
	in, err := os.Open("../../testdata/models/resnet18/train.onnx.gz")
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "resnet18.onnx")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func lintOnce(b *testing.B, path string, withProbe bool) []lint.Diagnostic {
	m, err := onnxio.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return lintModel(b, m, path, withProbe)
}

func lintModel(b *testing.B, m *ir.Model, path string, withProbe bool) []lint.Diagnostic {
	f, err := lint.NewFacts(m, path)
	if err != nil {
		b.Fatal(err)
	}
	o := lint.Options{File: path, Rules: rules.All, Facts: f}
	if withProbe {
		if o.Probe, err = probe.Run(m, f, probe.Options{Batch: 32}); err != nil {
			b.Fatal(err)
		}
	}
	d, err := lint.Check(m, o)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkStaticResNet18 is `nnlint --probe=false resnet18.onnx`: read the
// 45 MB file and run every static rule. Target (issue 4): ≤ 100 ms.
func BenchmarkStaticResNet18(b *testing.B) {
	path := resnet18File(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lintOnce(b, path, false)
	}
}

// BenchmarkStaticResNet18Rules is the static rules alone on a loaded model.
func BenchmarkStaticResNet18Rules(b *testing.B) {
	path := resnet18File(b)
	m, err := onnxio.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lintModel(b, m, path, false)
	}
}

// BenchmarkProbeResNet18 is `nnlint resnet18.onnx`: read, probe (forward
// and backward, batch 32, 3×32×32 inputs) and every rule. Target: ≤ 1 s.
func BenchmarkProbeResNet18(b *testing.B) {
	path := resnet18File(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lintOnce(b, path, true)
	}
}
