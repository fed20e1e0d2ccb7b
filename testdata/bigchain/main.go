// Command bigchain writes a long chain of small elementwise nodes, the
// model of issue 9 point 8 (memory per node in nnlint). The file holds no
// tensors: its size is the graph itself (≈ 100 bytes a node), so nnlint's
// peak RSS divided by the file size is the per-node overhead.
//
//	go run ./testdata/bigchain -n 200000 -o /tmp/chain200k.onnx
//	/usr/bin/time -v go run ./cmd/nnlint /tmp/chain200k.onnx
//
// The nodes cycle through Relu, Sigmoid, Tanh and Neg with PyTorch-style
// names (/layers/layers.N/Op) on a [batch, 8] float input.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

func main() {
	n := flag.Int("n", 200000, "number of nodes")
	out := flag.String("o", "chain.onnx", "output file")
	flag.Parse()
	g := ir.NewGraph("chain")
	x := g.AddInput("input", ir.TensorType(ir.Float32, ir.Shape{ir.SymDim("batch"), ir.DimOf(8)}))
	ops := []string{"Relu", "Sigmoid", "Tanh", "Neg"}
	for i := 0; i < *n; i++ {
		op := ops[i%len(ops)]
		x = g.AddNode(op, fmt.Sprintf("/layers/layers.%d/%s", i, op), []*ir.Value{x}, 1).Outputs[0]
	}
	g.AddOutput(x)
	m := &ir.Model{IRVersion: 8, ProducerName: "bigchain", Opsets: []ir.OpsetID{{Version: 17}}, Graph: g}
	if err := onnxio.WriteFile(*out, m, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
