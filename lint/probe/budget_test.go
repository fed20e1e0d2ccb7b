package probe

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// A fixed input dimension near 2^31 in a tiny file must not make the probe
// allocate it: the probe refuses with an error naming the input and size.
func TestProbeInputBudget(t *testing.T) {
	for _, c := range []struct {
		dims []int64
		want string
	}{
		{[]int64{1, 1 << 31}, "input x of shape [32, 2147483648] needs 256.0 GiB, more than the probe's memory budget"},
		{[]int64{1 << 31, 1 << 31, 1 << 31}, "more than 2^40 elements"},
	} {
		if strconv.IntSize == 32 {
			// A dimension of 2^31 does not fit an int: the executor
			// refuses the input when the model is compiled.
			c.want = `input "x": dimension 1 is 2147483648, more than an int holds on this platform`
		}
		g := ir.NewGraph("g")
		s := ir.Shape{ir.SymDim("batch")}
		for _, d := range c.dims[1:] {
			s = append(s, ir.DimOf(d))
		}
		x := g.AddInput("x", ir.TensorType(ir.Float32, s))
		g.AddOutput(g.AddNode("Relu", "r", []*ir.Value{x}, 1).Outputs[0])
		m := &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: 13}}, Graph: g}
		f, err := lint.NewFacts(m, "m.onnx")
		if err != nil {
			t.Fatal(err)
		}
		_, err = Run(m, f, Options{Batch: 32})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("dims %v: %v, want %q", c.dims, err, c.want)
		}
	}
}
