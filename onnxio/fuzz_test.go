package onnxio

import (
	"os"
	"testing"

	"google.golang.org/protobuf/proto"
)

// FuzzDecode feeds arbitrary bytes to the reader. It must never panic or
// allocate without bound; whatever it accepts must write back and read
// again to a model with the same structure.
//
//	go test ./onnxio -run '^$' -fuzz FuzzDecode -fuzztime 10m
//
// Crashers found are committed under testdata/fuzz/FuzzDecode and run as
// regression tests by plain `go test`.
func FuzzDecode(f *testing.F) {
	for _, p := range []string{
		"../testdata/models/mlp_digits/train.onnx",
		"../testdata/models/lstm_classifier/train.onnx",
		"../testdata/models/transformer_encoder/eval.onnx",
		"../testdata/models/cnn_digits/train.onnx",
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	m := tinyModel()
	b, _ := proto.Marshal(m)
	f.Add(b)
	f.Add(b[:len(b)/2])
	m.Graph.Node[0].Input[0] = "y"
	b, _ = proto.Marshal(m)
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data, nil)
		if err != nil {
			return
		}
		out, err := Encode(m)
		if err != nil {
			t.Fatalf("accepted model does not encode: %v", err)
		}
		again, err := Decode(out, nil)
		if err != nil {
			t.Fatalf("re-encoded model does not decode: %v", err)
		}
		if len(again.Graph.Nodes) != len(m.Graph.Nodes) || len(again.Graph.Initializers) != len(m.Graph.Initializers) {
			t.Fatalf("structure changed: %d/%d nodes, %d/%d initializers", len(m.Graph.Nodes), len(again.Graph.Nodes), len(m.Graph.Initializers), len(again.Graph.Initializers))
		}
		if _, err := m.Graph.TopoOrder(); err != nil {
			t.Fatalf("accepted model has no topological order: %v", err)
		}
		for _, v := range m.Graph.Initializers {
			if v.Init.DType.IsFloat() && v.Init.DType.Bits() >= 16 {
				if _, err := v.Init.Float32s(); err != nil {
					t.Fatalf("accepted initializer %q unreadable: %v", v.Name, err)
				}
			}
		}
	})
}
