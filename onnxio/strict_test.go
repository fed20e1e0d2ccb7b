package onnxio

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/nnkit/nnkit/onnxio/internal/onnxpb"
)

// What onnx.checker refuses, the reader refuses, naming the node or tensor.
func TestCheckerLevelStrictness(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(m *pb.ModelProto)
		want   string
	}{
		{"relu with two outputs", func(m *pb.ModelProto) {
			m.Graph.Node[1].Output = append(m.Graph.Node[1].Output, "extra")
		}, "node act (Relu): has 2 outputs, Relu at opset 13 takes exactly 1"},
		{"misspelled attribute", func(m *pb.ModelProto) {
			m.Graph.Node[0].Attribute[0].Name = proto.String("transb")
		}, `node fc (Gemm): unknown attribute "transb" for Gemm at opset 13 (did you mean "transB"?)`},
		{"attribute of the wrong kind", func(m *pb.ModelProto) {
			a := m.Graph.Node[0].Attribute[0]
			a.Type = pb.AttributeProto_FLOAT.Enum()
			a.F = proto.Float32(1)
		}, `node fc (Gemm): attribute "transB" is float, want int`},
		{"opset 1", func(m *pb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(1) }, "default-domain opset 1 is outside the range nnkit supports"},
		{"opset 999", func(m *pb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(999) }, "opset 999 is outside"},
		{"opset -1", func(m *pb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(-1) }, "opset -1 is outside"},
		{"ir_version 999", func(m *pb.ModelProto) { m.IrVersion = proto.Int64(999) }, "ir_version 999 is newer than nnkit supports"},
		{"raw_data plus float_data", func(m *pb.ModelProto) {
			m.Graph.Initializer[1].FloatData = []float32{1, 2, 3}
		}, `tensor "fc.bias": holds both raw_data and float_data`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := tinyModel()
			c.mutate(m)
			msg := readErr(t, "m.onnx", mustMarshal(t, m))
			if !strings.Contains(msg, c.want) {
				t.Fatalf("error %q does not contain %q", msg, c.want)
			}
		})
	}
}
