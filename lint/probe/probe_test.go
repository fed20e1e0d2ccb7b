package probe

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
	"github.com/nnkit/nnkit/onnxio"
)

func load(t *testing.T, path string) (*ir.Model, *lint.Facts) {
	t.Helper()
	m, err := onnxio.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := lint.NewFacts(m, path)
	if err != nil {
		t.Fatal(err)
	}
	return m, f
}

func probe(t *testing.T, path string, o Options) *lint.ProbeReport {
	t.Helper()
	m, f := load(t, path)
	r, err := Run(m, f, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestKnownAnswers checks measurements whose true value is known from how
// the fixture was built.
func TestKnownAnswers(t *testing.T) {
	// dead_relu: 52 of 64 hidden units have bias −10 (pre-activation
	// N(−10, ≈2)), the other 12 bias 0; the input is N(0,1) with std 1.
	r := probe(t, "../../testdata/lint/dead_relu.onnx", Options{Batch: 32})
	if len(r.ReLUs) != 1 || r.ReLUs[0].Units != 64 || r.ReLUs[0].Dead != 52 {
		t.Errorf("dead_relu: ReLUs %+v, want 52 of 64 dead", r.ReLUs)
	}
	// 32×64 N(0,1) samples: the std of the sample std is ≈ 1/√(2·2048) = 0.016.
	if in := r.Layers[0].InStd; math.Abs(in-1) > 0.05 {
		t.Errorf("input std %g, want 1 ± 0.05", in)
	}
	if r.Batch != 32 || len(r.Inputs) != 1 || !reflect.DeepEqual(r.Inputs[0].Shape, []int{32, 64}) || r.Inputs[0].Fill != "N(0,1)" {
		t.Errorf("inputs %+v", r.Inputs)
	}

	// badinit_zero: every weight and bias is 0, so the logits are exactly 0,
	// the cross-entropy is exactly ln 10 and no weight gets a gradient.
	r = probe(t, "../../testdata/models/badinit_zero/train.onnx", Options{Batch: 16})
	if math.Abs(r.Loss-math.Log(10)) > 1e-6 {
		t.Errorf("badinit_zero loss %g, want ln 10 = %g", r.Loss, math.Log(10))
	}
	for _, l := range r.Layers {
		if l.GradNorm != 0 || l.WeightNorm != 0 || l.OutStd != 0 {
			t.Errorf("badinit_zero %s: %+v, want all zero", l.Node, l)
		}
	}

	// conv_bias_bn: the ReLU follows Conv → MaxPool → BatchNorm, so its
	// units are the 8 channels (axis 1 of [N, 8, 4, 4]), not the last axis.
	r = probe(t, "../../testdata/lint/conv_bias_bn.onnx", Options{Batch: 4})
	if len(r.ReLUs) != 1 || r.ReLUs[0].Units != 8 {
		t.Errorf("conv_bias_bn ReLUs %+v, want 8 channel units", r.ReLUs)
	}
	if !reflect.DeepEqual(r.Inputs[0].Shape, []int{4, 3, 8, 8}) {
		t.Errorf("conv input shape %v", r.Inputs[0].Shape)
	}
}

func TestDeterministic(t *testing.T) {
	path := "../../testdata/models/vgg_bn/train.onnx" // has Dropout and BatchNorm
	a := probe(t, path, Options{Batch: 8, Seed: 3})
	b := probe(t, path, Options{Batch: 8, Seed: 3})
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed, different reports")
	}
	c := probe(t, path, Options{Batch: 8, Seed: 4})
	if c.Loss == a.Loss {
		t.Error("another seed gave the same loss")
	}
}

// TestCrossEntropyGradient checks the probe's loss gradient against central
// differences in float64 (the labels are redrawn from the same seed).
func TestCrossEntropyGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	out := &exec.Tensor{DType: ir.Float32, Shape: []int{3, 5}, F: make([]float32, 15)}
	for i := range out.F {
		out.F[i] = float32(rng.NormFloat64() * 2)
	}
	lossAt := func(f []float32, grad []float32) float64 {
		o := &exec.Tensor{DType: ir.Float32, Shape: out.Shape, F: f}
		l, _ := loss(o, grad, rand.New(rand.NewPCG(9, 9)))
		return l
	}
	grad := make([]float32, 15)
	lossAt(out.F, grad)
	const h = 1e-2 // float32 logits; the loss is smooth, h² error ≈ 1e-4·|L'''|
	for i := range out.F {
		p := append([]float32(nil), out.F...)
		m := append([]float32(nil), out.F...)
		p[i] += h
		m[i] -= h
		fd := (lossAt(p, make([]float32, 15)) - lossAt(m, make([]float32, 15))) / (2 * h)
		if math.Abs(fd-float64(grad[i])) > 1e-4 {
			t.Errorf("dL/dz[%d] = %g, finite difference %g", i, grad[i], fd)
		}
	}
	// Non-classifier outputs get mean squared error: gradient 2(z−t)/n.
	one := &exec.Tensor{DType: ir.Float32, Shape: []int{4, 1}, F: []float32{1, 2, 3, 4}}
	g := make([]float32, 4)
	if _, kind := loss(one, g, rand.New(rand.NewPCG(1, 1))); !strings.Contains(kind, "mean squared error") {
		t.Errorf("[4,1] output: loss %q", kind)
	}
}

// TestSyntheticInputs: a symbolic sequence length and integer token ids
// indexing an embedding table get sensible values, and the report says so.
func TestSyntheticInputs(t *testing.T) {
	g := ir.NewGraph("emb")
	ids := g.AddInput("ids", ir.TensorType(ir.Int64, ir.Shape{ir.SymDim("batch"), ir.SymDim("seq")}))
	emb := make([]float32, 20*8)
	for i := range emb {
		emb[i] = float32(i%7) / 7
	}
	table := g.AddInitializer(ir.NewFloat32("emb.weight", []int64{20, 8}, emb))
	w := make([]float32, 10*8)
	for i := range w {
		w[i] = float32(i%5)/5 - 0.4
	}
	fc := g.AddInitializer(ir.NewFloat32("fc.weight", []int64{10, 8}, w))
	gather := g.AddNode("Gather", "/emb/Gather", []*ir.Value{table, ids}, 1)
	mean := g.AddNode("ReduceMean", "/mean", []*ir.Value{gather.Out(0)}, 1, ir.IntsAttr("axes", 1), ir.IntAttr("keepdims", 0))
	gemm := g.AddNode("Gemm", "/fc/Gemm", []*ir.Value{mean.Out(0), fc}, 1, ir.IntAttr("transB", 1))
	g.AddOutput(gemm.Out(0))
	m := &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: 13}}, Graph: g}
	f, err := lint.NewFacts(m, "emb.onnx")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(m, f, Options{Batch: 4, DimSize: 6})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Inputs[0].Shape, []int{4, 6}) || r.Inputs[0].Fill != "integers in [0, 20)" {
		t.Errorf("inputs %+v, want [4 6] integers in [0, 20)", r.Inputs)
	}
	notes := strings.Join(r.Notes, "\n")
	if !strings.Contains(notes, `symbolic dimension "seq" of input ids set to 6`) || !strings.Contains(notes, "the rows of emb.weight") {
		t.Errorf("notes do not explain the choices:\n%s", notes)
	}
	if len(r.Layers) != 1 || r.Layers[0].GradNorm == 0 {
		t.Errorf("layers %+v", r.Layers)
	}
}

func TestUnsupportedModelIsAnError(t *testing.T) {
	m, f := load(t, "../../testdata/lint/unsupported_einsum.onnx")
	if _, err := Run(m, f, Options{}); err == nil || !strings.Contains(err.Error(), "Einsum") {
		t.Errorf("Einsum model: error %v, want one naming Einsum", err)
	}
}

// TestZeroHead: torchvision's ViT zero-initializes its head, which would
// leave every other layer without a gradient. The probe measures with
// LeCun-normal weights in the head's place and says so.
func TestZeroHead(t *testing.T) {
	r := probe(t, "../../testdata/lint/realarch/vit_s.train.onnx", Options{Batch: 8})
	last := r.Layers[len(r.Layers)-1]
	if !last.Substituted || last.Param != "heads.head.weight" {
		t.Fatalf("last layer %+v, want the substituted head", last)
	}
	// N(0, 1/32) over 10×32 weights: ‖W‖ ≈ √(320/32) = √10 ≈ 3.2.
	if last.WeightNorm < 2 || last.WeightNorm > 4.5 {
		t.Errorf("substituted head norm %g, want ≈ 3.2", last.WeightNorm)
	}
	for _, l := range r.Layers[:len(r.Layers)-1] {
		if l.Substituted || !(l.GradNorm > 0) {
			t.Errorf("%s: %+v, want a nonzero gradient through the substituted head", l.Node, l)
		}
	}
	found := false
	for _, n := range r.Notes {
		found = found || strings.Contains(n, "heads.head.weight is all zeros")
	}
	if !found {
		t.Errorf("notes %q do not mention the zero head", r.Notes)
	}
	// badinit_zero: every layer is zero, nothing is substituted (NN201 and
	// NN601 must see the broken initialization).
	r = probe(t, "../../testdata/models/badinit_zero/train.onnx", Options{Batch: 4})
	for _, l := range r.Layers {
		if l.Substituted {
			t.Errorf("badinit_zero %s substituted", l.Node)
		}
	}
}

// TestVarianceShift checks the measured shift against Li et al.'s theory:
// ReLU of a BatchNorm output is ReLU(N(0,1)) with μ = 0.399, σ² = 0.341, so
// Dropout(p) before a Linear scales the variance the next BatchNorm sees by
// ((σ²+μ²)/(1−p) − μ²)/σ² = 2.47 at p = 0.5 and 1.17 at p = 0.1 (a Linear
// layer mixes units but keeps the ratio for independent units).
func TestVarianceShift(t *testing.T) {
	for _, c := range []struct {
		file   string
		lo, hi float64
	}{
		// 32 samples per channel estimate a variance within ≈ ±25 %
		// (√(2/32)); the mean over 64 channels of max(a/b, b/a) is biased
		// upwards by that noise, hence the asymmetric bands.
		{"drop_lin_bn_s.train.onnx", 2.0, 3.1},
		{"drop_lin_bn_p1_s.train.onnx", 1.1, 1.45},
	} {
		r := probe(t, "../../testdata/lint/realarch/"+c.file, Options{Batch: 32})
		if len(r.Shifts) != 2 {
			t.Fatalf("%s: shifts %+v, want 2", c.file, r.Shifts)
		}
		for _, s := range r.Shifts {
			if s.Mean < c.lo || s.Mean > c.hi || s.Max < s.Mean || s.Channels != 64 || len(s.Through) != 1 {
				t.Errorf("%s: %+v, want mean in [%g, %g] over 64 channels through one layer", c.file, s, c.lo, c.hi)
			}
		}
	}
	// No Dropout upstream of the BatchNorms: nothing measured.
	if r := probe(t, "../../testdata/models/vgg_bn/train.onnx", Options{Batch: 4}); len(r.Shifts) != 0 {
		t.Errorf("vgg_bn shifts %+v, want none", r.Shifts)
	}
}

// TestChooseBatch: small models get MaxBatch; the per-sample estimate
// follows from the architecture (ResNet-18 at 32×32: 0.56 GMAC for
// 1000 classes at 224×224 scales to ≈ 37 MMAC at 32×32 with 10 classes).
func TestChooseBatch(t *testing.T) {
	m, f := load(t, "../../testdata/models/resnet18/train.onnx.gz")
	prog, err := exec.Compile(m, exec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var untyped []*ir.Value
	for _, n := range f.Order {
		for _, o := range n.Outputs {
			if o != nil && o.Type == nil {
				untyped = append(untyped, o)
			}
		}
	}
	if len(untyped) == 0 {
		t.Fatal("the fixture declares every value's type; pick one that does not")
	}
	b, note := ChooseBatch(m, f, prog.Inputs(), 16)
	macs, acts := perSample(m, f, prog.Inputs(), 16)
	if b != MaxBatch || macs < 20e6 || macs > 60e6 || acts <= 0 {
		t.Errorf("batch %d (%s), %g MACs, %g activations per sample", b, note, macs, acts)
	}
	// Shape inference ran for the estimate; the model must be left as it
	// was read (the rules see undeclared values as undeclared).
	for _, v := range untyped {
		if v.Type != nil {
			t.Fatalf("value %s left typed after the estimate", v.Name)
		}
	}
}
