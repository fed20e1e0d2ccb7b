package irtest

import (
	"fmt"

	"github.com/nnkit/nnkit/ir"
)

// Chain is issue 9's model: n parameter-free nodes in a line (Relu,
// Sigmoid, Tanh, Neg, repeated) on an input [batch, 8], named as PyTorch
// names the layers of an nn.Sequential, in opset 17.
func Chain(n int) *ir.Model {
	g := ir.NewGraph("chain")
	x := g.AddInput("input", ir.TensorType(ir.Float32, ir.Shape{ir.SymDim("batch"), ir.DimOf(8)}))
	ops := []string{"Relu", "Sigmoid", "Tanh", "Neg"}
	for i := 0; i < n; i++ {
		x = g.AddNode(ops[i%len(ops)], fmt.Sprintf("/layers/layers.%d/%s", i, ops[i%len(ops)]), []*ir.Value{x}, 1).Outputs[0]
	}
	g.AddOutput(x)
	return &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: 17}}, Graph: g}
}
