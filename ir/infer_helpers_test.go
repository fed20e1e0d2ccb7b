package ir_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// tg builds small graphs for shape-inference tests.
type tg struct {
	t *testing.T
	m *ir.Model
	g *ir.Graph
}

func newTG(t *testing.T, opset int64) *tg {
	t.Helper()
	g := ir.NewGraph("test")
	return &tg{t: t, g: g, m: &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: opset}}, Graph: g}}
}

// dims turns ints into known dims, strings into symbolic ones and "?" into
// an unknown one.
func dims(ds ...any) ir.Shape {
	s := ir.Shape{}
	for _, d := range ds {
		switch d := d.(type) {
		case int:
			s = append(s, ir.DimOf(int64(d)))
		case string:
			if d == "?" {
				s = append(s, ir.UnknownDim())
			} else {
				s = append(s, ir.SymDim(d))
			}
		default:
			panic(d)
		}
	}
	return s
}

func (b *tg) in(name string, elem ir.DType, ds ...any) *ir.Value {
	return b.g.AddInput(name, ir.TensorType(elem, dims(ds...)))
}

// f is a float32 input.
func (b *tg) f(name string, ds ...any) *ir.Value { return b.in(name, ir.Float32, ds...) }

// ints is an int64 initializer (1-D; a scalar if scalar is set).
func (b *tg) ints(name string, xs ...int64) *ir.Value {
	return b.g.AddInitializer(ir.NewInt64(name, []int64{int64(len(xs))}, xs))
}

func (b *tg) scalar(name string, x int64) *ir.Value {
	return b.g.AddInitializer(ir.NewInt64(name, nil, []int64{x}))
}

// w is a float32 initializer of zeros.
func (b *tg) w(name string, ds ...int64) *ir.Value {
	n := int64(1)
	for _, d := range ds {
		n *= d
	}
	return b.g.AddInitializer(ir.NewFloat32(name, ds, make([]float32, n)))
}

func (b *tg) node(op string, ins []*ir.Value, nOut int, attrs ...*ir.Attribute) *ir.Node {
	return b.g.AddNode(op, "", ins, nOut, attrs...)
}

// out1 adds a one-output node and returns its output.
func (b *tg) out1(op string, ins []*ir.Value, attrs ...*ir.Attribute) *ir.Value {
	return b.node(op, ins, 1, attrs...).Outputs[0]
}

// infer runs InferShapes and fails on an error or an incomplete report.
func (b *tg) infer() *ir.ShapeReport {
	b.t.Helper()
	rep, err := ir.InferShapes(b.m)
	if err != nil {
		b.t.Fatalf("InferShapes: %v", err)
	}
	if !rep.Complete() {
		b.t.Fatalf("incomplete: %s", rep)
	}
	return rep
}

// inferErr runs InferShapes and returns its error, which must be an
// ir.ErrorList whose messages contain every fragment of want.
func (b *tg) inferErr(want ...string) error {
	b.t.Helper()
	_, err := ir.InferShapes(b.m)
	if err == nil {
		b.t.Fatalf("InferShapes: no error, want one containing %q", want)
	}
	var list ir.ErrorList
	if !errors.As(err, &list) {
		b.t.Fatalf("error %T is not an ir.ErrorList", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			b.t.Errorf("error %q does not contain %q", err, w)
		}
	}
	return err
}

// is checks a value's element type and shape (canonical string form).
func is(t *testing.T, v *ir.Value, elem ir.DType, shape string) {
	t.Helper()
	if v.Elem() != elem || v.Shape().String() != shape {
		t.Errorf("%s: %s %s, want %s %s", v.Name, v.Elem(), v.Shape(), elem, shape)
	}
}
