package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/tensor"
	"github.com/nnkit/nnkit/train/export"
)

// ortCase is one model for the ONNX Runtime interop check: the model as
// nnkit writes it, an input, and nnkit's output for it.
type ortCase struct {
	Name       string  `json:"name"`
	Model      string  `json:"model"`
	Input      string  `json:"input"`
	InputName  string  `json:"input_name"`
	InputShape []int   `json:"input_shape"`
	InputType  string  `json:"input_type,omitempty"` // "int64"; float32 when empty
	Output     string  `json:"output"`
	Mode       string  `json:"mode"`
	Tolerance  float64 `json:"tolerance"`
}

// TestWriteORTCases prepares the ONNX Runtime interop check run by
// .ci/ort_check.js: every fixture's eval export (eval mode), every
// training export without Dropout (train mode: BatchNorm on batch
// statistics, as ONNX Runtime runs a training-mode graph), each written by
// onnxio, with nnkit's outputs; and every training-mode export (BatchNorm,
// Dropout) fine-tuned by nntrain, whose output — the inference graph —
// must compute in ONNX Runtime what nntrain predict computes on it, as must
// nntrain export's conversion of a graph written with --keep-training-graph.
// With NNKIT_ORT_OUT set the cases go there; either way every written model
// is read back and rerun here, so the files are what nnkit computes.
func TestWriteORTCases(t *testing.T) {
	out := os.Getenv("NNKIT_ORT_OUT")
	if out == "" {
		out = t.TempDir()
	}
	var cases []ortCase
	add := func(name, src string, mode exec.Mode) {
		model := strings.Split(name, "/")[0]
		x := predGolden(t, model, "input")
		m, err := onnxio.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if mode == exec.Train {
			for _, n := range m.Graph.Nodes {
				if n.OpType == "Dropout" {
					return // random masks: nothing to compare
				}
			}
		}
		dst := filepath.Join(out, strings.ReplaceAll(name, "/", "__"))
		if src != dst {
			if err := onnxio.WriteFile(dst, m, nil); err != nil {
				t.Fatal(err)
			}
		}
		back, err := onnxio.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		p, err := exec.Compile(back, exec.Options{})
		if err != nil {
			t.Fatal(err)
		}
		in := p.Inputs()[0]
		res, err := p.Run(mode, map[string]*exec.Tensor{in.Name: x})
		if err != nil {
			t.Fatal(err)
		}
		y := res[p.OutputNames()[0]]
		modeName := "eval"
		if mode == exec.Train {
			modeName = "train"
		}
		// Two float32 implementations with different summation orders:
		// 1e-4 of the output's scale. The two torchvision models are
		// ill-conditioned in float32 (PyTorch's own float32 results miss
		// its float64 ones by up to 3.3e-4 in train mode, golden.json's
		// float32_error), so they get ten times that.
		tol := 1e-4
		if model == "resnet18" || model == "mobilenet_v2" {
			tol = 3.3e-3
		}
		c := ortCase{Name: name, Model: filepath.Base(dst), InputName: in.Name, InputShape: x.Shape, Mode: modeName, Tolerance: tol,
			Input: filepath.Base(dst) + ".input.bin", Output: filepath.Base(dst) + ".output.bin"}
		writeF32(t, filepath.Join(out, c.Input), x.F)
		writeF32(t, filepath.Join(out, c.Output), y.F)
		cases = append(cases, c)
	}
	dirs, _ := filepath.Glob(filepath.Join(predModels, "*"))
	for _, d := range dirs {
		name := filepath.Base(d)
		for _, f := range []string{"eval.onnx", "eval.onnx.gz"} {
			if _, err := os.Stat(filepath.Join(d, f)); err == nil {
				add(name+"/eval.onnx", filepath.Join(d, f), exec.Eval)
			}
		}
		for _, f := range []string{"train.onnx", "train.onnx.gz", "train_opset11.onnx", "train_opset15.onnx", "train_opset17.onnx"} {
			if _, err := os.Stat(filepath.Join(d, f)); err == nil {
				add(name+"/"+strings.TrimSuffix(f, ".gz"), filepath.Join(d, f), exec.Train)
			}
		}
	}
	cases = append(cases, fineTunedORTCases(t, out)...)
	if len(cases) < 45 {
		t.Fatalf("only %d cases", len(cases))
	}
	b, _ := json.MarshalIndent(cases, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "cases.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeF32(t *testing.T, path string, v []float32) {
	t.Helper()
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fineTunedORTCases fine-tunes every training-mode fixture export for one
// epoch (cnn_digits on the shipped digits, the others on synthetic data of
// their input shape), and records nntrain predict's output on the written
// inference graph. robustnet (BatchNorm + Dropout) also goes through
// --keep-training-graph and nntrain export.
func fineTunedORTCases(t *testing.T, out string) []ortCase {
	var cases []ortCase
	tmp := t.TempDir()
	addPredict := func(name, model string, x *exec.Tensor) {
		t.Helper()
		base := filepath.Base(model)
		c := ortCase{Name: name, Model: base, Mode: "predict", InputShape: x.Shape,
			Input: base + ".input.bin", Output: base + ".output.bin",
			// Issue 14's bar for a fine-tuned model: ONNX Runtime computes
			// what nntrain predict computes within 1e-5 relative (both are
			// float32 with different summation orders; measured worst
			// 2.4e-6, resnet18, the rest below 6e-7).
			Tolerance: 1e-5}
		m, err := onnxio.ReadFile(model)
		if err != nil {
			t.Fatal(err)
		}
		if export.IsTraining(m) || export.Kind(m) != export.KindInference {
			t.Fatalf("%s: nntrain did not write an inference graph (%s = %q)", name, export.MetaGraph, export.Kind(m))
		}
		c.InputName = m.Graph.DataInputs()[0].Name
		npy, err := tensor.EncodeNpy(x)
		if err != nil {
			t.Fatal(err)
		}
		in, pred := filepath.Join(tmp, base+".npy"), filepath.Join(tmp, base+".out.npy")
		if err := os.WriteFile(in, npy, 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := predictCmd(t, model, in, "-o", pred, "-q"); code != 0 {
			t.Fatalf("%s: nntrain predict: exit %d: %s", name, code, stderr)
		}
		f, err := os.Open(pred)
		if err != nil {
			t.Fatal(err)
		}
		y, err := tensor.ReadNpy(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if x.DType == ir.Int64 {
			c.InputType = "int64"
			writeI64(t, filepath.Join(out, c.Input), x.I)
		} else {
			writeF32(t, filepath.Join(out, c.Input), x.F)
		}
		writeF32(t, filepath.Join(out, c.Output), y.F)
		cases = append(cases, c)
	}
	dirs, _ := filepath.Glob(filepath.Join(predModels, "*"))
	for _, d := range dirs {
		model := filepath.Base(d)
		for _, f := range []string{"train.onnx", "train.onnx.gz", "train_opset15.onnx"} {
			src := filepath.Join(d, f)
			m, err := onnxio.ReadFile(src)
			if err != nil {
				continue // not there
			}
			if !export.IsTraining(m) {
				continue
			}
			x := predGolden(t, model, "input")
			dataDir := "../../testdata/data/digits"
			if model != "cnn_digits" {
				dataDir = syntheticLike(t, x, predGolden(t, model, "eval_output"), 32)
			}
			name := model + "/" + strings.TrimSuffix(strings.TrimSuffix(f, ".gz"), ".onnx") + "_finetuned"
			dst := filepath.Join(out, strings.ReplaceAll(name, "/", "__")+".onnx")
			if code, _, stderr := runCmd(src, dataDir, "--epochs", "1", "--batch-size", "8", "--seed", "1", "--quiet", "--out", dst); code != 0 {
				t.Fatalf("%s: nntrain: exit %d: %s", name, code, stderr)
			}
			addPredict(name, dst, x)
		}
	}
	// A new 3-class head on a BatchNorm backbone (--num-classes), the
	// "pretrained backbone, new head" job, deployed.
	xr := predGolden(t, "resnet_narrow", "input")
	head := filepath.Join(out, "resnet_narrow__num_classes_3.onnx")
	if code, _, stderr := runCmd(filepath.Join(predModels, "resnet_narrow", "train.onnx"), syntheticData(t, xr, 32, 3, nil),
		"--epochs", "1", "--batch-size", "8", "--seed", "1", "--quiet", "--num-classes", "3", "--out", head); code != 0 {
		t.Fatalf("nntrain --num-classes: exit %d: %s", code, stderr)
	}
	addPredict("resnet_narrow/num-classes-3_finetuned", head, xr)
	// New heads of the other two kinds --num-classes replaces: a 1×1 Conv
	// classifier and a MatMul+Add followed by x.view(-1, 10) (whose shape
	// constant becomes [-1, 3]), trained alone over a frozen backbone.
	for _, hc := range []struct {
		name  string
		shape []int
		only  string
	}{{"conv_head", []int{1, 8, 8}, "classifier.*"}, {"matmul_head", []int{64}, "head.*,onnx::MatMul_31"}} {
		xh := &exec.Tensor{DType: ir.Float32, Shape: append([]int{5}, hc.shape...), F: make([]float32, 5*numel(hc.shape))}
		for i := range xh.F {
			xh.F[i] = float32(i%13)/13 - 0.4
		}
		dst := filepath.Join(out, hc.name+"__num_classes_3.onnx")
		if code, _, stderr := runCmd(filepath.Join("../../testdata/train/head", hc.name+".onnx"), syntheticData(t, xh, 32, 3, nil),
			"--epochs", "1", "--batch-size", "8", "--seed", "2", "--quiet", "--num-classes", "3", "--train-only", hc.only, "--out", dst); code != 0 {
			t.Fatalf("%s --num-classes 3: exit %d: %s", hc.name, code, stderr)
		}
		addPredict(hc.name+"/num-classes-3_train-only", dst, xh)
	}
	// The training graph, then nntrain export.
	x := predGolden(t, "robustnet", "input")
	kept := filepath.Join(tmp, "robustnet_training.onnx")
	if code, _, stderr := runCmd(filepath.Join(predModels, "robustnet", "train.onnx"), syntheticData(t, x, 32, 10, nil),
		"--epochs", "1", "--batch-size", "8", "--quiet", "--keep-training-graph", "--out", kept); code != 0 {
		t.Fatalf("nntrain --keep-training-graph: exit %d: %s", code, stderr)
	}
	m, err := onnxio.ReadFile(kept)
	if err != nil {
		t.Fatal(err)
	}
	if !export.IsTraining(m) || export.Kind(m) != export.KindTraining {
		t.Fatalf("--keep-training-graph wrote no training graph (%s = %q)", export.MetaGraph, export.Kind(m))
	}
	exported := filepath.Join(out, "robustnet__exported.onnx")
	var so, se bytes.Buffer
	if code := run([]string{"export", kept, "-o", exported}, &so, &se); code != 0 {
		t.Fatalf("nntrain export: exit %d: %s", code, se.String())
	}
	addPredict("robustnet/keep-training-graph+export", exported, x)
	// 12 training-mode fixture exports (BatchNorm and/or Dropout, opset
	// 13 and 15), the new head and the export round.
	if len(cases) < 14 {
		t.Fatalf("only %d fine-tuned cases", len(cases))
	}
	return cases
}

// syntheticLike makes training data for a model from its golden input and
// output: class labels for a [N, classes] output, float targets with as
// many values as a sample's output otherwise (a per-pixel output, say),
// trained with mse.
func syntheticLike(t *testing.T, x, y *exec.Tensor, n int) string {
	t.Helper()
	if len(y.Shape) == 2 {
		return syntheticData(t, x, n, y.Shape[1], nil)
	}
	return syntheticData(t, x, n, 0, []int{numel(y.Shape[1:])}) // nntrain's float targets are [N, k]
}

// syntheticData writes n samples shaped like the rows of x (float:
// uniform in [-1, 1); integer: uniform over 0..max(x), token ids) as
// train.npz in a new directory, with labels in [0, classes), or, when
// target is not nil, float targets of that shape.
func syntheticData(t *testing.T, like *exec.Tensor, n, classes int, target []int) string {
	t.Helper()
	shape := like.Shape[1:]
	r := rand.New(rand.NewPCG(uint64(n), uint64(len(shape))))
	x := &exec.Tensor{DType: like.DType, Shape: append([]int{n}, shape...)}
	switch like.DType {
	case ir.Float32:
		x.F = make([]float32, n*numel(shape))
		for i := range x.F {
			x.F[i] = 2*r.Float32() - 1
		}
	default:
		top := int64(0)
		for _, v := range like.I {
			top = max(top, v)
		}
		x.I = make([]int64, n*numel(shape))
		for i := range x.I {
			x.I[i] = r.Int64N(top + 1)
		}
	}
	y := &exec.Tensor{DType: ir.Int64, Shape: []int{n}, I: make([]int64, n)}
	if target != nil {
		y = &exec.Tensor{DType: ir.Float32, Shape: append([]int{n}, target...), F: make([]float32, n*numel(target))}
		for i := range y.F {
			y.F[i] = 2*r.Float32() - 1
		}
	}
	for i := range y.I {
		y.I[i] = int64(i % classes)
	}
	b, err := tensor.EncodeNpz([]string{"x", "y"}, map[string]*exec.Tensor{"x": x, "y": y})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "train.npz"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func writeI64(t *testing.T, path string, v []int64) {
	t.Helper()
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
