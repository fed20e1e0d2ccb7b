package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/tensor"
)

const predModels = "../../testdata/models"

func predGolden(t *testing.T, model, key string) *exec.Tensor {
	t.Helper()
	r, err := npz.Open(filepath.Join(predModels, model, "golden.npz"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rc, err := r.Open(key + ".npy")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	a, err := tensor.ReadNpy(rc)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func predictCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"predict"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// Every fixture, eval and train exports alike, predicts PyTorch's eval
// output (1e-5 relative, the executor's eval parity target), also when
// the samples are split over several batches.
func TestPredictFixtures(t *testing.T) {
	dir := t.TempDir()
	ents, err := os.ReadDir(predModels)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		in := predGolden(t, name, "input")
		want := predGolden(t, name, "eval_output")
		enc, err := tensor.EncodeNpy(in)
		if err != nil {
			t.Fatal(err)
		}
		inPath := filepath.Join(dir, name+".npy")
		if err := os.WriteFile(inPath, enc, 0o644); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(predModels, name, "*.onnx*"))
		for _, f := range files {
			out := filepath.Join(dir, name+"_"+filepath.Base(f)+".npy")
			code, stdout, stderr := predictCmd(t, f, inPath, "-o", out, "--batch-size", "3")
			if code != 0 {
				t.Errorf("%s: exit %d: %s", f, code, stderr)
				continue
			}
			if !strings.Contains(stdout, "4 samples, 2 batches") {
				t.Errorf("%s: summary %q", f, stdout)
			}
			raw, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tensor.ReadNpy(raw)
			raw.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Shape, want.Shape) {
				t.Errorf("%s: output shape %v", f, got.Shape)
				continue
			}
			var d, s float64
			for i, v := range want.F {
				d = math.Max(d, math.Abs(float64(got.F[i]-v)))
				s = math.Max(s, math.Abs(float64(v)))
			}
			if d > 1e-5*s {
				t.Errorf("%s: relative error %.3g", f, d/s)
			}
			n++
		}
	}
	if n < 38 {
		t.Errorf("checked %d model files, want all 38", n)
	}
}

func TestPredictNpzInputAndOutput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "val.npz")
	code, _, stderr := predictCmd(t, filepath.Join(predModels, "mlp_digits", "eval.onnx"), "../../testdata/data/digits/val.npz", "-o", out, "--batch-size", "100")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r, err := npz.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if h := r.Header("output.npy"); h == nil || len(h.Descr.Shape) != 2 || h.Descr.Shape[0] != 360 || h.Descr.Shape[1] != 10 {
		t.Errorf("output.npz header %v", h)
	}
}

func TestPredictErrors(t *testing.T) {
	dir := t.TempDir()
	// a model with unsupported ops
	g := ir.NewGraph("g")
	x := g.AddInput("x", ir.TensorType(ir.Float32, ir.Shape{ir.SymDim("batch"), ir.DimOf(3)}))
	y := g.AddNode("NonZero", "nz", []*ir.Value{x}, 1).Outputs[0]
	y = g.AddNode("Unique", "uq", []*ir.Value{y}, 1).Outputs[0]
	g.AddOutput(y)
	bad := filepath.Join(dir, "bad.onnx")
	if err := onnxio.WriteFile(bad, &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: 13}}, Graph: g}, nil); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.npy")
	data, _ := tensor.EncodeNpy(&exec.Tensor{DType: ir.Float32, Shape: []int{2, 3}, F: make([]float32, 6)})
	os.WriteFile(in, data, 0o644)
	out := filepath.Join(dir, "out.npy")
	code, _, stderr := predictCmd(t, bad, in, "-o", out)
	if code != 2 || !strings.Contains(stderr, "NonZero: nz") || !strings.Contains(stderr, "Unique: uq") {
		t.Errorf("unsupported ops: exit %d, %q", code, stderr)
	}
	// wrong input shape: both shapes named
	code, _, stderr = predictCmd(t, filepath.Join(predModels, "small_cnn", "eval.onnx"), in, "-o", out)
	if code != 2 || !strings.Contains(stderr, "[2, 3]") || !strings.Contains(stderr, "[?, 1, 28, 28]") {
		t.Errorf("wrong shape: exit %d, %q", code, stderr)
	}
	// usage
	if code, _, _ := predictCmd(t, in); code != 2 {
		t.Errorf("one argument: exit %d", code)
	}
	if code, _, stderr := predictCmd(t, filepath.Join(predModels, "mlp_digits", "eval.onnx"), in); code != 2 || !strings.Contains(stderr, "-o") {
		t.Errorf("no -o: exit %d %q", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s behind", out)
	}
	// unwritable output: exit 1, nothing left behind
	din := filepath.Join(dir, "digits.npy")
	data, _ = tensor.EncodeNpy(&exec.Tensor{DType: ir.Float32, Shape: []int{2, 64}, F: make([]float32, 128)})
	os.WriteFile(din, data, 0o644)
	missing := filepath.Join(dir, "no", "such", "dir", "out.npy")
	if code, _, _ := predictCmd(t, filepath.Join(predModels, "mlp_digits", "eval.onnx"), din, "-o", missing); code != 1 {
		t.Errorf("unwritable output: exit %d, want 1", code)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), "tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
