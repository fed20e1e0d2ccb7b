package exec

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// WriteBack puts trained parameters and running statistics into the
// model, so that writing it and reading it back gives the same values.
func TestWriteBack(t *testing.T) {
	g := loadGolden(t, "cnn_digits")
	m, err := onnxio.ReadFile(filepath.Join(g.dir, "train.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := g.get(t, "input")
	if _, err := p.Run(Train, map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range p.Params() {
		for i := range q.Value {
			q.Value[i] += 0.25
		}
	}
	if err := p.WriteBack(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := onnxio.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	m2, err := onnxio.Read(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range append(append([]*Param{}, p.Params()...), p.Buffers()...) {
		init := m2.Graph.Initializer(q.Name)
		if init == nil {
			t.Fatalf("%s missing after WriteBack", q.Name)
		}
		v, err := init.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		if !equalF(v, q.Value) {
			t.Errorf("%s: written %v…, want %v…", q.Name, v[:2], q.Value[:2])
		}
	}
	// a fresh program on the written model starts from the trained state
	p2, err := Compile(m2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !equalF(p2.Params()[0].Value, p.Params()[0].Value) || !equalF(p2.Buffers()[1].Value, p.Buffers()[1].Value) {
		t.Error("recompiled model does not start from the written values")
	}
}

// Value and Grad expose intermediate values of the last Run and Backward
// (the lint probe reads activations and their gradients; a gradient only
// for a value Options.Keep names).
func TestValueAndGrad(t *testing.T) {
	b := newGB(13)
	x := b.input("x", 2, 2)
	h := b.node("Relu", []*ir.Value{x})
	y := b.node("Mul", []*ir.Value{h, b.paramData("w", []int{2}, []float32{3, 4})})
	b.out(y)
	p, out := run32(t, b.model(), Train, Options{InputGrads: true, Keep: func(n string) bool { return n == h.Name }}, map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{2, 2}, F: []float32{1, -1, 2, 3}}})
	if v := p.Value(h.Name); v == nil || !equalF(v.F, []float32{1, 0, 2, 3}) {
		t.Errorf("Value(relu) = %v", v)
	}
	if !equalF(out[y.Name].F, []float32{3, 0, 6, 12}) {
		t.Errorf("output %v", out[y.Name].F)
	}
	if err := p.Backward(map[string]*Tensor{y.Name: {DType: ir.Float32, Shape: []int{2, 2}, F: []float32{1, 1, 1, 1}}}); err != nil {
		t.Fatal(err)
	}
	if g := p.Grad(h.Name); g == nil || !equalF(g.F, []float32{3, 4, 3, 4}) {
		t.Errorf("Grad(relu) = %v", g)
	}
	if g := p.InputGrad("x"); g == nil || !equalF(g.F, []float32{3, 0, 3, 4}) {
		t.Errorf("InputGrad(x) = %v", g)
	}
	if g := p.Params()[0].Grad; !equalF(g, []float32{3, 3}) {
		t.Errorf("dw = %v, want [3 3]", g)
	}
	// Backward accumulates until ZeroGrad
	p.Backward(map[string]*Tensor{y.Name: {DType: ir.Float32, Shape: []int{2, 2}, F: []float32{1, 1, 1, 1}}})
	if g := p.Params()[0].Grad; !equalF(g, []float32{6, 6}) {
		t.Errorf("accumulated dw = %v, want [6 6]", g)
	}
	p.ZeroGrad()
	if g := p.Params()[0].Grad; !equalF(g, []float32{0, 0}) {
		t.Errorf("after ZeroGrad dw = %v", g)
	}
	if p.Value("no such value") != nil {
		t.Error("Value of an unknown name is not nil")
	}
}

// With Options.ShareInitializers the model's initializers are the
// program's storage: training changes them without WriteBack (which
// leaves them as they are), a model written mid-training holds the
// current values, and the program trains to the same bits as one that
// copies them.
func TestShareInitializers(t *testing.T) {
	g := loadGolden(t, "cnn_digits")
	read := func() *ir.Model {
		m, err := onnxio.ReadFile(filepath.Join(g.dir, "train.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	x := g.get(t, "input")
	in := map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}
	step := func(p *Program) {
		p.ZeroGrad()
		out, err := p.Run(Train, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Backward(map[string]*Tensor{"output": {DType: ir.Float32, Shape: out["output"].Shape, F: g.f32(t, "loss_weight")}}); err != nil {
			t.Fatal(err)
		}
		for _, q := range p.Params() {
			for i, d := range q.Grad {
				q.Value[i] -= 0.1 * d
			}
		}
	}
	copied, shared := read(), read()
	pc, err := Compile(copied, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := Compile(shared, Options{ShareInitializers: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		step(pc)
		step(ps)
	}
	all := func(p *Program) []*Param { return append(append([]*Param{}, p.Params()...), p.Buffers()...) }
	for i, q := range all(ps) {
		if !sameBits(q.Value, all(pc)[i].Value) {
			t.Errorf("%s: trained values differ from the copying program's", q.Name)
		}
		init := shared.Graph.Initializer(q.Name)
		v, err := init.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		if !sameBits(v, q.Value) {
			t.Errorf("%s: the shared initializer does not hold the trained values", q.Name)
		}
		orig, _ := copied.Graph.Initializer(q.Name).Float32s()
		if sameBits(orig, q.Value) {
			t.Errorf("%s: the copying program's model changed without WriteBack (or training did not change it)", q.Name)
		}
		raw := &init.Raw[0]
		if err := ps.WriteBack(); err != nil {
			t.Fatal(err)
		}
		if &init.Raw[0] != raw {
			t.Errorf("%s: WriteBack replaced a shared initializer's bytes", q.Name)
		}
	}
	var buf bytes.Buffer
	if err := onnxio.Write(&buf, shared); err != nil {
		t.Fatal(err)
	}
	back, err := onnxio.Read(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range all(ps) {
		v, _ := back.Graph.Initializer(q.Name).Float32s()
		if !sameBits(v, q.Value) {
			t.Errorf("%s: the written model does not hold the trained values", q.Name)
		}
	}
}
