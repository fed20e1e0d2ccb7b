package ir

import (
	"strings"
	"testing"
)

// Node defines its outputs when it is added; an input or initializer
// declared afterwards under one of those names takes the name, and the
// node loses that output, exactly as when the input comes first.
func TestBuilderInputAfterNodeOutput(t *testing.T) {
	for _, first := range []bool{true, false} {
		for _, init := range []bool{false, true} {
			b := NewBuilder("g", nil)
			declare := func() {
				if init {
					b.Initializer(NewFloat32("h", []int64{1}, []float32{1}))
				} else {
					b.Input("h", TensorType(Float32, Shape{DimOf(1)}), nil)
				}
			}
			b.Input("x", TensorType(Float32, Shape{DimOf(1)}), nil)
			if first {
				declare()
			}
			relu := &Node{Name: "r", OpType: "Relu"}
			b.Node(relu, []string{"x"}, []string{"h"})
			if !first {
				declare()
			}
			neg := &Node{Name: "n", OpType: "Neg"}
			b.Node(neg, []string{"h"}, []string{"y"})
			b.Output("y", nil, nil)
			g, err := b.Finish()
			if err == nil || !strings.Contains(err.Error(), `node r (Relu): output "h" has the name of a graph input or initializer`) {
				t.Fatalf("first=%v init=%v: error %v", first, init, err)
			}
			h := g.Value("h")
			if relu.Outputs[0] != nil || h.Producer != nil || neg.Inputs[0] != h || (h.IsInput == init) || (h.Init != nil) != init {
				t.Errorf("first=%v init=%v: relu out %v, h producer %v, neg reads %v", first, init, relu.Outputs[0], h.Producer, neg.Inputs[0])
			}
		}
	}
}
