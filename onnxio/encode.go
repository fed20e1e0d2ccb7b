package onnxio

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/nnkit/nnkit/ir"
	pb "github.com/nnkit/nnkit/onnxio/internal/onnxpb"
)

// ---- ir → protobuf ----

type encoder struct {
	// ext, if set, decides for each tensor whether to store it externally
	// and returns its external_data entries.
	ext func(t *ir.Tensor) ([]*pb.StringStringEntryProto, bool, error)
}

func (e *encoder) model(m *ir.Model) (*pb.ModelProto, error) {
	out := &pb.ModelProto{
		IrVersion:     proto.Int64(m.IRVersion),
		MetadataProps: pbPairs(m.Metadata),
	}
	setStr(&out.ProducerName, m.ProducerName)
	setStr(&out.ProducerVersion, m.ProducerVersion)
	setStr(&out.Domain, m.Domain)
	setStr(&out.DocString, m.DocString)
	if m.ModelVersion != 0 {
		out.ModelVersion = proto.Int64(m.ModelVersion)
	}
	for _, o := range m.Opsets {
		op := &pb.OperatorSetIdProto{Version: proto.Int64(o.Version)}
		setStr(&op.Domain, o.Domain)
		setUnknown(op, o.Unknown)
		out.OpsetImport = append(out.OpsetImport, op)
	}
	for _, b := range m.TrainingInfo {
		t := &pb.TrainingInfoProto{}
		if err := proto.Unmarshal(b, t); err != nil {
			return nil, err
		}
		out.TrainingInfo = append(out.TrainingInfo, t)
	}
	for _, b := range m.Functions {
		f := &pb.FunctionProto{}
		if err := proto.Unmarshal(b, f); err != nil {
			return nil, err
		}
		out.Functions = append(out.Functions, f)
	}
	for _, b := range m.Configuration {
		c := &pb.DeviceConfigurationProto{}
		if err := proto.Unmarshal(b, c); err != nil {
			return nil, err
		}
		out.Configuration = append(out.Configuration, c)
	}
	if m.Graph != nil {
		g, err := e.graph(m.Graph)
		if err != nil {
			return nil, err
		}
		out.Graph = g
	}
	setUnknown(out, m.Unknown)
	return out, nil
}

func (e *encoder) graph(g *ir.Graph) (*pb.GraphProto, error) {
	out := &pb.GraphProto{MetadataProps: pbPairs(g.Metadata)}
	setStr(&out.Name, g.Name)
	setStr(&out.DocString, g.DocString)
	for _, n := range g.Nodes {
		np, err := e.node(n)
		if err != nil {
			return nil, err
		}
		out.Node = append(out.Node, np)
	}
	for _, v := range g.Initializers {
		t, err := e.tensor(v.Init, true)
		if err != nil {
			return nil, err
		}
		out.Initializer = append(out.Initializer, t)
	}
	for _, b := range g.SparseInitializers {
		s := &pb.SparseTensorProto{}
		if err := proto.Unmarshal(b, s); err != nil {
			return nil, err
		}
		out.SparseInitializer = append(out.SparseInitializer, s)
	}
	for _, b := range g.QuantAnnotations {
		q := &pb.TensorAnnotation{}
		if err := proto.Unmarshal(b, q); err != nil {
			return nil, err
		}
		out.QuantizationAnnotation = append(out.QuantizationAnnotation, q)
	}
	var err error
	if out.Input, err = valueInfos(g.Inputs); err != nil {
		return nil, err
	}
	if out.Output, err = valueInfos(g.Outputs); err != nil {
		return nil, err
	}
	if out.ValueInfo, err = valueInfos(g.ValueInfo); err != nil {
		return nil, err
	}
	setUnknown(out, g.Unknown)
	return out, nil
}

func valueInfos(vs []*ir.Value) ([]*pb.ValueInfoProto, error) {
	var out []*pb.ValueInfoProto
	for _, v := range vs {
		x := v.Extra
		if x == nil {
			x = &ir.ValueExtra{}
		}
		vi := &pb.ValueInfoProto{Name: proto.String(v.Name), MetadataProps: pbPairs(x.Metadata)}
		setStr(&vi.DocString, x.DocString)
		if v.Type != nil {
			tp, err := typeProto(v.Type)
			if err != nil {
				return nil, fmt.Errorf("value %q: %w", v.Name, err)
			}
			vi.Type = tp
		}
		setUnknown(vi, x.Unknown)
		out = append(out, vi)
	}
	return out, nil
}

func typeProto(t *ir.TypeInfo) (*pb.TypeProto, error) {
	if t.Opaque != nil && t.Elem == ir.Undefined {
		tp := &pb.TypeProto{}
		return tp, proto.Unmarshal(t.Opaque, tp)
	}
	tt := &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(t.Elem))}
	if t.Shape != nil {
		sp := &pb.TensorShapeProto{Dim: make([]*pb.TensorShapeProto_Dimension, len(t.Shape))}
		for i, d := range t.Shape {
			dp := &pb.TensorShapeProto_Dimension{}
			switch {
			case d.Param != "":
				dp.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
			case d.Value >= 0:
				dp.Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}
			}
			setStr(&dp.Denotation, d.Denotation)
			sp.Dim[i] = dp
		}
		tt.Shape = sp
	}
	setUnknown(tt, t.Unknown)
	tp := &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: tt}}
	setStr(&tp.Denotation, t.Denotation)
	if t.Opaque != nil {
		// Unknown fields of the TypeProto itself.
		orig := &pb.TypeProto{}
		if err := proto.Unmarshal(t.Opaque, orig); err == nil {
			setUnknown(tp, orig.ProtoReflect().GetUnknown())
		}
	}
	return tp, nil
}

func (e *encoder) node(n *ir.Node) (*pb.NodeProto, error) {
	x := n.Extra
	if x == nil {
		x = &ir.NodeExtra{}
	}
	out := &pb.NodeProto{MetadataProps: pbPairs(x.Metadata)}
	setStr(&out.Name, n.Name)
	out.OpType = proto.String(n.OpType)
	setStr(&out.Domain, n.Domain)
	setStr(&out.Overload, x.Overload)
	setStr(&out.DocString, x.DocString)
	for _, v := range n.Inputs {
		out.Input = append(out.Input, valueName(v))
	}
	for _, v := range n.Outputs {
		out.Output = append(out.Output, valueName(v))
	}
	for _, a := range n.Attrs {
		ap, err := e.attribute(a)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Label(), err)
		}
		out.Attribute = append(out.Attribute, ap)
	}
	for _, b := range x.DeviceConfigs {
		dc := &pb.NodeDeviceConfigurationProto{}
		if err := proto.Unmarshal(b, dc); err != nil {
			return nil, err
		}
		out.DeviceConfigurations = append(out.DeviceConfigurations, dc)
	}
	setUnknown(out, x.Unknown)
	return out, nil
}

func valueName(v *ir.Value) string {
	if v == nil {
		return ""
	}
	return v.Name
}

func (e *encoder) attribute(a *ir.Attribute) (*pb.AttributeProto, error) {
	if a.Opaque != nil {
		ap := &pb.AttributeProto{}
		return ap, proto.Unmarshal(a.Opaque, ap)
	}
	out := &pb.AttributeProto{Name: proto.String(a.Name), Type: pb.AttributeProto_AttributeType(a.Type).Enum()}
	setStr(&out.RefAttrName, a.RefAttrName)
	setStr(&out.DocString, a.DocString)
	if a.RefAttrName == "" {
		switch a.Type {
		case ir.AttrFloat:
			out.F = proto.Float32(a.F)
		case ir.AttrInt:
			out.I = proto.Int64(a.I)
		case ir.AttrString:
			out.S = a.S
			if out.S == nil {
				out.S = []byte{}
			}
		case ir.AttrTensor:
			t, err := e.tensor(a.T, false)
			if err != nil {
				return nil, err
			}
			out.T = t
		case ir.AttrGraph:
			g, err := e.graph(a.G)
			if err != nil {
				return nil, err
			}
			out.G = g
		case ir.AttrFloats:
			out.Floats = a.Floats
		case ir.AttrInts:
			out.Ints = a.Ints
		case ir.AttrStrings:
			out.Strings = a.Strings
		case ir.AttrTensors:
			for _, t := range a.Tensors {
				tp, err := e.tensor(t, false)
				if err != nil {
					return nil, err
				}
				out.Tensors = append(out.Tensors, tp)
			}
		case ir.AttrGraphs:
			for _, sg := range a.Graphs {
				g, err := e.graph(sg)
				if err != nil {
					return nil, err
				}
				out.Graphs = append(out.Graphs, g)
			}
		}
	}
	setUnknown(out, a.Unknown)
	return out, nil
}

// tensor converts a Tensor. Contents go to raw_data unless the file had
// them in a typed field (TypedField), or to external data when the encoder's
// policy says so (initializers only).
func (e *encoder) tensor(t *ir.Tensor, initializer bool) (*pb.TensorProto, error) {
	out := &pb.TensorProto{Dims: t.Dims, DataType: proto.Int32(int32(t.DType)), MetadataProps: pbPairs(t.Metadata)}
	if t.Dims == nil {
		out.Dims = nil
	}
	setStr(&out.Name, t.Name)
	setStr(&out.DocString, t.DocString)
	if t.Segment != nil {
		out.Segment = &pb.TensorProto_Segment{Begin: proto.Int64(t.Segment[0]), End: proto.Int64(t.Segment[1])}
	}
	setUnknown(out, t.Unknown)
	if t.DType == ir.String {
		out.StringData = t.Strings
		return out, nil
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if initializer && e.ext != nil {
		kv, external, err := e.ext(t)
		if err != nil {
			return nil, err
		}
		if external {
			out.ExternalData = kv
			out.DataLocation = pb.TensorProto_EXTERNAL.Enum()
			return out, nil
		}
	}
	if !t.TypedField {
		out.RawData = t.Raw
		if out.RawData == nil {
			out.RawData = []byte{}
		}
		return out, nil
	}
	rawToTyped(t, out)
	return out, nil
}

func rawToTyped(t *ir.Tensor, out *pb.TensorProto) {
	le := binary.LittleEndian
	r := t.Raw
	switch t.DType {
	case ir.Float32, ir.Complex64:
		out.FloatData = make([]float32, len(r)/4)
		for i := range out.FloatData {
			out.FloatData[i] = math.Float32frombits(le.Uint32(r[4*i:]))
		}
	case ir.Float64, ir.Complex128:
		out.DoubleData = make([]float64, len(r)/8)
		for i := range out.DoubleData {
			out.DoubleData[i] = math.Float64frombits(le.Uint64(r[8*i:]))
		}
	case ir.Int64:
		out.Int64Data = make([]int64, len(r)/8)
		for i := range out.Int64Data {
			out.Int64Data[i] = int64(le.Uint64(r[8*i:]))
		}
	case ir.Uint32:
		out.Uint64Data = make([]uint64, len(r)/4)
		for i := range out.Uint64Data {
			out.Uint64Data[i] = uint64(le.Uint32(r[4*i:]))
		}
	case ir.Uint64:
		out.Uint64Data = make([]uint64, len(r)/8)
		for i := range out.Uint64Data {
			out.Uint64Data[i] = le.Uint64(r[8*i:])
		}
	case ir.Uint4, ir.Int4, ir.Float4E2M1:
		out.Int32Data = make([]int32, len(r))
		for i := range r {
			out.Int32Data[i] = int32(r[i])
		}
	case ir.Int8:
		out.Int32Data = make([]int32, len(r))
		for i := range r {
			out.Int32Data[i] = int32(int8(r[i]))
		}
	case ir.Int16:
		out.Int32Data = make([]int32, len(r)/2)
		for i := range out.Int32Data {
			out.Int32Data[i] = int32(int16(le.Uint16(r[2*i:])))
		}
	case ir.Int32:
		out.Int32Data = make([]int32, len(r)/4)
		for i := range out.Int32Data {
			out.Int32Data[i] = int32(le.Uint32(r[4*i:]))
		}
	default: // one-byte and two-byte unsigned carriers
		w := t.DType.Bits() / 8
		out.Int32Data = make([]int32, len(r)/w)
		for i := range out.Int32Data {
			if w == 1 {
				out.Int32Data[i] = int32(r[i])
			} else {
				out.Int32Data[i] = int32(le.Uint16(r[2*i:]))
			}
		}
	}
}

func externalPairs(x *ir.ExternalData) []*pb.StringStringEntryProto {
	kv := []*pb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(x.Location)}}
	if x.Offset != 0 {
		kv = append(kv, &pb.StringStringEntryProto{Key: proto.String("offset"), Value: proto.String(strconv.FormatInt(x.Offset, 10))})
	}
	if x.Length >= 0 {
		kv = append(kv, &pb.StringStringEntryProto{Key: proto.String("length"), Value: proto.String(strconv.FormatInt(x.Length, 10))})
	}
	if x.Checksum != "" {
		kv = append(kv, &pb.StringStringEntryProto{Key: proto.String("checksum"), Value: proto.String(x.Checksum)})
	}
	return append(kv, pbPairs(x.Extra)...)
}

func pbPairs(ps []ir.StringPair) []*pb.StringStringEntryProto {
	if len(ps) == 0 {
		return nil
	}
	out := make([]*pb.StringStringEntryProto, len(ps))
	for i, p := range ps {
		out[i] = &pb.StringStringEntryProto{Key: proto.String(p.Key), Value: proto.String(p.Value)}
	}
	return out
}

func setStr(dst **string, s string) {
	if s != "" {
		*dst = proto.String(s)
	}
}

func setUnknown(m proto.Message, u []byte) {
	if len(u) > 0 {
		m.ProtoReflect().SetUnknown(append([]byte(nil), u...))
	}
}
