package exec

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// trainSteps compiles name/file, runs n training steps with the model's own
// dropout ratios and returns the outputs and gradients of the last one.
func trainSteps(t *testing.T, name, file string, opts Options, n int) ([]float32, [][]float32) {
	t.Helper()
	o, g, _ := trainStepsProg(t, name, file, opts, n)
	return o, g
}

// trainStepsProg is trainSteps, also returning the program.
func trainStepsProg(t *testing.T, name, file string, opts Options, n int) ([]float32, [][]float32, *Program) {
	t.Helper()
	g := loadGolden(t, name)
	m, err := onnxio.ReadFile(filepath.Join(g.dir, file))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	x := g.get(t, "input")
	in := map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}
	var out map[string]*Tensor
	for i := 0; i < n; i++ {
		p.ZeroGrad()
		if out, err = p.Run(Train, in); err != nil {
			t.Fatal(err)
		}
		if err := p.Backward(map[string]*Tensor{"output": {DType: ir.Float32, Shape: out["output"].Shape, F: g.f32(t, "loss_weight")}}); err != nil {
			t.Fatal(err)
		}
	}
	var grads [][]float32
	for _, q := range p.Params() {
		grads = append(grads, append([]float32(nil), q.Grad...))
	}
	return append([]float32(nil), out["output"].F...), grads, p
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// Same seed, same bits: outputs and gradients of a dropout model and of a
// conv/BN model agree bit for bit between two independent programs.
func TestDeterminism(t *testing.T) {
	for _, c := range []struct{ name, file string }{{"dropoutnet", "train.onnx"}, {"vgg_bn", "train.onnx"}, {"transformer_encoder", "train.onnx"}} {
		o1, g1 := trainSteps(t, c.name, c.file, Options{Seed: 42}, 3)
		o2, g2 := trainSteps(t, c.name, c.file, Options{Seed: 42}, 3)
		if !sameBits(o1, o2) {
			t.Errorf("%s: outputs differ between two runs with the same seed", c.name)
		}
		for i := range g1 {
			if !sameBits(g1[i], g2[i]) {
				t.Errorf("%s: gradient %d differs between two runs with the same seed", c.name, i)
			}
		}
		o3, _ := trainSteps(t, c.name, c.file, Options{Seed: 43}, 3)
		if sameBits(o1, o3) {
			t.Errorf("%s: seeds 42 and 43 give the same dropout masks", c.name)
		}
	}
	// the masks do not depend on how many threads draw them
	o1, _ := trainSteps(t, "dropoutnet", "train.onnx", Options{Seed: 9, Threads: 1}, 2)
	o2, _ := trainSteps(t, "dropoutnet", "train.onnx", Options{Seed: 9, Threads: 2}, 2)
	if !sameBits(o1, o2) {
		t.Error("dropoutnet: 1 and 2 threads give different outputs")
	}
	// nor do a CNN's gradients: its convolutions sum the weight gradients
	// of a batch image by image, in groups fixed by the batch alone
	_, c1 := trainSteps(t, "small_cnn", "train.onnx", Options{Seed: 9, Threads: 1}, 1)
	for _, th := range []int{2, 3} {
		_, c2 := trainSteps(t, "small_cnn", "train.onnx", Options{Seed: 9, Threads: th}, 1)
		for i := range c1 {
			if !sameBits(c1[i], c2[i]) {
				t.Errorf("small_cnn: gradient %d differs between 1 and %d threads", i, th)
			}
		}
	}
}

// Eval mode is per sample: any sub-batch of the golden input must give the
// matching rows of the golden output. This runs the shape-computation
// subgraphs (Shape→Gather→Unsqueeze→Concat→Reshape, ConstantOfShape for the
// LSTM state) at several batch sizes through one Program, whose plans are
// cached per input shape.
func TestDynamicBatch(t *testing.T) {
	for _, c := range []struct{ name, file string }{
		{"transformer_encoder", "train.onnx"}, {"transformer_encoder", "eval.onnx"},
		{"lstm_classifier", "train.onnx"}, {"lstm_classifier", "eval.onnx"}, {"resnet_narrow", "eval.onnx"},
	} {
		g := loadGolden(t, c.name)
		m, err := onnxio.ReadFile(filepath.Join(g.dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		x := g.get(t, "input")
		per := numel(x.shape[1:])
		want := g.get(t, "eval_output")
		all := g.f32(t, "input")
		for _, rows := range [][2]int{{0, 4}, {1, 2}, {0, 1}, {3, 4}, {1, 4}, {0, 4}} {
			n := rows[1] - rows[0]
			shape := append([]int{n}, x.shape[1:]...)
			out, err := p.Run(Eval, map[string]*Tensor{"input": {DType: ir.Float32, Shape: shape, F: all[rows[0]*per : rows[1]*per]}})
			if err != nil {
				t.Fatalf("%s/%s batch %d: %v", c.name, c.file, n, err)
			}
			if got := out["output"]; !sameShape(got.Shape, []int{n, 10}) {
				t.Fatalf("%s/%s batch %d: output shape %v", c.name, c.file, n, got.Shape)
			} else if e := relErr(got.F, want.f[rows[0]*10:rows[1]*10]); e > 1e-5 { // eval parity target
				t.Errorf("%s/%s rows %v: relative error %.3g", c.name, c.file, rows, e)
			}
		}
	}
}
