package ir_test

import (
	"fmt"

	"github.com/nnkit/nnkit/ir"
)

// A small CNN with a symbolic batch: shapes come out as monomials in
// "batch", and substituting a batch size gives concrete shapes.
func ExampleInferShapes() {
	g := ir.NewGraph("cnn")
	m := &ir.Model{Opsets: []ir.OpsetID{{Version: 13}}, Graph: g}
	x := g.AddInput("input", ir.TensorType(ir.Float32, ir.Shape{ir.SymDim("batch"), ir.DimOf(1), ir.DimOf(28), ir.DimOf(28)}))
	w := g.AddInitializer(ir.NewFloat32("conv.weight", []int64{8, 1, 3, 3}, make([]float32, 72)))
	conv := g.AddNode("Conv", "conv", []*ir.Value{x, w}, 1, ir.IntsAttr("pads", 1, 1, 1, 1))
	pool := g.AddNode("MaxPool", "pool", conv.Outputs, 1, ir.IntsAttr("kernel_shape", 2, 2), ir.IntsAttr("strides", 2, 2))
	flat := g.AddNode("Flatten", "flatten", pool.Outputs, 1)
	rows := g.AddNode("Reshape", "rows", []*ir.Value{flat.Outputs[0], g.AddInitializer(ir.NewInt64("shape", []int64{2}, []int64{-1, 196}))}, 1)

	report, err := ir.InferShapes(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(report)
	for _, n := range []*ir.Node{conv, pool, flat, rows} {
		fmt.Println(n.Name, n.Outputs[0].Shape())
	}
	sizes, _ := rows.Outputs[0].Shape().Eval(map[string]int64{"batch": 32})
	fmt.Println("at batch 32:", sizes)
	// Output:
	// all shapes inferred
	// conv [batch, 8, 28, 28]
	// pool [batch, 8, 14, 14]
	// flatten [batch, 1568]
	// rows [8*batch, 196]
	// at batch 32: [256 196]
}
