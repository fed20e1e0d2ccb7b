package train

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// initBounds is testdata/train/head/init_bounds.json, written by
// make_head_fixtures.py from torch's own init helpers.
type initBounds struct {
	Layers []struct {
		Kind        string  `json:"kind"`
		WeightShape []int64 `json:"weight_shape"`
		FanIn       int     `json:"fan_in"`
		WeightBound float64 `json:"weight_bound"`
		BiasBound   float64 `json:"bias_bound"`
	} `json:"layers"`
	TorchDraw struct {
		WeightShape []int64 `json:"weight_shape"`
		Mean, Var   float64
		MaxAbs      float64 `json:"max_abs"`
	} `json:"torch_draw"`
}

// oneLayer is input → Gemm (transB=1, like nn.Linear) or Conv → output,
// the shape of a PyTorch layer with weight dims w.
func oneLayer(kind string, w []int64) *ir.Model {
	g := ir.NewGraph("one")
	batch := ir.Dim{Param: "batch"}
	inShape := ir.Shape{batch, {Value: w[1]}}
	if kind == "conv" {
		inShape = ir.Shape{batch, {Value: w[1]}, {Value: 9}, {Value: 9}}
	}
	x := g.AddInput("input", &ir.TypeInfo{Elem: ir.Float32, Shape: inShape})
	wv := g.AddInitializer(ir.NewFloat32("layer.weight", w, make([]float32, numel64(w))))
	bv := g.AddInitializer(ir.NewFloat32("layer.bias", w[:1], make([]float32, w[0])))
	var n *ir.Node
	if kind == "conv" {
		n = g.AddNode("Conv", "conv", []*ir.Value{x, wv, bv}, 1)
	} else {
		n = g.AddNode("Gemm", "fc", []*ir.Value{x, wv, bv}, 1, ir.IntAttr("transB", 1))
	}
	g.AddOutput(n.Outputs[0])
	return &ir.Model{IRVersion: 7, Opsets: []ir.OpsetID{{Version: 13}}, Graph: g}
}

// The fresh head is drawn from exactly the distribution PyTorch's
// reset_parameters() uses: the bounds equal torch's (computed through
// calculate_gain('leaky_relu', √5) and the fan-in of the weight), every
// value lies inside them, and a large draw has the moments of U(±bound),
// as torch's own draw of the same layer has.
func TestReplaceHeadInitMatchesPyTorch(t *testing.T) {
	raw, err := os.ReadFile("../testdata/train/head/init_bounds.json")
	if err != nil {
		t.Fatal(err)
	}
	var ib initBounds
	if err := json.Unmarshal(raw, &ib); err != nil {
		t.Fatal(err)
	}
	for _, c := range ib.Layers {
		m := oneLayer(c.Kind, c.WeightShape)
		h, err := ReplaceHead(m, int(c.WeightShape[0]), 7)
		if err != nil {
			t.Fatal(err)
		}
		if h.FanIn != c.FanIn {
			t.Errorf("%s %v: fan_in %d, torch %d", c.Kind, c.WeightShape, h.FanIn, c.FanIn)
		}
		// torch's weight bound is √3·√(1/3)/√fan_in, ours 1/√fan_in: equal up
		// to the float64 rounding of those few operations (a few ulps).
		for _, want := range []float64{c.WeightBound, c.BiasBound} {
			if math.Abs(h.Bound-want) > 4e-16*want {
				t.Errorf("%s %v: bound %.17g, torch %.17g", c.Kind, c.WeightShape, h.Bound, want)
			}
		}
		for _, name := range []string{"layer.weight", "layer.bias"} {
			vals, _ := m.Graph.Initializer(name).Float32s()
			for _, v := range vals {
				if math.Abs(float64(v)) > h.Bound {
					t.Fatalf("%s %v: %s value %v outside ±%v", c.Kind, c.WeightShape, name, v, h.Bound)
				}
			}
		}
	}

	td := ib.TorchDraw
	m := oneLayer("linear", td.WeightShape)
	h, err := ReplaceHead(m, int(td.WeightShape[0]), 1)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := m.Graph.Initializer("layer.weight").Float32s()
	var sum, sq, maxAbs float64
	for _, v := range w {
		sum += float64(v)
		maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
	}
	n := float64(len(w))
	mean := sum / n
	for _, v := range w {
		sq += (float64(v) - mean) * (float64(v) - mean)
	}
	variance := sq / (n - 1)
	want := h.Bound * h.Bound / 3 // variance of U(±b)
	// Sampling error: sd(mean) = b/√(3n) ≈ 2.6e-4 here, sd(var)/var =
	// √(0.8/n) ≈ 0.2%; allow 5 standard deviations for both draws.
	sdMean := h.Bound / math.Sqrt(3*n)
	if math.Abs(mean) > 5*sdMean || math.Abs(td.Mean) > 5*sdMean {
		t.Errorf("means: ours %g, torch %g (sd %g)", mean, td.Mean, sdMean)
	}
	tolVar := 5 * math.Sqrt(0.8/n) * want
	if math.Abs(variance-want) > tolVar || math.Abs(td.Var-want) > tolVar {
		t.Errorf("variances: ours %g, torch %g, U(±%g) %g", variance, td.Var, h.Bound, want)
	}
	// The largest of n uniform draws is within b·10/n of the bound except
	// with probability e^-10.
	if maxAbs < h.Bound*(1-10/n) || td.MaxAbs < h.Bound*(1-10/n) || td.MaxAbs > h.Bound {
		t.Errorf("max |w|: ours %g, torch %g, bound %g", maxAbs, td.MaxAbs, h.Bound)
	}
	// Seeded: the same seed draws the same head, another seed another one.
	m2 := oneLayer("linear", td.WeightShape)
	ReplaceHead(m2, int(td.WeightShape[0]), 1)
	m3 := oneLayer("linear", td.WeightShape)
	ReplaceHead(m3, int(td.WeightShape[0]), 2)
	if string(m2.Graph.Initializer("layer.weight").Raw) != string(m.Graph.Initializer("layer.weight").Raw) ||
		string(m3.Graph.Initializer("layer.weight").Raw) == string(m.Graph.Initializer("layer.weight").Raw) {
		t.Error("the head's initialization does not follow the seed")
	}
}

// On real exports — a Gemm classifier, a SqueezeNet-style 1×1 Conv
// classifier, and nn.Linear on a 3-D tensor (MatMul + Add) followed by
// x.view(-1, 10) — the replaced model runs with 3 outputs, keeps the
// initializer names and every other initializer, declares the new output
// shape with the symbolic batch, and survives writing and reading.
func TestReplaceHeadOnExports(t *testing.T) {
	for _, c := range []struct {
		file, op, weight, bias string
		fanIn, reshapes        int
		in                     []int
	}{
		{"../testdata/models/mlp_digits/eval.onnx", "Gemm", "fc2.weight", "fc2.bias", 0, 0, []int{5, 64}},
		{"../testdata/models/resnet_narrow/train.onnx", "Gemm", "fc.weight", "fc.bias", 0, 0, []int{5, 3, 16, 16}},
		{"../testdata/train/head/conv_head.onnx", "Conv", "classifier.0.weight", "classifier.0.bias", 8, 0, []int{5, 1, 8, 8}},
		{"../testdata/train/head/matmul_head.onnx", "MatMul+Add", "onnx::MatMul_31", "head.bias", 16, 1, []int{5, 64}},
	} {
		t.Run(filepath.Base(filepath.Dir(c.file))+"/"+filepath.Base(c.file), func(t *testing.T) {
			m, err := onnxio.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			before := map[string]string{}
			for _, v := range m.Graph.Initializers {
				before[v.Name] = string(v.Init.Raw)
			}
			h, err := ReplaceHead(m, 3, 0)
			if err != nil {
				t.Fatal(err)
			}
			if h.Op != c.op || h.Weight != c.weight || h.Bias != c.bias || h.Old != 10 || h.New != 3 || h.Reshapes != c.reshapes {
				t.Fatalf("head %+v", h)
			}
			if c.fanIn > 0 && h.FanIn != c.fanIn {
				t.Errorf("fan_in %d, want %d", h.FanIn, c.fanIn)
			}
			for _, v := range m.Graph.Initializers {
				changed := before[v.Name] != string(v.Init.Raw)
				if changed != (v.Name == c.weight || v.Name == c.bias) && !strings.HasPrefix(v.Name, "/") {
					t.Errorf("initializer %s changed: %v", v.Name, changed)
				}
			}
			o := m.Graph.Outputs[0].Type.Shape
			if len(o) != 2 || o[0].Param != "batch" || o[1].Value != 3 {
				t.Errorf("declared output shape %v", o)
			}
			path := filepath.Join(t.TempDir(), "m.onnx")
			if err := onnxio.WriteFile(path, m, nil); err != nil {
				t.Fatal(err)
			}
			m2, err := onnxio.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p, err := exec.Compile(m2, exec.Options{})
			if err != nil {
				t.Fatal(err)
			}
			n := 1
			for _, d := range c.in {
				n *= d
			}
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(i%7) / 7
			}
			out, err := p.Run(exec.Eval, map[string]*exec.Tensor{"input": {DType: ir.Float32, Shape: c.in, F: x}})
			if err != nil {
				t.Fatal(err)
			}
			if s := out["output"].Shape; len(s) != 2 || s[0] != 5 || s[1] != 3 {
				t.Errorf("output shape %v, want [5 3]", s)
			}
		})
	}
}

func TestReplaceHeadRefuses(t *testing.T) {
	// A classifier whose weight is shared (tied) with another layer.
	g := ir.NewGraph("tied")
	x := g.AddInput("input", &ir.TypeInfo{Elem: ir.Float32, Shape: ir.Shape{{Param: "batch"}, {Value: 4}}})
	w := g.AddInitializer(ir.NewFloat32("w", []int64{4, 4}, make([]float32, 16)))
	a := g.AddNode("Gemm", "a", []*ir.Value{x, w}, 1, ir.IntAttr("transB", 1))
	b := g.AddNode("Gemm", "b", []*ir.Value{a.Outputs[0], w}, 1, ir.IntAttr("transB", 1))
	g.AddOutput(b.Outputs[0])
	m := &ir.Model{Opsets: []ir.OpsetID{{Version: 13}}, Graph: g}
	if _, err := ReplaceHead(m, 3, 0); err == nil || !strings.Contains(err.Error(), "shared") {
		t.Errorf("tied weight: %v", err)
	}
	if _, err := ReplaceHead(oneLayer("linear", []int64{3, 4}), 0, 0); err == nil {
		t.Error("0 classes accepted")
	}
	// A last weighted layer that is not a classifier kind.
	g = ir.NewGraph("ln")
	x = g.AddInput("input", &ir.TypeInfo{Elem: ir.Float32, Shape: ir.Shape{{Param: "batch"}, {Value: 4}}})
	s := g.AddInitializer(ir.NewFloat32("s", []int64{4}, make([]float32, 4)))
	bb := g.AddInitializer(ir.NewFloat32("bb", []int64{4}, make([]float32, 4)))
	n := g.AddNode("LayerNormalization", "ln", []*ir.Value{x, s, bb}, 1)
	g.AddOutput(n.Outputs[0])
	if _, err := ReplaceHead(&ir.Model{Opsets: []ir.OpsetID{{Version: 17}}, Graph: g}, 3, 0); err == nil || !strings.Contains(err.Error(), "LayerNormalization") {
		t.Errorf("LayerNorm last: %v", err)
	}
}

func TestFreezeGlobs(t *testing.T) {
	m, err := onnxio.ReadFile("../testdata/models/resnet_narrow/train.onnx")
	if err != nil {
		t.Fatal(err)
	}
	nParams := len(m.Graph.Parameters())
	f, err := Freeze(m, SplitGlobs([]string{"conv1.*,bn1.*", "layer1.*"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Graph.Parameters() {
		want := strings.HasPrefix(p.Name, "conv1.") || strings.HasPrefix(p.Name, "bn1.") || strings.HasPrefix(p.Name, "layer1.")
		if f[p.Name] != want {
			t.Errorf("%s frozen %v", p.Name, f[p.Name])
		}
	}
	f, err = Freeze(m, nil, []string{"fc.*"})
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != nParams-2 || f["fc.weight"] || f["fc.bias"] {
		t.Errorf("--train-only fc.*: %d frozen of %d", len(f), nParams)
	}
	// Both: trained = matches train-only and no freeze glob.
	f, err = Freeze(m, []string{"layer2.bn*"}, []string{"layer2.*", "fc.*"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Graph.Parameters() {
		trained := (strings.HasPrefix(p.Name, "layer2.") && !strings.HasPrefix(p.Name, "layer2.bn")) || strings.HasPrefix(p.Name, "fc.")
		if f[p.Name] == trained {
			t.Errorf("%s frozen %v", p.Name, f[p.Name])
		}
	}
	// The errors say which list and glob (nntrain's wording with its
	// flags: cmd/nntrain TestFreezeErrorsNameFlags).
	for _, c := range []struct {
		freeze, only []string
		list         Globs
		want         string
	}{
		{[]string{"layr1.*"}, nil, FreezeGlobs, `freeze glob "layr1.*" matches no parameter`},
		{nil, []string{"head.*"}, TrainOnlyGlobs, `train-only glob "head.*" matches no parameter`},
		{[]string{"*running_mean"}, nil, FreezeGlobs, "BatchNorm statistic"},
		{[]string{"["}, nil, FreezeGlobs, "bad pattern"},
	} {
		_, err := Freeze(m, c.freeze, c.only)
		var ge *GlobError
		if !errors.As(err, &ge) || ge.Globs != c.list || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v/%v: %v, want a %v error %q", c.freeze, c.only, err, c.list, c.want)
		}
	}
	_, err = Freeze(m, []string{"*"}, nil)
	var all *AllFrozenError
	if !errors.As(err, &all) || all.Params != nParams {
		t.Errorf("freezing everything: %v", err)
	}
}
