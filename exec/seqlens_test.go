package exec

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// LSTM, GRU and RNN with sequence_lens against PyTorch's packed sequences
// (testdata/exec/seqlens/make_seqlens.py): pack_padded_sequence →
// bidirectional module → pad_packed_sequence, in float64 on the float32
// weights the files store. Y must be zero past each sequence's end, Y_h
// the last valid state of each direction (the reverse direction starting
// at the sequence's own end), and the gradients must follow.
//
// Tolerance: the float64 engine on the same inputs as PyTorch's float64
// run differs only by summation order, ~1e-15 relative; 1e-10 leaves room
// for that and catches any real error (a state read one step off is O(1)).
func TestSequenceLensMatchesPyTorch(t *testing.T) {
	for _, op := range []string{"lstm", "gru", "rnn"} {
		t.Run(op, func(t *testing.T) {
			m, err := onnxio.ReadFile(filepath.Join("../testdata/exec/seqlens", op+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			ref := loadRef64(t, "../seqlens/"+op)
			e, err := compileEngine[float64](m, Options{InputGrads: true})
			if err != nil {
				t.Fatal(err)
			}
			p := feed64(t, e, []int{5, 3, 4}, ref.get(t, "x"))
			if err := e.run(p, Eval); err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want []float64) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
				}
				var d, s float64
				for i, v := range want {
					d = math.Max(d, math.Abs(got[i]-v))
					s = math.Max(s, math.Abs(v))
				}
				if d > 1e-10*s {
					t.Errorf("%s: max error %.3g (scale %.3g)", what, d, s)
				}
				t.Logf("%s: relative error %.2g", what, d/s)
			}
			check("Y", p.outputs[0].f, ref.get(t, "y"))
			check("Y_h", p.outputs[1].f, ref.get(t, "y_h"))
			wy, wh := ref.get(t, "wy"), ref.get(t, "wh")
			if err := e.backward(func(i int, g []float64) {
				for j, w := range [][]float64{wy, wh}[i] {
					g[j] += w
				}
			}); err != nil {
				t.Fatal(err)
			}
			check("dX", p.inputs[0].g, ref.get(t, "grad_x"))
			for _, q := range e.params {
				check("d"+q.name, q.grad, ref.get(t, "grad_"+q.name))
			}
			if len(e.params) != 3 {
				t.Errorf("%d parameters, want W, R, B", len(e.params))
			}
		})
	}
}

// PyTorch's own export of a packed, batch-first, bidirectional LSTM
// (pack_padded_sequence(enforce_sorted=False) → nn.LSTM → pad_packed_sequence):
// the lengths are a second, int64 input, sorted by TopK, the batch permuted
// by Gather and restored through ScatterElements around an LSTM with
// sequence_lens. The float32 program against PyTorch in float64: float32
// rounding over 6 steps stays below 1e-6 relative; 1e-5 is the bound the
// fixture tests use for outputs.
func TestPackedLSTMExport(t *testing.T) {
	m, err := onnxio.ReadFile("../testdata/exec/seqlens/packed_lstm.onnx")
	if err != nil {
		t.Fatal(err)
	}
	ref := loadRef64(t, "../seqlens/packed_lstm")
	p, err := Compile(m, Options{InputGrads: true})
	if err != nil {
		t.Fatal(err)
	}
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	lens := ref.get(t, "lens")
	in := map[string]*Tensor{
		"x":    {DType: ir.Float32, Shape: []int{3, 6, 4}, F: f32(ref.get(t, "x"))},
		"lens": {DType: ir.Int64, Shape: []int{3}, I: []int64{int64(lens[0]), int64(lens[1]), int64(lens[2])}},
	}
	out, err := p.Run(Eval, in)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got []float32, want []float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
		}
		var d, s float64
		for i, v := range want {
			d = math.Max(d, math.Abs(float64(got[i])-v))
			s = math.Max(s, math.Abs(v))
		}
		if d > 1e-5*s {
			t.Errorf("%s: relative error %.3g", what, d/s)
		}
		t.Logf("%s: relative error %.2g", what, d/s)
	}
	check("o", out["o"].F, ref.get(t, "o"))
	check("h", out["h"].F, ref.get(t, "h"))
	if err := p.Backward(map[string]*Tensor{
		"o": {DType: ir.Float32, Shape: out["o"].Shape, F: f32(ref.get(t, "wo"))},
		"h": {DType: ir.Float32, Shape: out["h"].Shape, F: f32(ref.get(t, "wh"))},
	}); err != nil {
		t.Fatal(err)
	}
	check("grad x", p.InputGrad("x").F, ref.get(t, "grad_x"))
	for _, q := range p.Params() {
		check("grad "+q.Name, q.Grad, ref.get(t, "grad:"+q.Name))
	}
	if len(p.Params()) != 8 {
		t.Errorf("%d parameters, want the LSTM's 8", len(p.Params()))
	}
}

// LSTM with peepholes, and with peepholes and clip, against a float64
// implementation of the ONNX specification (testdata/exec/peephole/
// make_peephole.py, which also confirms it with ONNX Runtime: ≤ 2.2e-7
// max abs difference, float32 there; clip bounds every gate's
// pre-activation, peephole term included, not the cell state, as ONNX
// Runtime computes). PyTorch has neither. Same inputs in float64 on both
// sides: 1e-12 relative covers summation order; a misplaced peephole term
// or clip is O(1).
func TestLSTMPeepholesAndClip(t *testing.T) {
	for _, name := range []string{"lstm_peephole", "lstm_clip"} {
		m, err := onnxio.ReadFile("../testdata/exec/peephole/" + name + ".onnx")
		if err != nil {
			t.Fatal(err)
		}
		ref := loadRef64(t, "../peephole/"+name)
		e, err := compileEngine[float64](m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		names := map[string][]int{"X": {5, 2, 4}, "h0": {2, 2, 3}, "c0": {2, 2, 3}}
		var shapes [][]int
		var kinds []kind
		for _, v := range e.inputs {
			shapes, kinds = append(shapes, names[v.Name]), append(kinds, kFloat)
		}
		p, err := e.planFor(shapes, kinds)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range e.inputs {
			copy(p.inputs[i].f, ref.get(t, map[string]string{"X": "x", "h0": "h0", "c0": "c0"}[v.Name]))
		}
		if err := e.run(p, Eval); err != nil {
			t.Fatal(err)
		}
		for i, k := range []string{"y", "y_h", "y_c"} {
			want := ref.get(t, k)
			var d, s float64
			for j, v := range want {
				d = math.Max(d, math.Abs(p.outputs[i].f[j]-v))
				s = math.Max(s, math.Abs(v))
			}
			if d > 1e-12*s {
				t.Errorf("%s %s: max error %.3g (scale %.3g)", name, k, d, s)
			}
		}
	}
}

// GRU (linear_before_reset 1 and 0) and RNN with clip against the float64
// reference of make_peephole.py that ONNX Runtime confirms (≤ 2.2e-7 max
// abs difference, float32 there): the input of every activation bounded.
// Same float64 inputs: 1e-12 relative.
func TestGRURNNClip(t *testing.T) {
	for _, name := range []string{"gru_clip", "gru_clip_lbr0", "rnn_clip"} {
		m, err := onnxio.ReadFile("../testdata/exec/peephole/" + name + ".onnx")
		if err != nil {
			t.Fatal(err)
		}
		ref := loadRef64(t, "../peephole/"+name)
		e, err := compileEngine[float64](m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		p := feed64(t, e, []int{5, 2, 4}, ref.get(t, "x"))
		if err := e.run(p, Eval); err != nil {
			t.Fatal(err)
		}
		for i, k := range []string{"y", "y_h"} {
			want := ref.get(t, k)
			var d, s float64
			for j, v := range want {
				d = math.Max(d, math.Abs(p.outputs[i].f[j]-v))
				s = math.Max(s, math.Abs(v))
			}
			if d > 1e-12*s {
				t.Errorf("%s %s: max error %.3g (scale %.3g)", name, k, d, s)
			}
		}
	}
}
