package exec

import (
	"math/rand/v2"

	"github.com/nnkit/nnkit/ir"
)

// gb builds small ir graphs for the tests.
type gb struct {
	g     *ir.Graph
	opset int64
	rng   *rand.Rand
	// data generators for inputs, by name (default: N(0,1))
	gen map[string]func(r *rand.Rand) float64
}

func newGB(opset int64) *gb {
	return &gb{g: ir.NewGraph("test"), opset: opset, rng: rand.New(rand.NewPCG(1, 2)), gen: map[string]func(*rand.Rand) float64{}}
}

func (b *gb) model() *ir.Model {
	return &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: b.opset}}, Graph: b.g}
}

// input declares a float data input; dims < 0 are symbolic.
func (b *gb) input(name string, dims ...int) *ir.Value {
	s := make(ir.Shape, len(dims))
	for i, d := range dims {
		if d < 0 {
			s[i] = ir.SymDim("batch")
		} else {
			s[i] = ir.DimOf(int64(d))
		}
	}
	return b.g.AddInput(name, ir.TensorType(ir.Float32, s))
}

// param adds a float initializer with N(0,1)·scale values.
func (b *gb) param(name string, dims ...int) *ir.Value {
	data := make([]float32, numel(dims))
	for i := range data {
		data[i] = float32(b.rng.NormFloat64())
	}
	return b.g.AddInitializer(ir.NewFloat32(name, i64s(dims), data))
}

func (b *gb) paramData(name string, dims []int, data []float32) *ir.Value {
	return b.g.AddInitializer(ir.NewFloat32(name, i64s(dims), data))
}

// ints adds an int64 constant initializer (dims nil: 1-D).
func (b *gb) ints(name string, v ...int64) *ir.Value {
	return b.g.AddInitializer(ir.NewInt64(name, []int64{int64(len(v))}, v))
}

func (b *gb) scalarInt(name string, v int64) *ir.Value {
	return b.g.AddInitializer(ir.NewInt64(name, []int64{}, []int64{v}))
}

// constF is a float scalar produced by a Constant node (never a parameter).
func (b *gb) constF(v float32) *ir.Value {
	n := b.g.AddNode("Constant", "", nil, 1, ir.TensorAttr("value", ir.NewFloat32("c", []int64{}, []float32{v})))
	return n.Outputs[0]
}

func (b *gb) constBool(v bool) *ir.Value {
	t := &ir.Tensor{Name: "b", DType: ir.Bool, Dims: []int64{}, Raw: []byte{0}}
	if v {
		t.Raw[0] = 1
	}
	n := b.g.AddNode("Constant", "", nil, 1, ir.TensorAttr("value", t))
	return n.Outputs[0]
}

func (b *gb) node(op string, ins []*ir.Value, attrs ...*ir.Attribute) *ir.Value {
	return b.g.AddNode(op, "", ins, 1, attrs...).Outputs[0]
}

func (b *gb) nodeN(op string, ins []*ir.Value, n int, attrs ...*ir.Attribute) []*ir.Value {
	return b.g.AddNode(op, "", ins, n, attrs...).Outputs
}

func (b *gb) out(vs ...*ir.Value) {
	for _, v := range vs {
		b.g.AddOutput(v)
	}
}
