package exec

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// runResidual runs m (compiled forward-only, with or without the residual
// Add fused into the convolution before it) and returns its outputs and
// the op types of its steps.
func runResidual(t *testing.T, m *ir.Model, fused bool, threads int, in map[string]*Tensor) (map[string][]float32, string) {
	t.Helper()
	defer func(v bool) { fuseResidual = v }(fuseResidual)
	fuseResidual = fused
	p, err := Compile(m, Options{Inference: true, Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Run(Eval, in)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for k, v := range res {
		out[k] = append([]float32(nil), v.F...)
	}
	var ops []string
	for _, s := range p.e.last.steps {
		ops = append(ops, s.node.OpType)
	}
	return out, fmt.Sprint(ops)
}

// A residual Add (and the Relu or Clip after it) fused into the
// convolution that computes its second operand gives the bits of the
// separate Add and activation, at any thread count. Fused: an Add whose
// other operand is a graph input (and the Relu after it), an Add whose
// other operand is computed before this convolution (by the convolution
// that could not fuse it, the Add's first input: the second fuses it),
// an Add whose output is also a graph output (the Relu after it then
// runs on its own). Not fused: a broadcasting Add, a convolution output
// with a second reader, an Add of a value with itself.
func TestInferenceResidualFusion(t *testing.T) {
	b := newGB(13)
	x := b.input("x", 3, 8, 6, 6)
	pad := ir.IntsAttr("pads", 1, 1, 1, 1)
	conv := func(name string, in *ir.Value) *ir.Value {
		return b.node("Conv", []*ir.Value{in, b.param(name+".w", 8, 8, 3, 3), b.param(name+".b", 8)}, pad)
	}
	h := b.node("Relu", []*ir.Value{conv("a", x)})
	r1 := b.node("Relu", []*ir.Value{b.node("Add", []*ir.Value{conv("b", h), x})}) // skip is the graph input
	y2, y3 := conv("c", r1), conv("d", r1)
	s2 := b.node("Add", []*ir.Value{y2, y3}) // fused into d, whose output is input 1
	r3 := b.node("Clip", []*ir.Value{s2, b.constF(-0.5), b.constF(0.5)})
	s4 := b.node("Add", []*ir.Value{conv("e", r1), b.param("bc", 8, 1, 1)}) // broadcasts
	y5 := conv("f", r1)
	s5 := b.node("Add", []*ir.Value{y5, r1}) // y5 is also a graph output
	y6 := conv("g", r3)
	s6 := b.node("Add", []*ir.Value{y6, y6})
	s7 := b.node("Add", []*ir.Value{r1, conv("h", s6)}) // the output of the Add is a graph output and read by Relu
	b.out(s2, r3, s4, y5, s5, s6, s7, b.node("Relu", []*ir.Value{s7}))
	xd := make([]float32, 3*8*6*6)
	for i := range xd {
		xd[i] = float32(b.rng.NormFloat64())
	}
	in := map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{3, 8, 6, 6}, F: xd}}
	want, plain := runResidual(t, b.model(), false, 1, in)
	if plain != "[Conv Conv Add Relu Conv Conv Add Clip Conv Add Conv Add Conv Add Conv Add Relu]" && simd() {
		t.Fatalf("unfused steps %s", plain)
	}
	for _, threads := range []int{1, 2, 3} {
		got, ops := runResidual(t, b.model(), true, threads, in)
		wantOps := "[Conv Conv Conv Conv Clip Conv Add Conv Add Conv Add Conv Relu]"
		if !simd() { // no SIMD kernel: convolutions take the training path, unfused
			wantOps = plain
		}
		if ops != wantOps {
			t.Errorf("%d threads: steps %s, want %s", threads, ops, wantOps)
		}
		for k, v := range want {
			if !sameBits(got[k], v) {
				t.Errorf("%d threads: output %s is not the unfused bits", threads, k)
			}
		}
	}
}

// The same on the fixtures: ResNet-18's eight skip connections and
// MobileNetV2's residual bottlenecks fuse, with the unfused bits.
func TestInferenceResidualFusionFixtures(t *testing.T) {
	for _, name := range []string{"resnet18", "mobilenet_v2"} {
		t.Run(name, func(t *testing.T) {
			g := loadGolden(t, name)
			m, err := onnxio.ReadFile(filepath.Join(g.dir, "eval.onnx.gz"))
			if err != nil {
				t.Fatal(err)
			}
			x := g.get(t, "input")
			in := map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}
			adds := 0
			for _, n := range m.Graph.Nodes {
				if n.OpType == "Add" {
					adds++
				}
			}
			want, _ := runResidual(t, m, false, 1, in)
			for _, threads := range []int{1, 2} {
				got, ops := runResidual(t, m, true, threads, in)
				for k, v := range want {
					if !sameBits(got[k], v) {
						t.Errorf("%d threads: output %s is not the unfused bits", threads, k)
					}
				}
				left := countOps(ops, "Add")
				if simd() && (adds == 0 || left != 0) {
					t.Errorf("%d of %d Adds left unfused: %s", left, adds, ops)
				}
			}
		})
	}
}

// countOps counts op in a list of op types printed as "[A B …]".
func countOps(ops, op string) int {
	n := 0
	for _, f := range strings.Fields(strings.Trim(ops, "[]")) {
		if f == op {
			n++
		}
	}
	return n
}

// The fused residual on each of the inference convolution's output paths:
// written in place (one image of 16×16 per chunk), scattered from the
// transposed product (one pixel per image), scattered from a chunk of
// several images; with Relu, Clip and no activation.
func TestInferenceResidualFusionPaths(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    []int
		act  string
	}{
		{"in place", []int{2, 4, 16, 16}, "Relu"},
		{"transposed", []int{1, 64, 1, 1}, "Clip"},
		{"chunk of images", []int{5, 6, 4, 4}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newGB(13)
			x := b.input("x", tc.x...)
			C := tc.x[1]
			y := b.node("Conv", []*ir.Value{x, b.param("w", C, C, 3, 3), b.param("b", C)}, ir.IntsAttr("pads", 1, 1, 1, 1))
			s := b.node("Add", []*ir.Value{x, y})
			switch tc.act {
			case "Relu":
				s = b.node("Relu", []*ir.Value{s})
			case "Clip":
				s = b.node("Clip", []*ir.Value{s, b.constF(-1), b.constF(0.25)})
			}
			b.out(s)
			xd := make([]float32, numel(tc.x))
			for i := range xd {
				xd[i] = float32(b.rng.NormFloat64())
			}
			in := map[string]*Tensor{"x": {DType: ir.Float32, Shape: tc.x, F: xd}}
			want, _ := runResidual(t, b.model(), false, 1, in)
			for _, threads := range []int{1, 2} {
				got, ops := runResidual(t, b.model(), true, threads, in)
				if simd() && ops != "[Conv]" {
					t.Errorf("%d threads: steps %s, want [Conv]", threads, ops)
				}
				if !sameBits(got[s.Name], want[s.Name]) {
					t.Errorf("%d threads: not the unfused bits", threads)
				}
			}
		})
	}
}

// Values observed while a forward-only program runs (Options.Watch) are
// their own: with an observer nothing is fused, and the convolution's
// output is seen before the Add and the Relu.
func TestInferenceFusionObserved(t *testing.T) {
	b := newGB(13)
	x := b.input("x", 2, 4, 5, 5)
	y := b.node("Conv", []*ir.Value{x, b.param("w", 4, 4, 3, 3)}, ir.IntsAttr("pads", 1, 1, 1, 1))
	r := b.node("Relu", []*ir.Value{b.node("Add", []*ir.Value{y, x})})
	b.out(r)
	xd := make([]float32, 2*4*5*5)
	for i := range xd {
		xd[i] = float32(b.rng.NormFloat64())
	}
	var seen []float32
	p, err := Compile(b.model(), Options{Inference: true, Watch: func(n string) bool { return n == y.Name },
		Observe: func(_ string, t *Tensor) { seen = append([]float32(nil), t.F...) }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{2, 4, 5, 5}, F: xd}})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(xd) {
		t.Fatalf("observed %d values of %s, want %d", len(seen), y.Name, len(xd))
	}
	for i, v := range res[r.Name].F {
		if want := max(seen[i]+xd[i], 0); v != want {
			t.Fatalf("relu[%d] = %g, observed conv %g + x %g gives %g", i, v, seen[i], xd[i], want)
		}
	}
}
