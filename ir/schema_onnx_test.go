package ir_test

import (
	"encoding/json"
	"os"
	"sort"
	"strconv"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// onnxSchemas is testdata/schema/onnx_schemas.json: ONNX's own operator
// schemas (onnx.defs of Debian's python3-onnx 1.12, opsets 7 to 17) for
// every operator in ir's table, written by testdata/schema/make_schemas.py.
type onnxSchemas struct {
	ONNX     string                               `json:"onnx"`
	MaxOpset int64                                `json:"max_opset"`
	Ops      map[string]map[string]*onnxOpVersion `json:"ops"`
}

type onnxOpVersion struct {
	In    [2]int            `json:"in"`
	Out   [2]int            `json:"out"`
	Attrs map[string]string `json:"attrs"`
}

// Every operator of ir's schema table agrees with the ONNX specification's
// own schemas at every opset the installed onnx knows: whether it exists,
// input and output counts, attribute names and kinds. This is what keeps
// the load-time checks from refusing valid models (or accepting invalid
// ones) through a typo in the table.
func TestSchemasMatchONNX(t *testing.T) {
	b, err := os.ReadFile("../testdata/schema/onnx_schemas.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref onnxSchemas
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	ops := ir.SchemaOps()
	if len(ref.Ops) != len(ops) {
		t.Errorf("the reference covers %d operators, the table has %d: regenerate testdata/schema (see make_schemas.py)", len(ref.Ops), len(ops))
	}
	for _, op := range ops {
		vers, ok := ref.Ops[op]
		if !ok {
			t.Errorf("%s: not in the reference", op)
			continue
		}
		var since []int64
		for k := range vers {
			n, _ := strconv.ParseInt(k, 10, 64)
			since = append(since, n)
		}
		sort.Slice(since, func(i, j int) bool { return since[i] < since[j] })
		for opset := int64(ir.MinOpset); opset <= ref.MaxOpset; opset++ {
			var want *onnxOpVersion
			for _, s := range since {
				if s <= opset {
					want = vers[strconv.FormatInt(s, 10)]
				}
			}
			got, _ := ir.LookupSchema(op, opset)
			switch {
			case want == nil && got == nil:
				continue
			case want == nil:
				t.Errorf("%s@%d: ONNX has no such operator (or deprecated it); the table accepts it", op, opset)
				continue
			case got == nil:
				t.Errorf("%s@%d: exists in ONNX; the table refuses it", op, opset)
				continue
			}
			if got.MinIn != want.In[0] || got.MaxIn != want.In[1] || got.MinOut != want.Out[0] || got.MaxOut != want.Out[1] {
				t.Errorf("%s@%d: inputs %d..%d outputs %d..%d, ONNX says inputs %d..%d outputs %d..%d",
					op, opset, got.MinIn, got.MaxIn, got.MinOut, got.MaxOut, want.In[0], want.In[1], want.Out[0], want.Out[1])
			}
			for name, kind := range want.Attrs {
				a := got.Attr(name)
				switch {
				case a == nil:
					t.Errorf("%s@%d: ONNX has attribute %s (%s); the table does not", op, opset, name, kind)
				case a.Type.String() != kind:
					t.Errorf("%s@%d: attribute %s is %s in the table, %s in ONNX", op, opset, name, a.Type, kind)
				}
			}
			for _, a := range got.Attrs {
				if _, ok := want.Attrs[a.Name]; !ok {
					t.Errorf("%s@%d: the table has attribute %s; ONNX does not", op, opset, a.Name)
				}
			}
		}
	}
}
