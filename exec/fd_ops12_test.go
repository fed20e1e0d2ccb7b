package exec

import (
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// Finite-difference cases for the operators of issue 12: instance and
// group normalization, transposed convolution, Resize, GRU and RNN.

func TestFDIssue12Ops(t *testing.T) { runFD(t, fdIssue12Cases()) }

func fdIssue12Cases() []fdCase {
	ones := func(b *gb, name string, n int, v float32) *ir.Value {
		d := make([]float32, n)
		for i := range d {
			d[i] = v
		}
		c := b.g.AddNode("Constant", "", nil, 1, ir.TensorAttr("value", ir.NewFloat32(name, []int64{int64(n)}, d)))
		return c.Outputs[0]
	}
	cases := []fdCase{
		{name: "InstanceNormalization 4-D affine", build: func(b *gb) {
			b.out(b.node("InstanceNormalization", []*ir.Value{b.input("x", 2, 3, 3, 4), b.param("s", 3), b.param("bb", 3)}, ir.FloatAttr("epsilon", 1e-3)))
		}, shapes: map[string][]int{"x": {2, 3, 3, 4}}},
		{name: "InstanceNormalization 3-D", build: func(b *gb) {
			b.out(b.node("InstanceNormalization", []*ir.Value{b.input("x", 3, 2, 5), b.param("s", 2), b.param("bb", 2)}))
		}, shapes: map[string][]int{"x": {3, 2, 5}}},
		{name: "GroupNorm as exported by PyTorch (Reshape→InstanceNormalization→Reshape→Mul→Add)", build: func(b *gb) {
			const G, C = 2, 6
			x := b.input("x", -1, C, 3, 3)
			r := b.node("Reshape", []*ir.Value{x, b.ints("gshape", 0, G, -1)})
			in := b.node("InstanceNormalization", []*ir.Value{r, ones(b, "one", G, 1), ones(b, "zero", G, 0)}, ir.FloatAttr("epsilon", 1e-5))
			back := b.node("Reshape", []*ir.Value{in, b.node("Shape", []*ir.Value{x})})
			ax := b.ints("ax", 1, 2)
			w := b.node("Unsqueeze", []*ir.Value{b.param("gn.weight", C), ax})
			bias := b.node("Unsqueeze", []*ir.Value{b.param("gn.bias", C), ax})
			b.out(b.node("Add", []*ir.Value{b.node("Mul", []*ir.Value{back, w}), bias}))
		}, shapes: map[string][]int{"x": {2, 6, 3, 3}}},
	}
	return cases
}
