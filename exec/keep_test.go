package exec

import (
	"math"
	"slices"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// keepModel is a small network whose middle has no parameters: Gemm →
// Relu → Neg → Sigmoid → Tanh → Gemm. The values between the two Gemms are
// what Options.Keep lets a training plan share (the second Gemm's backward
// reads only its own input).
func keepModel() *ir.Model {
	b := newGB(17)
	x := b.input("x", -1, 6)
	h := b.node("Gemm", []*ir.Value{x, b.param("w1", 5, 6), b.param("b1", 5)}, ir.IntAttr("transB", 1))
	for _, op := range []string{"Relu", "Neg", "Sigmoid", "Tanh"} {
		h = b.node(op, []*ir.Value{h})
	}
	b.out(b.node("Gemm", []*ir.Value{h, b.param("w2", 3, 5), b.param("b2", 3)}, ir.IntAttr("transB", 1)))
	return b.model()
}

// TestKeepSharesWhatBackwardDoesNotRead: with Options.Keep a training
// program computes the same outputs and parameter gradients, bit for bit,
// keeps the values it was asked to, and needs less memory.
func TestKeepSharesWhatBackwardDoesNotRead(t *testing.T) {
	m := keepModel()
	relu := m.Graph.Nodes[1].Outputs[0].Name
	x := &Tensor{DType: ir.Float32, Shape: []int{4, 6}, F: make([]float32, 24)}
	for i := range x.F {
		x.F[i] = float32(math.Sin(float64(i)))
	}
	run := func(o Options) (*Program, map[string]*Tensor, [][]float32) {
		p, err := Compile(m, o)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := p.Run(Train, map[string]*Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		name := p.OutputNames()[0]
		g := &Tensor{DType: ir.Float32, Shape: outs[name].Shape, F: make([]float32, len(outs[name].F))}
		for i := range g.F {
			g.F[i] = float32(i%3) - 1
		}
		if err := p.Backward(map[string]*Tensor{name: g}); err != nil {
			t.Fatal(err)
		}
		var grads [][]float32
		for _, pr := range p.Params() {
			grads = append(grads, slices.Clone(pr.Grad))
		}
		return p, outs, grads
	}
	full, fo, fg := run(Options{Threads: 1})
	kept, ko, kg := run(Options{Threads: 1, Keep: func(n string) bool { return n == relu }})
	for name, t0 := range fo {
		if !slices.Equal(t0.F, ko[name].F) {
			t.Errorf("output %s differs with Keep", name)
		}
	}
	for i := range fg {
		if !slices.Equal(fg[i], kg[i]) {
			t.Errorf("gradient of %s differs with Keep", full.Params()[i].Name)
		}
	}
	if v := kept.Value(relu); v == nil || !slices.Equal(v.F, full.Value(relu).F) {
		t.Errorf("kept value %s: %v", relu, v)
	}
	// Every step from the first Gemm on is on a gradient path, so all its
	// values are kept for backward. With the first layer frozen, the
	// parameter-free middle has no backward, and its values not kept are
	// shared: Neg's output is read by Sigmoid's forward only.
	frozen := map[string]bool{"w1": true, "b1": true}
	pf, _, _ := run(Options{Threads: 1, Frozen: frozen})
	pk, _, _ := run(Options{Threads: 1, Frozen: frozen, Keep: func(n string) bool { return n == relu }})
	if pk.Value(m.Graph.Nodes[2].Outputs[0].Name) != nil {
		t.Error("Neg's output (read by no backward step, not kept) is still readable")
	}
	if a, b := pf.e.last.floats(), pk.e.last.floats(); b >= a {
		t.Errorf("Keep did not save memory with a frozen first layer: %d floats, was %d", b, a)
	}
}

// TestInferenceOmittedRNNOutput: an LSTM or GRU node that names only Y
// (Y_h and Y_c omitted, as exporters do when they are unused) runs in an
// inference program: the omitted outputs are the op's own scratch, not
// values left without storage.
func TestInferenceOmittedRNNOutput(t *testing.T) {
	for _, op := range []string{"LSTM", "GRU", "RNN"} {
		gates := map[string]int{"LSTM": 4, "GRU": 3, "RNN": 1}[op]
		b := newGB(14)
		ins := []*ir.Value{b.input("x", 3, 2, 4), b.param("W", 1, gates*3, 4), b.param("R", 1, gates*3, 3)}
		b.out(b.nodeN(op, ins, 1, ir.IntAttr("hidden_size", 3))...)
		x := &Tensor{DType: ir.Float32, Shape: []int{3, 2, 4}, F: make([]float32, 24)}
		for i := range x.F {
			x.F[i] = float32(math.Cos(float64(i)))
		}
		var want []float32
		for _, inference := range []bool{false, true} {
			p, err := Compile(b.model(), Options{Threads: 1, Inference: inference})
			if err != nil {
				t.Fatal(err)
			}
			outs, err := p.Run(Eval, map[string]*Tensor{"x": x})
			if err != nil {
				t.Fatalf("%s inference=%v: %v", op, inference, err)
			}
			y := outs[p.OutputNames()[0]].F
			if want == nil {
				want = slices.Clone(y)
			} else if !slices.Equal(y, want) {
				t.Errorf("%s: inference output differs", op)
			}
		}
	}
}
