package exec

import (
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// Every operator the executor runs has a schema, so that the arity and
// attribute checks cover it (an operator added to exec must be added to
// ir's schema table too).
func TestEveryOpHasSchema(t *testing.T) {
	for _, op := range SupportedOps() {
		found := false
		for opset := int64(ir.MinOpset); opset <= ir.MaxOpset && !found; opset++ {
			v, _ := ir.LookupSchema(op, opset)
			found = v != nil
		}
		if !found {
			t.Errorf("%s has no schema in ir/schema.go", op)
		}
	}
}

// Every operator the executor runs has a shape function in ir, so that
// nnlint summary and the rules see shapes wherever nntrain can run, and the
// planners' shapes have ir's inference as their reference.
func TestEveryOpHasShapeInference(t *testing.T) {
	inferred := map[string]bool{}
	for _, op := range ir.InferredOps() {
		inferred[op] = true
	}
	for _, op := range SupportedOps() {
		if !inferred[op] {
			t.Errorf("%s has no shape function in ir/infer_*.go", op)
		}
	}
}

// Supports answers from the same table as SupportedOps, for the default
// domain only.
func TestSupports(t *testing.T) {
	g := ir.NewGraph("g")
	x := g.AddInput("x", nil)
	for _, c := range []struct {
		op, domain string
		want       bool
	}{
		{"Relu", "", true}, {"Relu", "ai.onnx", true}, {"Relu", "com.microsoft", false},
		{"Einsum", "", false}, {"FancyOp", "", false},
	} {
		n := g.AddNode(c.op, "", []*ir.Value{x}, 1)
		n.Domain = c.domain
		if got := Supports(n); got != c.want {
			t.Errorf("Supports(%s in %q) = %v, want %v", c.op, c.domain, got, c.want)
		}
	}
	for _, op := range SupportedOps() {
		if !Supports(&ir.Node{OpType: op}) {
			t.Errorf("Supports(%s) = false, but SupportedOps lists it", op)
		}
	}
}

// A node listing more outputs (or fewer inputs) than its operator defines is
// refused by Compile with an error naming the node, never a panic. Models
// read by onnxio are refused earlier; these are built in code.
func TestArityRefusedNotPanicking(t *testing.T) {
	for _, c := range []struct {
		name  string
		build func(b *gb)
		want  string
	}{
		{"relu two outputs", func(b *gb) {
			n := b.g.AddNode("Relu", "r", []*ir.Value{b.input("x", 2, 3)}, 2)
			b.out(n.Outputs[0])
			b.out(n.Outputs[1])
		}, "node r (Relu): has 2 outputs"},
		{"batchnorm six outputs", func(b *gb) {
			x := b.input("x", 2, 3)
			n := b.g.AddNode("BatchNormalization", "bn", []*ir.Value{x, b.param("s", 3), b.param("b", 3), b.param("m", 3), b.param("v", 3)}, 6)
			b.out(n.Outputs[0])
		}, "node bn (BatchNormalization): has 6 outputs"},
		{"gemm one input", func(b *gb) {
			b.out(b.g.AddNode("Gemm", "fc", []*ir.Value{b.input("x", 2, 3)}, 1).Outputs[0])
		}, "node fc (Gemm): has 1 input"},
		{"maxpool indices before opset 8", func(b *gb) {
			n := b.g.AddNode("MaxPool", "mp", []*ir.Value{b.input("x", 1, 1, 4, 4)}, 2, ir.IntsAttr("kernel_shape", 2, 2))
			b.out(n.Outputs[0])
		}, "node mp (MaxPool): has 2 outputs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			opset := int64(13)
			if strings.Contains(c.name, "opset 8") {
				opset = 7
			}
			b := newGB(opset)
			c.build(b)
			_, err := Compile(b.model(), Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Compile: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// Inputs whose type the executor would reinterpret are refused.
func TestInputTypesRefused(t *testing.T) {
	for _, c := range []struct {
		typ  *ir.TypeInfo
		want string
	}{
		{ir.TensorType(ir.Float64, ir.Shape{ir.DimOf(2)}), "element type float64; the executor computes in float32"},
		{ir.TensorType(ir.Float16, ir.Shape{ir.DimOf(2)}), "element type float16"},
		{&ir.TypeInfo{Opaque: []byte{0x0a, 0x00}}, "is not a tensor"},
	} {
		b := newGB(13)
		x := b.g.AddInput("x", c.typ)
		b.out(b.g.AddNode("Relu", "r", []*ir.Value{x}, 1).Outputs[0])
		_, err := Compile(b.model(), Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compile with input %v: %v, want %q", c.typ, err, c.want)
		}
	}
}
