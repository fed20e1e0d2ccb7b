package onnxio

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/nnkit/nnkit/ir"
	pb "github.com/nnkit/nnkit/onnxio/internal/onnxpb"
)

// wireVsProto decodes b with the wire decoder and with protobuf's generated
// code alone and fails t on any difference: both must refuse with the same
// errors, or accept models that write back to the same bytes. It reports
// whether the wire decoder handled b at all.
func wireVsProto(t *testing.T, b []byte) bool {
	t.Helper()
	w, ok := splitModel(b)
	sw, sok := scanFile(bytes.NewReader(b), int64(len(b)))
	if sok && !ok {
		t.Fatal("the file scan (ReadFile's path) accepted bytes splitModel refuses")
	}
	if !ok {
		return false
	}
	got, gerr := decodeWire(w, "m.onnx", "")
	if sok {
		streamVsWire(t, sw, got, gerr)
	}
	if gerr == errNotWire {
		return false
	}
	want, werr := decodeProto(b, "m.onnx", "")
	switch {
	case (gerr == nil) != (werr == nil):
		t.Fatalf("wire decoder: %v\nprotobuf: %v", gerr, werr)
	case gerr != nil:
		if gerr.Error() != werr.Error() {
			t.Fatalf("errors differ:\nwire decoder: %v\nprotobuf: %v", gerr, werr)
		}
	default:
		gb, err1 := Encode(got)
		wb, err2 := Encode(want)
		if (err1 == nil) != (err2 == nil) || !bytes.Equal(gb, wb) {
			t.Fatalf("the decoders' models differ (encode: %v / %v; %d / %d bytes)", err1, err2, len(gb), len(wb))
		}
	}
	return true
}

// streamVsWire decodes a model split by scanFile (the nodes and
// initializers read from the file as ReadFile does) and fails t unless it
// gives what the wire decoder gave from the bytes (got, gerr).
func streamVsWire(t *testing.T, sw wireModel, got *ir.Model, gerr error) {
	t.Helper()
	sgot, serr := decodeWire(sw, "m.onnx", "")
	switch {
	case (serr == errNotWire) != (gerr == errNotWire):
		t.Fatalf("from the file: %v\nfrom the bytes: %v", serr, gerr)
	case (serr == nil) != (gerr == nil):
		t.Fatalf("from the file: %v\nfrom the bytes: %v", serr, gerr)
	case serr != nil:
		if serr.Error() != gerr.Error() {
			t.Fatalf("errors differ:\nfrom the file: %v\nfrom the bytes: %v", serr, gerr)
		}
	default:
		sb, err1 := Encode(sgot)
		gb, err2 := Encode(got)
		if (err1 == nil) != (err2 == nil) || !bytes.Equal(sb, gb) {
			t.Fatalf("models read from the file and from the bytes differ (encode: %v / %v; %d / %d bytes)", err1, err2, len(sb), len(gb))
		}
	}
}

// TestWireMatchesProto: every fixture model takes the wire path (a silent
// fallback to protobuf would bring back the memory it saves) and decodes
// to what protobuf's decoder gives.
func TestWireMatchesProto(t *testing.T) {
	for _, f := range fixtureModels(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !wireVsProto(t, b) {
			t.Errorf("%s: not decoded by the wire decoder", f)
		}
	}
}

// extrasModel is tinyModel with everything a node can carry besides its
// operator, plus fields of an unexpected wire type and unknown fields at
// every level the wire decoder reads.
func extrasModel() *pb.ModelProto {
	m := tinyModel()
	n := m.Graph.Node[1]
	n.DocString = proto.String("activation")
	n.Overload = proto.String("ov")
	n.Domain = proto.String("")
	n.MetadataProps = []*pb.StringStringEntryProto{{Key: proto.String("k"), Value: proto.String("v")}, {Key: proto.String("k2")}}
	n.DeviceConfigurations = []*pb.NodeDeviceConfigurationProto{{ConfigurationId: proto.String("cfg")}}
	var u []byte
	u = protowire.AppendTag(u, 3, protowire.VarintType) // name as a varint: unknown to protobuf
	u = protowire.AppendVarint(u, 7)
	u = protowire.AppendTag(u, 99, protowire.BytesType)
	u = protowire.AppendBytes(u, []byte("future field"))
	u = protowire.AppendTag(u, 5, protowire.Fixed32Type) // attribute as fixed32
	u = protowire.AppendFixed32(u, 1)
	n.ProtoReflect().SetUnknown(u)
	var gu []byte
	gu = protowire.AppendTag(gu, 1, protowire.VarintType) // node as a varint
	gu = protowire.AppendVarint(gu, 1)
	gu = protowire.AppendTag(gu, 5, protowire.Fixed64Type) // initializer as fixed64
	gu = protowire.AppendFixed64(gu, 2)
	m.Graph.ProtoReflect().SetUnknown(gu)
	var mu []byte
	mu = protowire.AppendTag(mu, 7, protowire.VarintType) // graph as a varint
	mu = protowire.AppendVarint(mu, 3)
	m.ProtoReflect().SetUnknown(mu)
	// A subgraph (If branches) and a second node name field (the last one
	// counts).
	cond := &pb.NodeProto{Name: proto.String("c"), OpType: proto.String("If"), Input: []string{"b"}, Output: []string{"z"},
		Attribute: []*pb.AttributeProto{
			{Name: proto.String("then_branch"), Type: pb.AttributeProto_GRAPH.Enum(), G: &pb.GraphProto{Name: proto.String("t"),
				Node:   []*pb.NodeProto{{OpType: proto.String("Identity"), Input: []string{"y"}, Output: []string{"t_out"}}},
				Output: []*pb.ValueInfoProto{{Name: proto.String("t_out")}}}},
			{Name: proto.String("else_branch"), Type: pb.AttributeProto_GRAPH.Enum(), G: &pb.GraphProto{Name: proto.String("e"),
				Node:   []*pb.NodeProto{{OpType: proto.String("Neg"), Input: []string{"y"}, Output: []string{"e_out"}}},
				Output: []*pb.ValueInfoProto{{Name: proto.String("e_out")}}}},
		}}
	m.Graph.Node = append(m.Graph.Node, cond)
	m.Graph.Input = append(m.Graph.Input, &pb.ValueInfoProto{Name: proto.String("b"), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(9), Shape: &pb.TensorShapeProto{}}}}})
	m.Graph.Output = append(m.Graph.Output, &pb.ValueInfoProto{Name: proto.String("z")})
	return m
}

func TestWireEdgeCases(t *testing.T) {
	b, err := proto.Marshal(extrasModel())
	if err != nil {
		t.Fatal(err)
	}
	if !wireVsProto(t, b) {
		t.Fatal("extras model not decoded by the wire decoder")
	}
	m, err := Decode(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := m.Graph.Nodes[1]
	if n.Extra == nil || n.Extra.DocString != "activation" || n.Extra.Overload != "ov" || len(n.Extra.Metadata) != 2 || len(n.Extra.DeviceConfigs) != 1 || len(n.Extra.Unknown) == 0 {
		t.Errorf("node extras lost: %+v", n.Extra)
	}
	if m.Graph.Nodes[0].Extra != nil {
		t.Errorf("a node without extras got %+v", m.Graph.Nodes[0].Extra)
	}
	if len(m.Graph.Unknown) == 0 || len(m.Unknown) == 0 {
		t.Error("unknown graph or model fields lost")
	}

	// A second name field: the last one counts, as in protobuf.
	nb, _ := proto.Marshal(&pb.NodeProto{Name: proto.String("first"), OpType: proto.String("Relu"), Input: []string{"h"}, Output: []string{"y"}})
	nb = protowire.AppendTag(nb, 3, protowire.BytesType)
	nb = protowire.AppendString(nb, "second")
	tm := tinyModel()
	tm.Graph.Node = tm.Graph.Node[:1]
	gb, _ := proto.Marshal(tm.Graph)
	gb = protowire.AppendTag(gb, 1, protowire.BytesType)
	gb = protowire.AppendBytes(gb, nb)
	tm.Graph = nil
	mb, _ := proto.Marshal(tm)
	mb = protowire.AppendTag(mb, 7, protowire.BytesType)
	mb = protowire.AppendBytes(mb, gb)
	if !wireVsProto(t, mb) {
		t.Fatal("repeated name field: not decoded by the wire decoder")
	}
	if m, err := Decode(mb, nil); err != nil || m.Graph.Nodes[1].Name != "second" {
		t.Fatalf("repeated name field: %v", err)
	}

	// Malformed nodes, a dangling input and truncations: same errors.
	for cut := 1; cut < len(b); cut += 7 {
		wireVsProto(t, b[:cut])
	}
	bad := tinyModel()
	bad.Graph.Node[1].Input[0] = "nowhere"
	bb, _ := proto.Marshal(bad)
	if !wireVsProto(t, bb) {
		t.Fatal("dangling input: not decoded by the wire decoder")
	}

	// Two graph fields (protobuf merges them) and two raw_data fields in an
	// initializer are left to protobuf, and Decode still reads them.
	two := append(append([]byte{}, b...), protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), nil)...)
	if _, ok := splitModel(two); ok {
		t.Error("a repeated graph field was not left to protobuf")
	}
	if _, err := Decode(two, nil); err != nil {
		t.Errorf("repeated graph field: %v", err)
	}
	dup := tinyModel()
	raw := dup.Graph.Initializer[0].RawData
	dup.Graph.Initializer[0].ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 9, protowire.BytesType), raw))
	db, _ := proto.Marshal(dup)
	if w, ok := splitModel(db); ok {
		if _, err := decodeWire(w, "m", ""); err != errNotWire {
			t.Errorf("two raw_data fields: wire decoder did not give up (%v)", err)
		}
	}
	if _, err := Decode(db, nil); err != nil {
		t.Errorf("two raw_data fields: %v", err)
	}
}

// TestWireAliasesLargeTensors: raw_data of minAlias bytes or more is not
// copied (a model's tensors then cost their file bytes once).
func TestWireAliasesLargeTensors(t *testing.T) {
	m := tinyModel()
	m.Graph.Initializer[0].Dims = []int64{3, 4 * 64}
	m.Graph.Initializer[0].RawData = make([]byte, 4*3*4*64)
	m.Graph.Node[0].Attribute[0].I = proto.Int64(0)
	m.Graph.Input[0].Type.GetTensorType().Shape.Dim[1].Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: 3}
	m.Graph.Initializer[1].Dims = []int64{4 * 64}
	m.Graph.Initializer[1].RawData = make([]byte, 4*4*64)
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	within := func(p []byte) bool {
		s, e := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(unsafe.SliceData(p)))
		return e >= s && e < s+uintptr(len(b))
	}
	for _, v := range got.Graph.Initializers {
		if !within(v.Init.Raw) {
			t.Errorf("initializer %q (%d bytes) was copied", v.Name, len(v.Init.Raw))
		}
	}
}

// FuzzWire checks the wire decoder against protobuf's on arbitrary bytes.
//
//	go test ./onnxio -run '^$' -fuzz FuzzWire -fuzztime 10m
func FuzzWire(f *testing.F) {
	for _, m := range []*pb.ModelProto{tinyModel(), extrasModel()} {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		wireVsProto(t, data)
	})
}

// fixtureModels lists the repository's ONNX fixtures: the exported models,
// the lint fixtures and the real-architecture ones.
func fixtureModels(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"../testdata/models/*/*.onnx", "../testdata/lint/*.onnx", "../testdata/lint/realarch/*.onnx"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("found %d fixture models, expected the repository's ≥ 20", len(files))
	}
	return files
}
