package exec

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// The pitfalls issue 3 lists, seen in an existing Go importer on the same
// kind of exports, each pinned by a test.

func run32(t *testing.T, m *ir.Model, mode Mode, opts Options, inputs map[string]*Tensor) (*Program, map[string]*Tensor) {
	t.Helper()
	p, err := Compile(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(mode, inputs)
	if err != nil {
		t.Fatal(err)
	}
	return p, out
}

func f32(n int, f func(i int) float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = f(i)
	}
	return s
}

// Negative indices and axes: −1 is the last element / axis everywhere.
func TestNegativeIndices(t *testing.T) {
	b := newGB(13)
	x := b.input("x", 2, 3, 4)                                                                    // x[i,j,k] = 100i + 10j + k
	last := b.node("Gather", []*ir.Value{x, b.scalarInt("m1", -1)}, ir.IntAttr("axis", 1))        // x[:, -1] → [2,4]
	lastV := b.node("Gather", []*ir.Value{x, b.ints("m1v", -1, -3)}, ir.IntAttr("axis", -1))      // x[..., [-1,-3]] → [2,3,2]
	sl := b.node("Slice", []*ir.Value{x, b.ints("s", -3), b.ints("e", -1), b.ints("a", -1)})      // x[..., 1:3]
	us := b.node("Unsqueeze", []*ir.Value{last, b.ints("ua", -1)})                                // [2,4,1]
	sq := b.node("Squeeze", []*ir.Value{us, b.ints("sa", -1)})                                    // [2,4]
	rm := b.node("ReduceMax", []*ir.Value{x}, ir.IntsAttr("axes", -1), ir.IntAttr("keepdims", 0)) // [2,3]
	cc := b.node("Concat", []*ir.Value{sq, last}, ir.IntAttr("axis", -1))                         // [2,8]
	shp := b.node("Gather", []*ir.Value{b.node("Shape", []*ir.Value{x}), b.ints("m1s", -1)})      // [4]
	b.out(last, lastV, sl, sq, rm, cc, shp)
	in := map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{2, 3, 4}, F: f32(24, func(i int) float32 {
		return float32(100*(i/12) + 10*(i/4%3) + i%4)
	})}}
	p, out := run32(t, b.model(), Eval, Options{}, in)
	names := p.OutputNames()
	want := []struct {
		shape []int
		vals  []float32
	}{
		{[]int{2, 4}, []float32{20, 21, 22, 23, 120, 121, 122, 123}},
		{[]int{2, 3, 2}, []float32{3, 1, 13, 11, 23, 21, 103, 101, 113, 111, 123, 121}},
		{[]int{2, 3, 2}, []float32{1, 2, 11, 12, 21, 22, 101, 102, 111, 112, 121, 122}},
		{[]int{2, 4}, []float32{20, 21, 22, 23, 120, 121, 122, 123}},
		{[]int{2, 3}, []float32{3, 13, 23, 103, 113, 123}},
		{[]int{2, 8}, []float32{20, 21, 22, 23, 20, 21, 22, 23, 120, 121, 122, 123, 120, 121, 122, 123}},
	}
	for i, w := range want {
		got := out[names[i]]
		if !sameShape(got.Shape, w.shape) || !equalF(got.F, w.vals) {
			t.Errorf("output %d: %v %v, want %v %v", i, got.Shape, got.F, w.shape, w.vals)
		}
	}
	if s := out[names[6]]; s.DType != ir.Int64 || len(s.I) != 1 || s.I[0] != 4 {
		t.Errorf("Gather(Shape(x), [-1]) = %v, want [4]", s.I)
	}
}

func equalF(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A training-mode BatchNormalization (opset-13 five-output form, opset-15
// training_mode form) must normalize with batch statistics in Train mode:
// per channel the output then has mean β and variance γ²·σ²/(σ²+ε) exactly,
// which running statistics cannot produce, and the running statistics move.
func TestTrainingBatchNormUsesBatchStatistics(t *testing.T) {
	for _, file := range []string{"train.onnx", "train_opset15.onnx"} {
		t.Run(file, func(t *testing.T) {
			g := loadGolden(t, "small_cnn")
			m, err := onnxio.ReadFile(filepath.Join(g.dir, file))
			if err != nil {
				t.Fatal(err)
			}
			forms := 0
			for _, n := range m.Graph.Nodes {
				if n.OpType == "BatchNormalization" && (len(n.Outputs) == 5 || n.Int("training_mode", 0) == 1) {
					forms++
				}
			}
			if forms != 2 {
				t.Fatalf("expected 2 training-mode BatchNormalization nodes in %s, found %d", file, forms)
			}
			x := g.get(t, "input")
			in := map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}
			// Keep: the Relu after it would otherwise overwrite the
			// BatchNorm's output in place (reluInPlace)
			p, err := Compile(m, Options{OverrideDropout: true, Keep: func(n string) bool { return n == "/bn1/BatchNormalization_output_0" }})
			if err != nil {
				t.Fatal(err)
			}
			rm0 := append([]float32(nil), p.Buffers()[0].Value...)
			if _, err := p.Run(Train, in); err != nil {
				t.Fatal(err)
			}
			y := p.Value("/bn1/BatchNormalization_output_0")
			if y == nil {
				t.Fatal("no value /bn1/BatchNormalization_output_0")
			}
			gamma, beta := paramValue(p, "bn1.weight"), paramValue(p, "bn1.bias")
			N, C, S := y.Shape[0], y.Shape[1], y.Shape[2]*y.Shape[3]
			for c := 0; c < C; c++ {
				var s, q float64
				for n := 0; n < N; n++ {
					for _, v := range y.F[(n*C+c)*S : (n*C+c+1)*S] {
						s += float64(v)
					}
				}
				mean := s / float64(N*S)
				for n := 0; n < N; n++ {
					for _, v := range y.F[(n*C+c)*S : (n*C+c+1)*S] {
						q += (float64(v) - mean) * (float64(v) - mean)
					}
				}
				std := math.Sqrt(q / float64(N*S))
				// the mean is β up to float32 rounding of O(1) values (1e-5);
				// the std is |γ|·σ/√(σ²+ε), within 1% of |γ| for these
				// channels (σ² ≫ ε = 1e-5)
				if math.Abs(mean-float64(beta[c])) > 1e-5 || math.Abs(std-math.Abs(float64(gamma[c]))) > 1e-2*math.Abs(float64(gamma[c])) {
					t.Fatalf("channel %d: mean %.6g std %.6g, batch statistics give β=%.6g and ≈|γ|=%.6g", c, mean, std, beta[c], gamma[c])
				}
			}
			// one update moves the running mean by 0.1·(batch mean − running), ≫ 1e-3 here
			if relErr(p.Buffers()[0].Value, toF64(rm0)) < 1e-3 {
				t.Error("running_mean did not move in Train mode")
			}
			// Eval mode on the same graph uses the (updated) running statistics
			// and leaves them alone.
			rm1 := append([]float32(nil), p.Buffers()[0].Value...)
			out, _ := p.Run(Eval, in)
			// running and batch statistics differ by O(0.1) here (norm_init)
			if relErr(out["output"].F, g.get(t, "train_output").f) < 1e-3 {
				t.Error("Eval mode reproduced the train output: batch statistics used in Eval")
			}
			if !equalF(rm1, p.Buffers()[0].Value) {
				t.Error("Eval mode changed the running statistics")
			}
		})
	}
}

func toF64(a []float32) []float64 {
	out := make([]float64, len(a))
	for i, v := range a {
		out[i] = float64(v)
	}
	return out
}

// BatchNorm running statistics are buffers: never parameters, no
// gradient, untouched by Backward.
func TestRunningStatsAreBuffers(t *testing.T) {
	g := loadGolden(t, "robustnet")
	m, err := onnxio.ReadFile(filepath.Join(g.dir, "train.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(m, Options{OverrideDropout: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range p.Params() {
		if strings.Contains(q.Name, "running") {
			t.Errorf("%s is a trainable parameter", q.Name)
		}
	}
	var names []string
	for _, b := range p.Buffers() {
		names = append(names, b.Name)
		if b.Grad != nil {
			t.Errorf("buffer %s has a gradient", b.Name)
		}
	}
	if strings.Join(names, ",") != strings.Join(g.meta.BufferNames, ",") {
		t.Errorf("buffers %v, want %v", names, g.meta.BufferNames)
	}
	var n int
	for _, q := range p.Params() {
		n += len(q.Value)
	}
	if n != 537354 {
		t.Errorf("%d trainable values, want 537354 (golden.json trainable_params)", n)
	}
	x := g.get(t, "input")
	if _, err := p.Run(Train, map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}); err != nil {
		t.Fatal(err)
	}
	after := append([]float32(nil), p.Buffers()[1].Value...)
	if err := p.Backward(map[string]*Tensor{"output": {DType: ir.Float32, Shape: []int{4, 10}, F: g.f32(t, "loss_weight")}}); err != nil {
		t.Fatal(err)
	}
	if !equalF(after, p.Buffers()[1].Value) {
		t.Error("Backward changed a running statistic")
	}
}

// Eval exports put Identity nodes on merged initializers; the gradient
// must flow through them to the kept initializer. badinit_huge/eval.onnx
// keeps layers.0.bias and recreates layers.{2,4,6,8}.bias as Identity of
// it: its gradient is the sum of the golden gradients of all five biases.
func TestGradientThroughIdentity(t *testing.T) {
	g := loadGolden(t, "badinit_huge")
	m, err := onnxio.ReadFile(filepath.Join(g.dir, "eval.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	ids := 0
	for _, n := range m.Graph.Nodes {
		if n.OpType == "Identity" && n.In(0).Name == "layers.0.bias" {
			ids++
		}
	}
	if ids != 4 {
		t.Fatalf("expected 4 Identity(layers.0.bias) nodes, found %d", ids)
	}
	x := g.get(t, "input")
	p, out := run32(t, m, Train, Options{}, map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}})
	// issue 3's output parity target (float32_error here is 6e-8)
	if e := relErr(out["output"].F, g.get(t, "train_output").f); e > 1e-5 {
		t.Fatalf("train output relative error %.3g", e)
	}
	dout := f32(40, func(i int) float32 { return float32(g.get(t, "loss_weight").f[i] / 4) })
	if err := p.Backward(map[string]*Tensor{"output": {DType: ir.Float32, Shape: []int{4, 10}, F: dout}}); err != nil {
		t.Fatal(err)
	}
	want := make([]float64, 64)
	for _, l := range []string{"0", "2", "4", "6", "8"} {
		for i, v := range g.get(t, "grad:layers."+l+".bias").f {
			want[i] += v
		}
	}
	for _, q := range p.Params() {
		if q.Name == "layers.0.bias" {
			// issue 3's gradient parity target
			if e := relErr(q.Grad, want); e > 1e-4 {
				t.Errorf("grad layers.0.bias through 4 Identity nodes: relative error %.3g", e)
			}
			return
		}
	}
	t.Error("layers.0.bias is not a parameter")
}

// Gemm's α and β are distinct attributes: y = α·A·B + β·C.
func TestGemmAlphaBeta(t *testing.T) {
	b := newGB(13)
	a := b.input("a", 2, 3)
	w := b.paramData("w", []int{3, 2}, []float32{1, 2, 3, 4, 5, 6})
	c := b.paramData("c", []int{2}, []float32{10, 20})
	b.out(b.node("Gemm", []*ir.Value{a, w, c}, ir.FloatAttr("alpha", 2), ir.FloatAttr("beta", 0.5)))
	in := map[string]*Tensor{"a": {DType: ir.Float32, Shape: []int{2, 3}, F: []float32{1, 0, 0, 0, 1, 1}}}
	p, out := run32(t, b.model(), Eval, Options{}, in)
	// A·B = [[1 2] [8 10]] → 2·A·B + 0.5·C = [[7 14] [21 30]]
	if got := out[p.OutputNames()[0]].F; !equalF(got, []float32{7, 14, 21, 30}) {
		t.Errorf("Gemm α=2 β=0.5: %v, want [7 14 21 30]", got)
	}
	if err := p.Backward(map[string]*Tensor{p.OutputNames()[0]: {DType: ir.Float32, Shape: []int{2, 2}, F: []float32{1, 1, 1, 1}}}); err != nil {
		t.Fatal(err)
	}
	// dC = β·Σ_rows dY = [1 1]; dW = α·Aᵀ·dY
	if g := p.Params()[1].Grad; !equalF(g, []float32{1, 1}) {
		t.Errorf("dC = %v, want [1 1]", g)
	}
	if g := p.Params()[0].Grad; !equalF(g, []float32{2, 2, 2, 2, 2, 2}) {
		t.Errorf("dW = %v, want all 2", g)
	}
}

// Sigmoid and Dropout are in nearly every training export: a Dropout in
// Train mode must actually drop, scale the survivors by 1/(1−p), and be
// the identity in Eval mode.
func TestDropoutSemantics(t *testing.T) {
	b := newGB(13)
	x := b.input("x", 100, 100)
	outs := b.nodeN("Dropout", []*ir.Value{b.node("Sigmoid", []*ir.Value{x}), b.constF(0.25), b.constBool(true)}, 2)
	b.out(outs...)
	ones := f32(10000, func(int) float32 { return 0 })
	in := map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{100, 100}, F: ones}}
	p, out := run32(t, b.model(), Train, Options{Seed: 3}, in)
	y, mask := out[p.OutputNames()[0]], out[p.OutputNames()[1]]
	kept := 0
	for i, v := range y.F {
		switch {
		case v == 0 && mask.I[i] == 0:
		case math.Abs(float64(v)-0.5/0.75) < 1e-6 && mask.I[i] == 1: // float32 rounding of 2/3
			kept++
		default:
			t.Fatalf("element %d: %v (mask %d), want 0 or 0.5/(1−0.25)", i, v, mask.I[i])
		}
	}
	// Bernoulli(0.75) over 10⁴ draws: σ ≈ 43, so ±250 is ~6σ
	if kept < 7250 || kept > 7750 {
		t.Errorf("%d of 10000 kept, want ≈ 7500", kept)
	}
	out, _ = p.Run(Eval, in)
	for _, v := range out[p.OutputNames()[0]].F {
		if v != 0.5 {
			t.Fatalf("Eval dropout changed a value: %v", v)
		}
	}
	p.SetDropout(true, 0)
	out, _ = p.Run(Train, in)
	for _, v := range out[p.OutputNames()[0]].F {
		if v != 0.5 {
			t.Fatalf("dropout overridden to 0 changed a value: %v", v)
		}
	}
}
