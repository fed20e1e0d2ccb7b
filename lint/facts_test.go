package lint_test

import (
	"math"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// graph is a tiny builder for test graphs with one float input.
type graph struct {
	t *testing.T
	m *ir.Model
	g *ir.Graph
}

func newGraph(t *testing.T, inShape ...int64) *graph {
	g := ir.NewGraph("test")
	dims := make(ir.Shape, len(inShape))
	for i, d := range inShape {
		dims[i] = ir.DimOf(d)
	}
	dims[0] = ir.SymDim("batch")
	g.AddInput("input", ir.TensorType(ir.Float32, dims))
	return &graph{t: t, m: &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: 13}}, Graph: g}, g: g}
}

func (b *graph) in() *ir.Value { return b.g.Value("input") }

// weight adds an initializer filled with a checkerboard of ±std (mean 0,
// std exactly std, no two neighbouring rows equal).
func (b *graph) weight(name string, std float64, dims ...int64) *ir.Value {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	cols := int(dims[len(dims)-1])
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(std)
		if (i+i/cols)%2 == 1 {
			data[i] = -float32(std)
		}
	}
	return b.g.AddInitializer(ir.NewFloat32(name, dims, data))
}

func (b *graph) scalar(name string, v float32) *ir.Value {
	return b.g.AddInitializer(ir.NewFloat32(name, nil, []float32{v}))
}

func (b *graph) node(op, name string, nOut int, ins []*ir.Value, attrs ...*ir.Attribute) *ir.Node {
	return b.g.AddNode(op, name, ins, nOut, attrs...)
}

func (b *graph) facts() *lint.Facts {
	f, err := lint.NewFacts(b.m, "test.onnx")
	if err != nil {
		b.t.Fatal(err)
	}
	return f
}

// layerNorm appends PyTorch's decomposed LayerNorm (opset < 17) and
// returns the Div that normalizes.
func (b *graph) layerNorm(x *ir.Value, prefix string) *ir.Node {
	mean := b.node("ReduceMean", prefix+"/ReduceMean", 1, []*ir.Value{x}, ir.IntsAttr("axes", -1))
	sub := b.node("Sub", prefix+"/Sub", 1, []*ir.Value{x, mean.Out(0)})
	pow := b.node("Pow", prefix+"/Pow", 1, []*ir.Value{sub.Out(0), b.scalar(prefix+".two", 2)})
	v := b.node("ReduceMean", prefix+"/ReduceMean_1", 1, []*ir.Value{pow.Out(0)}, ir.IntsAttr("axes", -1))
	add := b.node("Add", prefix+"/Add", 1, []*ir.Value{v.Out(0), b.scalar(prefix+".eps", 1e-5)})
	sq := b.node("Sqrt", prefix+"/Sqrt", 1, []*ir.Value{add.Out(0)})
	return b.node("Div", prefix+"/Div", 1, []*ir.Value{sub.Out(0), sq.Out(0)})
}

func TestDecomposedNormsAreNormalization(t *testing.T) {
	b := newGraph(t, 1, 8, 32)
	w := b.weight("fc.weight", 0.1, 32, 32)
	tr := b.node("Transpose", "/fc/Transpose", 1, []*ir.Value{w})
	mm := b.node("MatMul", "/fc/MatMul", 1, []*ir.Value{b.in(), tr.Out(0)})
	ln := b.layerNorm(mm.Out(0), "/norm")
	// RMSNorm: x * Reciprocal(Sqrt(ReduceMean(x²) + eps))
	sq := b.node("Mul", "/rms/Mul", 1, []*ir.Value{ln.Out(0), ln.Out(0)})
	mean := b.node("ReduceMean", "/rms/ReduceMean", 1, []*ir.Value{sq.Out(0)}, ir.IntsAttr("axes", -1))
	add := b.node("Add", "/rms/Add", 1, []*ir.Value{mean.Out(0), b.scalar("rms.eps", 1e-6)})
	rt := b.node("Sqrt", "/rms/Sqrt", 1, []*ir.Value{add.Out(0)})
	rc := b.node("Reciprocal", "/rms/Reciprocal", 1, []*ir.Value{rt.Out(0)})
	rms := b.node("Mul", "/rms/Mul_1", 1, []*ir.Value{ln.Out(0), rc.Out(0)})
	b.g.AddOutput(rms.Out(0))
	f := b.facts()

	if !f.IsNorm(ln) || !f.IsNorm(rms) {
		t.Errorf("IsNorm(LayerNorm Div) = %v, IsNorm(RMSNorm Mul) = %v; want both true", f.IsNorm(ln), f.IsNorm(rms))
	}
	if f.IsNorm(sq) || f.IsNorm(b.g.Nodes[3]) {
		t.Error("a plain Mul or Sub counted as normalization")
	}
	if len(f.Layers) != 1 {
		t.Fatalf("found %d layers, want the MatMul", len(f.Layers))
	}
	l := f.Layers[0]
	// The Transpose of a [32, 32] weight: fan_in is the weight's dim 1.
	if l.FanIn != 32 || l.Next.Kind != lint.ActNorm || l.Next.Node != ln {
		t.Errorf("layer: fan_in %d, next %v at %v; want 32, normalization at the LayerNorm Div", l.FanIn, l.Next.Kind, l.Next.Node)
	}
}

func TestFanInFollowsTorch(t *testing.T) {
	b := newGraph(t, 1, 3, 8, 8)
	// Conv [16, 3, 3, 3]: fan_in 3·3·3 = 27, fan_out 16·9 = 144.
	c1 := b.node("Conv", "c1", 1, []*ir.Value{b.in(), b.weight("c1.weight", 0.1, 16, 3, 3, 3)}, ir.IntsAttr("pads", 1, 1, 1, 1))
	r1 := b.node("Relu", "r1", 1, []*ir.Value{c1.Out(0)})
	// Depthwise [16, 1, 3, 3], group 16: fan_in = (16/16)·9 = 9, fan_out = 16·9.
	c2 := b.node("Conv", "c2", 1, []*ir.Value{r1.Out(0), b.weight("c2.weight", 0.1, 16, 1, 3, 3)}, ir.IntAttr("group", 16))
	// ReLU6 = Clip(x, 0, 6) with constant inputs.
	clip := b.node("Clip", "relu6", 1, []*ir.Value{c2.Out(0), b.scalar("lo", 0), b.scalar("hi", 6)})
	gap := b.node("GlobalAveragePool", "gap", 1, []*ir.Value{clip.Out(0)})
	fl := b.node("Flatten", "flat", 1, []*ir.Value{gap.Out(0)})
	// Gemm with transB=1 reads B as [out, in] = [10, 16].
	g1 := b.node("Gemm", "fc", 1, []*ir.Value{fl.Out(0), b.weight("fc.weight", 0.1, 10, 16), b.weight("fc.bias", 0, 10)}, ir.IntAttr("transB", 1))
	// Gemm without transB reads B as [in, out] = [10, 7]; GELU follows (Div, Erf).
	g2 := b.node("Gemm", "fc2", 1, []*ir.Value{g1.Out(0), b.weight("fc2.weight", 0.1, 10, 7)})
	div := b.node("Div", "gelu/Div", 1, []*ir.Value{g2.Out(0), b.scalar("sqrt2", 1.4142135)})
	// ConvTranspose [16, 8, 3, 3] stride 2 on c1's output: torch's fan_in
	// is 8·9 = 72 (dim 1 of the weight), but each output pixel sums
	// 16·9/4 = 36 terms; fan_out 16·9 = 144.
	ct := b.node("ConvTranspose", "up", 1, []*ir.Value{r1.Out(0), b.weight("up.weight", 0.1, 16, 8, 3, 3)}, ir.IntsAttr("strides", 2, 2))
	b.g.AddOutput(ct.Out(0))
	erf := b.node("Erf", "gelu/Erf", 1, []*ir.Value{div.Out(0)})
	b.g.AddOutput(erf.Out(0))
	f := b.facts()

	want := []struct {
		name           string
		fanIn, fanOut  int
		groups         int
		next           lint.ActKind
		bias, hasFixed bool
	}{
		{"c1", 27, 144, 1, lint.ActReLU, false, true},
		{"c2", 9, 144, 16, lint.ActReLU, false, true},
		{"fc", 16, 10, 1, lint.ActGELU, true, true},
		{"fc2", 10, 7, 1, lint.ActGELU, false, true},
		{"up", 36, 144, 1, lint.ActNone, false, true},
	}
	if len(f.Layers) != len(want) {
		t.Fatalf("found %d layers, want %d", len(f.Layers), len(want))
	}
	for i, w := range want {
		l := f.Layers[i]
		if l.Node.Name != w.name || l.FanIn != w.fanIn || l.FanOut != w.fanOut || l.Groups != w.groups || (l.Bias != nil) != w.bias {
			t.Errorf("layer %d: %s fan_in %d fan_out %d groups %d bias %v; want %+v", i, l.Node.Name, l.FanIn, l.FanOut, l.Groups, l.Bias != nil, w)
		}
	}
	if l := f.Layers[4]; l.InitFanIn != 72 {
		t.Errorf("ConvTranspose: torch's fan_in %d, want 72", l.InitFanIn)
	}
	// fc is followed by fc2 (a layer: linear), fc2 by GELU.
	if k := f.Layers[2].Next.Kind; k != lint.ActNone {
		t.Errorf("fc followed by %s, want linear (the next layer)", k)
	}
	if k := f.Layers[3].Next.Kind; k != lint.ActGELU {
		t.Errorf("fc2 followed by %s, want GELU (Div by √2, Erf)", k)
	}
}

func TestInitReference(t *testing.T) {
	for _, c := range []struct {
		act     lint.Activation
		in, out int
		want    float64
	}{
		{lint.Activation{Kind: lint.ActReLU}, 64, 64, math.Sqrt(2.0 / 64)},
		{lint.Activation{Kind: lint.ActLeakyReLU, Slope: 0.01}, 64, 64, math.Sqrt(2 / ((1 + 1e-4) * 64))},
		{lint.Activation{Kind: lint.ActTanh}, 64, 32, math.Sqrt(2.0 / 96)},
		{lint.Activation{Kind: lint.ActSigmoid}, 50, 10, math.Sqrt(1.0 / 50)},
		{lint.Activation{Kind: lint.ActNone}, 100, 10, 0.1},
	} {
		got, _ := lint.InitReference(c.act, c.in, c.out)
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("InitReference(%s, %d, %d) = %g, want %g", c.act.Kind, c.in, c.out, got, c.want)
		}
	}
}

func TestSiLUAndStats(t *testing.T) {
	b := newGraph(t, 1, 4)
	w := b.weight("w", 0.5, 4, 4)
	nan := b.g.AddInitializer(ir.NewFloat32("bad", []int64{4}, []float32{1, float32(math.NaN()), float32(math.Inf(1)), 3}))
	same := b.g.AddInitializer(ir.NewFloat32("same", []int64{2, 3}, []float32{2, 2, 2, 2, 2, 2}))
	rows := b.g.AddInitializer(ir.NewFloat32("rows", []int64{3, 2}, []float32{1, 2, 1, 2, 1, 2}))
	mm := b.node("Gemm", "fc", 1, []*ir.Value{b.in(), w, nan})
	sig := b.node("Sigmoid", "silu/Sigmoid", 1, []*ir.Value{mm.Out(0)})
	mul := b.node("Mul", "silu/Mul", 1, []*ir.Value{mm.Out(0), sig.Out(0)})
	out := b.node("Add", "add", 1, []*ir.Value{mul.Out(0), b.node("MatMul", "mm2", 1, []*ir.Value{mul.Out(0), same}).Out(0)})
	_ = rows
	b.g.AddOutput(out.Out(0))
	f := b.facts()

	if a, ok := f.Act(sig); !ok || a.Kind != lint.ActSiLU {
		t.Errorf("x·sigmoid(x) classified as %v, want SiLU", a.Kind)
	}
	if k := f.Layers[0].Next.Kind; k != lint.ActSiLU {
		t.Errorf("fc followed by %s, want SiLU", k)
	}
	s := f.Stats(w.Init)
	if s.N != 16 || s.Mean != 0 || math.Abs(s.Std-0.5) > 1e-7 || s.Constant {
		t.Errorf("stats of ±0.5 = %+v", s)
	}
	s = f.Stats(nan.Init)
	if s.NaN != 1 || s.Inf != 1 || s.Mean != 2 || s.Constant {
		t.Errorf("stats of [1 NaN Inf 3] = %+v; want 1 NaN, 1 Inf, mean of the finite 2", s)
	}
	if s := f.Stats(same.Init); !s.Constant || s.Mean != 2 || s.Std != 0 {
		t.Errorf("stats of all-2 = %+v, want constant", s)
	}
	if !lint.IdenticalRows(rows.Init) || lint.IdenticalRows(w.Init) || lint.IdenticalRows(nan.Init) {
		t.Error("IdenticalRows wrong")
	}
}
