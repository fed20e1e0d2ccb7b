package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/tensor"
	"github.com/nnkit/nnkit/train/export"
)

func exportCmd(args ...string) (int, string, string) {
	var o, e bytes.Buffer
	code := run(append([]string{"export"}, args...), &o, &e)
	return code, o.String(), e.String()
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nntrain export converts a training export (BatchNorm + Dropout), labels
// the result, and says what changed.
func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(predModels, "robustnet", "train.onnx")
	out := filepath.Join(dir, "infer.onnx")
	code, stdout, stderr := exportCmd(src, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "wrote " + out + ": inference graph, 2 BatchNormalizations now on running statistics, 2 Dropouts removed, 4 nodes that fed only removed values dropped\n"
	if stdout != want {
		t.Errorf("stdout %q\nwant   %q", stdout, want)
	}
	m, err := onnxio.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if export.IsTraining(m) || export.Kind(m) != export.KindInference || export.Converted(m) != "BatchNormalization=2,Dropout=2" {
		t.Errorf("written model: training %v, metadata %v", export.IsTraining(m), m.Metadata)
	}
}

// The predictions of both graphs are the same bits; the default output
// name sits next to the model.
func TestExportSamePredictionsDefaultName(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "net.onnx")
	if err := os.WriteFile(src, readBytes(t, filepath.Join(predModels, "vgg_bn", "train.onnx")), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := exportCmd("-q", src); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	inf := filepath.Join(dir, "net.inference.onnx")
	x := filepath.Join(dir, "x.npy")
	npy, _ := tensor.EncodeNpy(predGolden(t, "vgg_bn", "input"))
	if err := os.WriteFile(x, npy, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{src, inf} {
		if code, _, stderr := predictCmd(t, m, x, "-o", m+".npy", "-q"); code != 0 {
			t.Fatalf("predict %s: exit %d: %s", m, code, stderr)
		}
	}
	if !bytes.Equal(readBytes(t, src+".npy"), readBytes(t, inf+".npy")) {
		t.Error("nntrain predict differs between the training graph and its inference graph")
	}
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	// A BatchNorm whose running mean is a graph output cannot be converted.
	b := ir.NewBuilder("g", nil)
	b.Input("x", &ir.TypeInfo{Elem: ir.Float32, Shape: ir.StaticShape([]int64{2, 1})}, nil)
	for _, n := range []string{"s", "b", "m", "v"} {
		b.Initializer(ir.NewFloat32(n, []int64{1}, []float32{1}))
	}
	b.Node(&ir.Node{Name: "bn", OpType: "BatchNormalization"}, []string{"x", "s", "b", "m", "v"}, []string{"y", "rm", "rv", "sm", "sv"})
	b.Output("y", nil, nil)
	b.Output("rm", nil, nil)
	g, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.onnx")
	if err := onnxio.WriteFile(bad, &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: 13}}, Graph: g}, nil); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(predModels, "robustnet", "train.onnx")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "want one model, got 0 arguments"},
		{[]string{src, src}, 2, "want one model, got 2 arguments"},
		{[]string{filepath.Join(dir, "missing.onnx")}, 2, "missing.onnx"},
		{[]string{bad, "-o", filepath.Join(dir, "o.onnx")}, 2, `node bn (BatchNormalization): its running mean output "rm" is read by the graph`},
		{[]string{src, "-o", filepath.Join(dir, "no", "such", "dir.onnx")}, 1, "writing"},
	}
	for _, c := range cases {
		code, _, stderr := exportCmd(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o.onnx")); err == nil {
		t.Error("a failed conversion wrote its output")
	}
	// nntrain refuses such a model before training, pointing at the way out.
	code, _, stderr := runCmd(bad, digits, "--out", filepath.Join(dir, "t.onnx"))
	if code != 2 || !strings.Contains(stderr, "--keep-training-graph") {
		t.Errorf("nntrain on an unconvertible model: exit %d, %q", code, stderr)
	}
}

// nntrain writes the inference graph by default and says so; with
// --keep-training-graph, the training graph, labelled as such, which
// nntrain export then converts to the same file nntrain would have written.
func TestTrainWritesInferenceGraph(t *testing.T) {
	dir := t.TempDir()
	inf, kept := filepath.Join(dir, "inf.onnx"), filepath.Join(dir, "kept.onnx")
	code, stdout, stderr := runCmd(cnn, digits, "--epochs", "1", "--seed", "3", "--out", inf)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "inference graph: 1 BatchNormalization now on running statistics (--keep-training-graph writes the training graph)") {
		t.Errorf("stdout does not say which graph was written:\n%s", stdout)
	}
	code, stdout, stderr = runCmd(cnn, digits, "--epochs", "1", "--seed", "3", "--keep-training-graph", "--out", kept)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "training graph (to deploy it: nntrain export)") {
		t.Errorf("stdout does not say which graph was written:\n%s", stdout)
	}
	mi, err := onnxio.ReadFile(inf)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := onnxio.ReadFile(kept)
	if err != nil {
		t.Fatal(err)
	}
	if export.IsTraining(mi) || export.Kind(mi) != export.KindInference {
		t.Errorf("default output: training %v, %s = %q", export.IsTraining(mi), export.MetaGraph, export.Kind(mi))
	}
	if !export.IsTraining(mk) || export.Kind(mk) != export.KindTraining {
		t.Errorf("--keep-training-graph output: training %v, %s = %q", export.IsTraining(mk), export.MetaGraph, export.Kind(mk))
	}
	conv := filepath.Join(dir, "conv.onnx")
	if code, _, stderr := exportCmd(kept, "-o", conv); code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	if !bytes.Equal(readBytes(t, conv), readBytes(t, inf)) {
		t.Error("nntrain export of the training graph differs from the inference graph nntrain wrote with the same seed")
	}
}
