package ir_test

import (
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// schemaModel builds x → op → outputs at an opset, for schema checks.
func schemaModel(opset int64, op string, nIn, nOut int, attrs ...*ir.Attribute) *ir.Model {
	g := ir.NewGraph("g")
	var ins []*ir.Value
	for i := 0; i < nIn; i++ {
		ins = append(ins, g.AddInput(string(rune('a'+i)), ir.TensorType(ir.Float32, ir.Shape{ir.DimOf(2)})))
	}
	n := g.AddNode(op, "the_node", ins, nOut, attrs...)
	for _, o := range n.Outputs {
		g.AddOutput(o)
	}
	return &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: opset}}, Graph: g}
}

func TestSchemaArity(t *testing.T) {
	for _, c := range []struct {
		name      string
		opset     int64
		op        string
		nIn, nOut int
		want      string // "" = valid
	}{
		{"relu", 13, "Relu", 1, 1, ""},
		{"relu two outputs", 13, "Relu", 1, 2, "has 2 outputs, Relu at opset 13 takes exactly 1"},
		{"relu no input", 13, "Relu", 0, 1, "has 0 inputs, Relu at opset 13 takes exactly 1"},
		{"bn six outputs", 9, "BatchNormalization", 5, 6, "has 6 outputs, BatchNormalization at opset 9 takes at most 5"},
		{"bn five outputs opset 9", 9, "BatchNormalization", 5, 5, ""},
		{"bn five outputs opset 15", 15, "BatchNormalization", 5, 5, "takes at most 3"},
		{"conv one input", 13, "Conv", 1, 1, "needs at least 2"},
		{"unsqueeze axes input opset 11", 11, "Unsqueeze", 2, 1, "has 2 inputs, Unsqueeze at opset 11 takes exactly 1"},
		{"unsqueeze axes input opset 13", 13, "Unsqueeze", 2, 1, ""},
		{"concat variadic", 13, "Concat", 5, 1, ""},
		{"lstm no outputs", 14, "LSTM", 3, 0, ""},
		{"gru four outputs", 14, "GRU", 3, 4, "takes at most 2"},
		{"gelu before opset 20", 17, "Gelu", 1, 1, "Gelu does not exist at opset 17 (it was added in opset 20)"},
		{"unknown op passes", 13, "FancyOp", 4, 4, ""},
		{"topk k attribute era", 9, "TopK", 1, 2, ""},
		{"topk k input era", 11, "TopK", 2, 2, ""},
		{"upsample deprecated", 10, "Upsample", 2, 1, "Upsample was deprecated in opset 10"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var attrs []*ir.Attribute
			if c.op == "Concat" {
				attrs = append(attrs, ir.IntAttr("axis", 0))
			}
			err := schemaModel(c.opset, c.op, c.nIn, c.nOut, attrs...).CheckSchemas()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("no error, want %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q does not say %q", err, c.want)
			case c.want != "" && !strings.Contains(err.Error(), "the_node ("+c.op+")"):
				t.Fatalf("error %q does not name the node and op", err)
			}
		})
	}
}

func TestSchemaAttributes(t *testing.T) {
	for _, c := range []struct {
		name  string
		opset int64
		op    string
		attr  *ir.Attribute
		want  string
	}{
		{"known", 13, "LeakyRelu", ir.FloatAttr("alpha", 0.2), ""},
		{"misspelled", 13, "LeakyRelu", ir.FloatAttr("alpah", 0.2), `unknown attribute "alpah" for LeakyRelu at opset 13 (did you mean "alpha"?)`},
		{"no attributes", 13, "Relu", ir.IntAttr("inplace", 1), "it takes no attributes"},
		{"wrong kind", 13, "LeakyRelu", ir.IntAttr("alpha", 1), `attribute "alpha" is int, want float`},
		{"removed in 11", 11, "Clip", ir.FloatAttr("min", 0), `unknown attribute "min"`},
		{"present until 11", 9, "Clip", ir.FloatAttr("min", 0), ""},
		{"axes attribute at 13 (ReduceSum)", 13, "ReduceSum", ir.IntsAttr("axes", 1), `unknown attribute "axes"`},
		{"axes attribute at 17 (ReduceMean)", 17, "ReduceMean", ir.IntsAttr("axes", 1), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := schemaModel(c.opset, c.op, 1, 1, c.attr).CheckSchemas()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestSchemaVersions(t *testing.T) {
	for _, c := range []struct {
		opset, irv int64
		want       string
	}{
		{13, 8, ""},
		{ir.MinOpset, ir.MinIRVersion, ""},
		{ir.MaxOpset, ir.MaxIRVersion, ""},
		{1, 8, "opset 1 is outside the range nnkit supports"},
		{999, 8, "opset 999 is outside the range"},
		{-1, 8, "opset -1 is outside the range"},
		{13, 999, "ir_version 999 is newer than nnkit supports"},
		{13, 2, "ir_version 2 is older"},
	} {
		m := schemaModel(c.opset, "Relu", 1, 1)
		m.IRVersion = c.irv
		err := m.CheckSchemas()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("opset %d ir %d: unexpected error: %v", c.opset, c.irv, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("opset %d ir %d: error %v, want %q", c.opset, c.irv, err, c.want)
		}
	}
}

// Every version of every schema is well formed: bounds ordered, no
// attribute listed twice.
func TestSchemaTableWellFormed(t *testing.T) {
	for _, op := range ir.SchemaOps() {
		for opset := int64(ir.MinOpset); opset <= ir.MaxOpset; opset++ {
			v, _ := ir.LookupSchema(op, opset)
			if v == nil {
				continue
			}
			if v.MinIn < 0 || (v.MaxIn != ir.Unbounded && v.MaxIn < v.MinIn) || v.MinOut < 0 || (v.MaxOut != ir.Unbounded && v.MaxOut < v.MinOut) {
				t.Errorf("%s@%d: bad bounds %+v", op, opset, v)
			}
			seen := map[string]bool{}
			for _, a := range v.Attrs {
				if seen[a.Name] {
					t.Errorf("%s@%d: attribute %s twice", op, opset, a.Name)
				}
				seen[a.Name] = true
			}
		}
	}
}

// Every operator with a schema has a shape function: the schema table
// checks what shape inference (and the executor, a subset) will read.
func TestSchemaOpsHaveShapeFunctions(t *testing.T) {
	inferred := map[string]bool{}
	for _, op := range ir.InferredOps() {
		inferred[op] = true
	}
	for _, op := range ir.SchemaOps() {
		if !inferred[op] {
			t.Errorf("%s has a schema but no shape function", op)
		}
	}
}
