package exec

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// streamModel has a parameter-free front (Dropout, Relu, Mul, a Sigmoid
// that is also a graph output, a value nobody reads) that a streaming plan
// runs while it is built, and a trained back (Gemm, Dropout, Tanh).
func streamModel() *ir.Model {
	b := newGB(17)
	x := b.input("x", -1, 6)
	h := b.node("Dropout", []*ir.Value{x, b.constF(0.5), b.constBool(true)})
	h = b.node("Relu", []*ir.Value{h})
	h = b.node("Mul", []*ir.Value{h, h})
	side := b.node("Sigmoid", []*ir.Value{h})
	b.node("Neg", []*ir.Value{side}) // read by nobody
	y := b.node("Gemm", []*ir.Value{h, b.param("w", 5, 6), b.param("b", 5)}, ir.IntAttr("transB", 1))
	y = b.node("Dropout", []*ir.Value{y, b.constF(0.25), b.constBool(true)})
	b.out(b.node("Tanh", []*ir.Value{y}), side)
	return b.model()
}

// TestStreamSameAsPlan: a streaming program computes the same outputs,
// parameter gradients and observed values as a plain one, bit for bit,
// Run after Run (the dropout masks follow the step counter), and keeps
// none of its early nodes' steps.
func TestStreamSameAsPlan(t *testing.T) {
	m := streamModel()
	x := &Tensor{DType: ir.Float32, Shape: []int{4, 6}, F: make([]float32, 24)}
	for i := range x.F {
		x.F[i] = float32(math.Sin(float64(i) * 1.3))
	}
	type result struct {
		outs  [][]float32
		grads [][]float32
		seen  map[string][]float32
	}
	run := func(stream bool) ([]result, *Program) {
		var res []result
		var cur *result
		p, err := Compile(m, Options{Threads: 1, Seed: 7, Stream: stream,
			Keep:    func(string) bool { return false },
			Watch:   func(string) bool { return true },
			Observe: func(n string, v *Tensor) { cur.seen[n] = slices.Clone(v.F) }})
		if err != nil {
			t.Fatal(err)
		}
		for r := 0; r < 3; r++ {
			cur = &result{seen: map[string][]float32{}}
			outs, err := p.Run(Train, map[string]*Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range p.OutputNames() {
				cur.outs = append(cur.outs, slices.Clone(outs[n].F))
			}
			name := p.OutputNames()[0]
			g := &Tensor{DType: ir.Float32, Shape: outs[name].Shape, F: make([]float32, len(outs[name].F))}
			for i := range g.F {
				g.F[i] = float32(i%3) - 1
			}
			p.ZeroGrad()
			if err := p.Backward(map[string]*Tensor{name: g}); err != nil {
				t.Fatal(err)
			}
			for _, pr := range p.Params() {
				cur.grads = append(cur.grads, slices.Clone(pr.Grad))
			}
			res = append(res, *cur)
		}
		return res, p
	}
	plain, _ := run(false)
	streamed, sp := run(true)
	for r := range plain {
		a, b := plain[r], streamed[r]
		for i := range a.outs {
			if !slices.Equal(a.outs[i], b.outs[i]) {
				t.Errorf("run %d: output %d differs with Stream", r, i)
			}
		}
		for i := range a.grads {
			if !slices.Equal(a.grads[i], b.grads[i]) {
				t.Errorf("run %d: gradient %d differs with Stream", r, i)
			}
		}
		if len(a.seen) != len(b.seen) || len(a.seen) != len(m.Graph.Nodes)-4 {
			t.Errorf("run %d: observed %d values with Stream, %d without; the graph has %d nodes besides its 4 Constants", r, len(b.seen), len(a.seen), len(m.Graph.Nodes)-4)
		}
		for n, v := range a.seen {
			if !slices.Equal(v, b.seen[n]) {
				t.Errorf("run %d: observed %s differs with Stream", r, n)
			}
		}
	}
	// Only the trained back is left as steps: Gemm, Dropout, Tanh.
	if n := len(sp.e.last.steps); n != 3 {
		t.Errorf("the streaming plan kept %d steps, want 3", n)
	}
	if v := sp.Value(m.Graph.Nodes[3].Outputs[0].Name); v != nil { // Relu's output
		t.Error("an early value neither kept nor an output is still readable")
	}
}

// TestStreamErrorSameAsPlan: a forward error of a node run early is the
// error the plain plan reports: the first failing node in the graph's
// order, also when a node left to run() fails after it.
func TestStreamErrorSameAsPlan(t *testing.T) {
	for _, earlyFirst := range []bool{true, false} {
		b := newGB(17)
		x := b.input("x", -1, 3)
		idx := b.g.AddInput("idx", ir.TensorType(ir.Int64, ir.Shape{ir.DimOf(2)}))
		relu := b.node("Relu", []*ir.Value{x})
		table := b.param("table", 4, 3)
		var early, late *ir.Value
		gather := func(name string, data *ir.Value) *ir.Value {
			return b.g.AddNode("Gather", name, []*ir.Value{data, idx}, 1).Outputs[0]
		}
		if earlyFirst {
			early, late = gather("early", relu), gather("late", table)
		} else {
			late, early = gather("late", table), gather("early", relu)
		}
		b.out(early, late)
		m := b.model()
		in := map[string]*Tensor{
			"x":   {DType: ir.Float32, Shape: []int{2, 3}, F: make([]float32, 6)},
			"idx": {DType: ir.Int64, Shape: []int{2}, I: []int64{0, 9}},
		}
		var msgs []string
		for _, stream := range []bool{false, true} {
			p, err := Compile(m, Options{Threads: 1, Stream: stream, Keep: func(string) bool { return false }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Run(Train, in)
			if err == nil {
				t.Fatalf("stream=%v: an index out of range ran", stream)
			}
			msgs = append(msgs, err.Error())
		}
		want := "late"
		if earlyFirst {
			want = "early"
		}
		if msgs[0] != msgs[1] || !strings.Contains(msgs[0], want) {
			t.Errorf("early node first=%v: error without Stream %q, with Stream %q (want the %s Gather's)", earlyFirst, msgs[0], msgs[1], want)
		}
	}
}
