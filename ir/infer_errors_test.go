package ir_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// TestInferErrors: every genuine inconsistency is an error that names the
// node and its operator and says what is wrong.
func TestInferErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *tg) *ir.Node
		want  string
	}{
		{"matmul inner dims", func(b *tg) *ir.Node {
			return b.node("MatMul", []*ir.Value{b.f("x", "batch", 8, 32), b.w("w", 31, 16)}, 1)
		}, "inner dimensions differ: [batch, 8, 32] × [31, 16] (32 vs 31)"},
		{"matmul batch dims", func(b *tg) *ir.Node {
			return b.node("MatMul", []*ir.Value{b.f("x", 2, 8, 4), b.f("y", 3, 4, 5)}, 1)
		}, "batch dimensions of [2, 8, 4] × [3, 4, 5] do not broadcast"},
		{"gemm K", func(b *tg) *ir.Node {
			return b.node("Gemm", []*ir.Value{b.f("x", "batch", 784), b.w("w", 10, 783)}, 1, ir.IntAttr("transB", 1))
		}, "inner dimensions differ"},
		{"gemm C", func(b *tg) *ir.Node {
			return b.node("Gemm", []*ir.Value{b.f("x", "batch", 4), b.w("w", 4, 10), b.w("c", 9)}, 1)
		}, "C [9] does not broadcast to the output [batch, 10]"},
		{"gemm rank", func(b *tg) *ir.Node {
			return b.node("Gemm", []*ir.Value{b.f("x", "batch", 4, 4), b.w("w", 4, 10)}, 1)
		}, "input A has shape [batch, 4, 4], want 2-D"},
		{"broadcast", func(b *tg) *ir.Node {
			return b.node("Add", []*ir.Value{b.f("x", "batch", 3), b.f("y", 4)}, 1)
		}, "cannot broadcast [batch, 3] and [4]: dim 1 is 3 in one input and 4 in another"},
		{"broadcast symbolic", func(b *tg) *ir.Node {
			return b.node("Mul", []*ir.Value{b.f("x", "2*batch", 3), b.f("y", 5, 1)}, 1)
		}, "cannot broadcast [2*batch, 3] and [5, 1]: dim 0 is 2*batch in one input and 5 in another"},
		{"element types", func(b *tg) *ir.Node {
			return b.node("Add", []*ir.Value{b.f("x", 3), b.in("y", ir.Int64, 3)}, 1)
		}, "inputs have different element types float32 and int64"},
		{"concat ranks", func(b *tg) *ir.Node {
			return b.node("Concat", []*ir.Value{b.f("x", "batch", 3), b.f("y", "batch", 3, 1)}, 1, ir.IntAttr("axis", 1))
		}, "inputs have different ranks: [batch, 3] and [batch, 3, 1]"},
		{"concat other dims", func(b *tg) *ir.Node {
			return b.node("Concat", []*ir.Value{b.f("x", 2, 3), b.f("y", 2, 4)}, 1, ir.IntAttr("axis", 0))
		}, "inputs differ in dim 1 outside the concat axis 0"},
		{"concat axis", func(b *tg) *ir.Node {
			return b.node("Concat", []*ir.Value{b.f("x", 2, 3), b.f("y", 2, 3)}, 1, ir.IntAttr("axis", 2))
		}, "axis 2 is out of range for rank 2"},
		{"concat no axis", func(b *tg) *ir.Node {
			return b.node("Concat", []*ir.Value{b.f("x", 2, 3)}, 1)
		}, "has no axis attribute"},
		{"reshape count", func(b *tg) *ir.Node {
			return b.node("Reshape", []*ir.Value{b.f("x", "batch", 10), b.ints("s", 0, 3)}, 1)
		}, "cannot reshape [batch, 10] (10*batch elements) to [0, 3]"},
		{"reshape -1 not exact", func(b *tg) *ir.Node {
			return b.node("Reshape", []*ir.Value{b.f("x", 2, 5), b.ints("s", -1, 3)}, 1)
		}, "cannot reshape [2, 5] (10 elements) to [-1, 3]"},
		{"reshape too few", func(b *tg) *ir.Node {
			return b.node("Reshape", []*ir.Value{b.f("x", "batch", 10), b.ints("s", 7)}, 1)
		}, "cannot reshape [batch, 10]"},
		{"reshape two -1", func(b *tg) *ir.Node {
			return b.node("Reshape", []*ir.Value{b.f("x", "batch", 10), b.ints("s", -1, -1)}, 1)
		}, "has more than one -1"},
		{"reshape 0 beyond rank", func(b *tg) *ir.Node {
			return b.node("Reshape", []*ir.Value{b.f("x", 10), b.ints("s", 5, 0)}, 1)
		}, "copies dim 1 (0) but the input [10] has rank 1"},
		{"conv channels", func(b *tg) *ir.Node {
			return b.node("Conv", []*ir.Value{b.f("x", "batch", 3, 8, 8), b.w("w", 16, 4, 3, 3)}, 1)
		}, "input channels of [batch, 3, 8, 8] do not match weight [16, 4, 3, 3] × group 1: 3 vs 4"},
		{"conv group", func(b *tg) *ir.Node {
			return b.node("Conv", []*ir.Value{b.f("x", "batch", 6, 8, 8), b.w("w", 5, 2, 3, 3)}, 1, ir.IntAttr("group", 3))
		}, "5 output channels are not a multiple of group 3"},
		{"conv too small", func(b *tg) *ir.Node {
			return b.node("Conv", []*ir.Value{b.f("x", "batch", 3, 2, 2), b.w("w", 8, 3, 3, 3)}, 1)
		}, "is too small for kernel_shape [3 3]"},
		{"conv bias", func(b *tg) *ir.Node {
			return b.node("Conv", []*ir.Value{b.f("x", "batch", 3, 8, 8), b.w("w", 8, 3, 3, 3), b.w("b", 7)}, 1)
		}, "bias [7] does not match 8 output channels"},
		{"conv pads", func(b *tg) *ir.Node {
			return b.node("Conv", []*ir.Value{b.f("x", "batch", 3, 8, 8), b.w("w", 8, 3, 3, 3)}, 1, ir.IntsAttr("pads", 1, 1))
		}, "pads [1 1] has 2 entries, want 4"},
		{"pool kernel", func(b *tg) *ir.Node {
			return b.node("MaxPool", []*ir.Value{b.f("x", "batch", 3, 8, 8)}, 1)
		}, "has no kernel_shape"},
		{"batchnorm channels", func(b *tg) *ir.Node {
			return b.node("BatchNormalization", []*ir.Value{b.f("x", "batch", 16, 4, 4), b.w("s", 16), b.w("b", 16), b.w("m", 15), b.w("v", 16)}, 1)
		}, "input_mean [15] does not match the 16 channels"},
		{"gather index", func(b *tg) *ir.Node {
			return b.node("Gather", []*ir.Value{b.f("x", "batch", 6, 16), b.scalar("i", 6)}, 1, ir.IntAttr("axis", 1))
		}, "index 6 is out of range for axis 1 of size 6"},
		{"gather float indices", func(b *tg) *ir.Node {
			return b.node("Gather", []*ir.Value{b.f("x", 6), b.f("i", 2)}, 1)
		}, "indices are float32, want int32 or int64"},
		{"transpose perm", func(b *tg) *ir.Node {
			return b.node("Transpose", []*ir.Value{b.f("x", "batch", 3, 4)}, 1, ir.IntsAttr("perm", 0, 2, 2))
		}, "perm [0 2 2] is not a permutation of 0..2"},
		{"split sizes", func(b *tg) *ir.Node {
			return b.node("Split", []*ir.Value{b.f("x", "batch", 10), b.ints("s", 3, 4)}, 2, ir.IntAttr("axis", 1))
		}, "split [3 4] adds up to 7 but axis 1 has size 10"},
		{"split uneven", func(b *tg) *ir.Node {
			return b.node("Split", []*ir.Value{b.f("x", "batch", 10)}, 3, ir.IntAttr("axis", 1))
		}, "axis 1 of size 10 does not split evenly into 3 outputs"},
		{"squeeze non-1", func(b *tg) *ir.Node {
			return b.node("Squeeze", []*ir.Value{b.f("x", "batch", 3), b.ints("a", 1)}, 1)
		}, "cannot squeeze axis 1 of size 3"},
		{"unsqueeze duplicate", func(b *tg) *ir.Node {
			return b.node("Unsqueeze", []*ir.Value{b.f("x", "batch", 3), b.ints("a", 1, -3)}, 1)
		}, "appears twice"},
		{"softmax axis", func(b *tg) *ir.Node {
			return b.node("Softmax", []*ir.Value{b.f("x", "batch", 3)}, 1, ir.IntAttr("axis", 2))
		}, "axis 2 is out of range for rank 2"},
		{"slice zero step", func(b *tg) *ir.Node {
			return b.node("Slice", []*ir.Value{b.f("x", 8), b.ints("s", 0), b.ints("e", 4), b.ints("a", 0), b.ints("st", 0)}, 1)
		}, "step for axis 0 is 0"},
		{"lstm weights", func(b *tg) *ir.Node {
			return b.node("LSTM", []*ir.Value{b.f("x", 6, "batch", 8), b.w("W", 1, 64, 9), b.w("R", 1, 64, 16)}, 3, ir.IntAttr("hidden_size", 16))
		}, "input size of X [6, batch, 8] does not match W [1, 64, 9]"},
		{"lstm gates", func(b *tg) *ir.Node {
			return b.node("LSTM", []*ir.Value{b.f("x", 6, "batch", 8), b.w("W", 1, 60, 8), b.w("R", 1, 64, 16)}, 3, ir.IntAttr("hidden_size", 16))
		}, "W [1, 60, 8] does not hold 4 gates of hidden size 16"},
		{"where condition", func(b *tg) *ir.Node {
			return b.node("Where", []*ir.Value{b.f("c", 3), b.f("x", 3), b.f("y", 3)}, 1)
		}, "condition is float32, want bool"},
		{"expand", func(b *tg) *ir.Node {
			return b.node("Expand", []*ir.Value{b.f("x", "batch", 3), b.ints("s", 2, 4)}, 1)
		}, "cannot broadcast"},
		{"missing input", func(b *tg) *ir.Node {
			return b.node("Conv", []*ir.Value{b.f("x", "batch", 3, 8, 8)}, 1)
		}, "required input 1 is missing"},
		{"cast to", func(b *tg) *ir.Node {
			return b.node("Cast", []*ir.Value{b.f("x", 3)}, 1, ir.IntAttr("to", 99))
		}, "'to' is 99, not an element type"},
		{"constant", func(b *tg) *ir.Node {
			return b.node("Constant", nil, 1)
		}, "has no value attribute"},
		{"pad entries", func(b *tg) *ir.Node {
			return b.node("Pad", []*ir.Value{b.f("x", "batch", 3), b.ints("p", 1, 1)}, 1)
		}, "has 2 entries, want 4"},
		{"scatternd tuple", func(b *tg) *ir.Node {
			return b.node("ScatterND", []*ir.Value{b.f("x", "batch", 4), b.in("i", ir.Int64, 2, 3), b.f("u", 2)}, 1)
		}, "the last dimension (3) must be in [1, 2]"},
		{"scatternd updates", func(b *tg) *ir.Node {
			return b.node("ScatterND", []*ir.Value{b.f("x", 5, 4), b.in("i", ir.Int64, 2, 1), b.f("u", 2, 3)}, 1)
		}, "updates [2, 3]: want [2, 4]"},
		{"scatterelements shapes", func(b *tg) *ir.Node {
			return b.node("ScatterElements", []*ir.Value{b.f("x", "batch", 4), b.in("i", ir.Int64, 2, 2), b.f("u", 2, 3)}, 1, ir.IntAttr("axis", 1))
		}, "must have the same shape and data"},
		{"scatterelements exceed", func(b *tg) *ir.Node {
			return b.node("ScatterElements", []*ir.Value{b.f("x", 3, 4), b.in("i", ir.Int64, 2, 5), b.f("u", 2, 5)}, 1)
		}, "exceed data [3, 4] on axis 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newTG(t, 13)
			n := c.build(b)
			err := b.inferErr(c.want)
			if want := "node " + n.Label() + " (" + n.OpType + "): "; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name the node as %q", err, want)
			}
		})
	}
}

// TestInferErrorsCollected: every problem is reported in one ErrorList, and
// inference carries on past a bad node.
func TestInferErrorsCollected(t *testing.T) {
	b := newTG(t, 13)
	x := b.f("x", "batch", 8)
	bad1 := b.node("MatMul", []*ir.Value{x, b.w("w1", 7, 4)}, 1)
	ok := b.out1("Relu", []*ir.Value{x})
	bad2 := b.node("Concat", []*ir.Value{x, b.f("y", "batch", 8, 1)}, 1, ir.IntAttr("axis", 0))
	_, err := ir.InferShapes(b.m)
	var list ir.ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("want an ErrorList of 2, got %v", err)
	}
	if !strings.Contains(list[0].Error(), bad1.Label()) || !strings.Contains(list[1].Error(), bad2.Label()) {
		t.Errorf("errors %q do not name %s and %s in order", list, bad1.Label(), bad2.Label())
	}
	is(t, ok, ir.Float32, "[batch, 8]")
}

// TestInferNoPanicOnMalformedNodes: nodes with missing inputs, omitted
// outputs, wrong attribute kinds or absurd values give errors or unknown
// shapes, never a panic.
func TestInferNoPanicOnMalformedNodes(t *testing.T) {
	ops := ir.InferredOps()
	shapes := [][]any{nil, {}, {"batch"}, {0}, {"batch", 3, 4, 4}, {1, 1, 1, 1, 1, 1}}
	for _, op := range ops {
		for _, s := range shapes {
			for nIn := 0; nIn <= 3; nIn++ {
				b := newTG(t, 13)
				var ins []*ir.Value
				for i := 0; i < nIn; i++ {
					if s == nil {
						ins = append(ins, b.g.AddInput(b.g.UniqueName("u"), nil))
					} else {
						ins = append(ins, b.f(b.g.UniqueName("x"), s...))
					}
				}
				if nIn == 3 {
					ins[1] = nil // an omitted optional input
				}
				attrs := []*ir.Attribute{
					ir.FloatAttr("axis", 1), // wrong kind: read as absent
					ir.IntsAttr("kernel_shape", -1, 1<<40),
					ir.IntsAttr("perm", 5),
				}
				n := b.node(op, ins, 3, attrs...)
				n.Outputs[1] = nil
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("%s with inputs %v: panic: %v", op, s, r)
						}
					}()
					// InferShapes turns a panic in a shape function into an
					// error as a safety net; none should need it.
					if _, err := ir.InferShapes(b.m); err != nil && strings.Contains(err.Error(), "shape inference failed") {
						t.Errorf("%s with inputs %v: %v", op, s, err)
					}
				}()
			}
		}
	}
}

func TestInferNoGraph(t *testing.T) {
	if _, err := ir.InferShapes(&ir.Model{}); err == nil {
		t.Error("no error for a model without a graph")
	}
	b := newTG(t, 13)
	x := b.f("x", 3)
	n1 := b.node("Relu", []*ir.Value{x}, 1)
	n2 := b.node("Relu", []*ir.Value{n1.Outputs[0]}, 1)
	n1.Inputs[0] = n2.Outputs[0] // a cycle
	n2.Outputs[0].Uses = append(n2.Outputs[0].Uses, ir.Use{Node: n1, Index: 0})
	if _, err := ir.InferShapes(b.m); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: got %v", err)
	}
}

// A rank counted from an input's declared length (a shape, axes, starts or
// ends input whose contents are unknown) is bounded by ir.MaxRank. The
// mutation campaign (testdata/hostile/mutants.sh) declared 2^40 elements
// for an Unsqueeze's axes in a value_info, and inference allocated 2^40
// dims (32 TiB): nnlint died of it before writing any report (issue 9).
// Every op taking a rank that way gets an error naming the node instead;
// lengths up to the bound still infer.
func TestRankFromLengthBounded(t *testing.T) {
	ops := map[string]func(b *tg, x, s *ir.Value) *ir.Value{
		"Unsqueeze":       func(b *tg, x, s *ir.Value) *ir.Value { return b.out1("Unsqueeze", []*ir.Value{x, s}) },
		"Reshape":         func(b *tg, x, s *ir.Value) *ir.Value { return b.out1("Reshape", []*ir.Value{x, s}) },
		"Slice":           func(b *tg, x, s *ir.Value) *ir.Value { return b.out1("Slice", []*ir.Value{x, s, s}) },
		"Expand":          func(b *tg, x, s *ir.Value) *ir.Value { return b.out1("Expand", []*ir.Value{x, s}) },
		"ConstantOfShape": func(b *tg, x, s *ir.Value) *ir.Value { return b.out1("ConstantOfShape", []*ir.Value{s}) },
	}
	// The rank each op's output gets from a length-2 input on x [2, 3].
	okRank := map[string]int{"Unsqueeze": 4, "Reshape": 2, "Slice": 2, "Expand": 2, "ConstantOfShape": 2}
	for op, build := range ops {
		for _, n := range []int64{1 << 40, ir.MaxRank + 1, 2} {
			b := newTG(t, 13)
			x := b.f("x", 2, 3)
			s := b.g.AddInput("s", ir.TensorType(ir.Int64, ir.Shape{ir.DimOf(n)}))
			y := build(b, x, s)
			_, err := ir.InferShapes(b.m)
			if n > ir.MaxRank {
				if err == nil || !strings.Contains(err.Error(), op) || !strings.Contains(err.Error(), "at most 64 dimensions") {
					t.Errorf("%s with a shape input of %d elements: error %v, want one naming the op and the bound", op, n, err)
				}
				continue
			}
			if err != nil || y.Type == nil || len(y.Type.Shape) != okRank[op] {
				t.Errorf("%s with a shape input of %d elements: %v, %v; want rank %d", op, n, y.Type, err, okRank[op])
			}
		}
	}
}
