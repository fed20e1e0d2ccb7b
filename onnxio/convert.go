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

// ---- protobuf → ir ----

type decoder struct {
	errs ir.ErrorList
	// external collects tensors whose data lives in side files, loaded after
	// conversion.
	external []*ir.Tensor
	// interned holds one copy of each op type and domain: a model has a
	// few dozen distinct ones over up to hundreds of thousands of nodes.
	interned map[string]string
	// wire, when set, supplies the top-level graph's nodes and
	// initializers (see wire.go); wireFailed reports that it could not.
	wire       *wireModel
	wireFailed bool
}

// internBytes is intern for the bytes of a string field: a known string
// costs no allocation.
func (d *decoder) internBytes(b []byte) string {
	if c, ok := d.interned[string(b)]; ok {
		return c
	}
	return d.intern(string(b))
}

// intern returns the decoder's copy of s (bounded: past maxInterned
// distinct strings, s itself).
func (d *decoder) intern(s string) string {
	if s == "" {
		return ""
	}
	if c, ok := d.interned[s]; ok {
		return c
	}
	if d.interned == nil {
		d.interned = map[string]string{}
	}
	if len(d.interned) < maxInterned {
		d.interned[s] = s
	}
	return s
}

// maxInterned bounds the intern table (ONNX defines fewer than 200
// operators; custom domains add a few).
const maxInterned = 4096

// valueExtra collects what a ValueInfoProto carries besides name and type,
// nil when nothing.
func valueExtra(vi *pb.ValueInfoProto) *ir.ValueExtra {
	x := &ir.ValueExtra{DocString: vi.GetDocString(), Metadata: pairs(vi.GetMetadataProps()), Unknown: unknown(vi)}
	if x.IsZero() {
		return nil
	}
	return x
}

func (d *decoder) model(m *pb.ModelProto) *ir.Model {
	out := &ir.Model{
		IRVersion:       m.GetIrVersion(),
		ProducerName:    m.GetProducerName(),
		ProducerVersion: m.GetProducerVersion(),
		Domain:          m.GetDomain(),
		ModelVersion:    m.GetModelVersion(),
		DocString:       m.GetDocString(),
		Metadata:        pairs(m.GetMetadataProps()),
		Unknown:         unknown(m),
	}
	for _, o := range m.GetOpsetImport() {
		out.Opsets = append(out.Opsets, ir.OpsetID{Domain: o.GetDomain(), Version: o.GetVersion(), Unknown: unknown(o)})
	}
	for _, t := range m.GetTrainingInfo() {
		out.TrainingInfo = append(out.TrainingInfo, encode(t))
	}
	for _, f := range m.GetFunctions() {
		out.Functions = append(out.Functions, encode(f))
	}
	for _, c := range m.GetConfiguration() {
		out.Configuration = append(out.Configuration, encode(c))
	}
	if m.Graph == nil {
		d.errs.Add(fmt.Errorf("the model has no graph"))
		return out
	}
	b := d.graph(m.Graph, nil)
	g, err := b.Finish()
	d.errs.Add(err)
	out.Graph = g
	return out
}

func (d *decoder) graph(gp *pb.GraphProto, parent *ir.Builder) *ir.Builder {
	b := ir.NewBuilder(gp.GetName(), parent)
	wire := parent == nil && d.wire != nil
	if wire {
		b.Grow(d.wire.nodes, d.wire.values)
	}
	g := b.Graph()
	g.DocString = gp.GetDocString()
	g.Metadata = pairs(gp.GetMetadataProps())
	g.Unknown = unknown(gp)
	for _, s := range gp.GetSparseInitializer() {
		g.SparseInitializers = append(g.SparseInitializers, encode(s))
	}
	for _, q := range gp.GetQuantizationAnnotation() {
		g.QuantAnnotations = append(g.QuantAnnotations, encode(q))
	}
	if wire {
		d.wireInitializers(b)
	}
	for _, t := range gp.GetInitializer() {
		b.Initializer(d.tensor(t, "initializer"))
	}
	for _, vi := range gp.GetInput() {
		b.Input(vi.GetName(), d.typeInfo(vi.Type), valueExtra(vi))
	}
	if wire {
		d.wireNodes(b)
	}
	nodes := gp.GetNode()
	for i, np := range nodes {
		// The decoded NodeProto is garbage once converted: dropping it
		// now keeps a many-node model's peak near one copy of its graph.
		nodes[i] = nil
		n := &ir.Node{
			Name:   np.GetName(),
			OpType: d.intern(np.GetOpType()),
			Domain: d.intern(np.GetDomain()),
		}
		x := &ir.NodeExtra{
			Overload:  np.GetOverload(),
			DocString: np.GetDocString(),
			Metadata:  pairs(np.GetMetadataProps()),
			Unknown:   unknown(np),
		}
		for _, dc := range np.GetDeviceConfigurations() {
			x.DeviceConfigs = append(x.DeviceConfigs, encode(dc))
		}
		if !x.IsZero() {
			n.Extra = x
		}
		if attrs := np.GetAttribute(); len(attrs) > 0 {
			n.Attrs = make([]*ir.Attribute, len(attrs))
			for i, ap := range attrs {
				n.Attrs[i] = d.attribute(ap, b, n)
			}
		}
		b.Node(n, np.GetInput(), np.GetOutput())
	}
	for _, vi := range gp.GetOutput() {
		b.Output(vi.GetName(), d.typeInfo(vi.Type), valueExtra(vi))
	}
	for _, vi := range gp.GetValueInfo() {
		b.ValueInfo(vi.GetName(), d.typeInfo(vi.Type), valueExtra(vi))
	}
	return b
}

func (d *decoder) attribute(ap *pb.AttributeProto, b *ir.Builder, n *ir.Node) *ir.Attribute {
	a := &ir.Attribute{
		Name:        ap.GetName(),
		Type:        ir.AttrType(ap.GetType()),
		RefAttrName: ap.GetRefAttrName(),
		DocString:   ap.GetDocString(),
		Unknown:     unknown(ap),
	}
	// Formatted only when needed: a model has an attribute on most nodes.
	where := func() string { return fmt.Sprintf("attribute %q of node %s", a.Name, nodeLabel(n)) }
	switch a.Type {
	case ir.AttrFloat:
		a.F = ap.GetF()
	case ir.AttrInt:
		a.I = ap.GetI()
	case ir.AttrString:
		a.S = ap.GetS()
	case ir.AttrTensor:
		if ap.T == nil {
			d.errs.Add(fmt.Errorf("%s: type tensor but no tensor", where()))
		} else {
			a.T = d.tensor(ap.T, where())
		}
	case ir.AttrGraph:
		if ap.G == nil {
			d.errs.Add(fmt.Errorf("%s: type graph but no graph", where()))
		} else {
			a.G = d.graph(ap.G, b).Graph()
			a.G.Owner = n
		}
	case ir.AttrFloats:
		a.Floats = ap.GetFloats()
	case ir.AttrInts:
		a.Ints = ap.GetInts()
	case ir.AttrStrings:
		a.Strings = ap.GetStrings()
	case ir.AttrTensors:
		for _, t := range ap.GetTensors() {
			a.Tensors = append(a.Tensors, d.tensor(t, where()))
		}
	case ir.AttrGraphs:
		for _, gp := range ap.GetGraphs() {
			sg := d.graph(gp, b).Graph()
			sg.Owner = n
			a.Graphs = append(a.Graphs, sg)
		}
	case ir.AttrUndefined:
		// IR version 1 files did not set the type: infer it from the field
		// in use, as ONNX's checker does.
		switch {
		case len(ap.GetInts()) > 0:
			a.Type, a.Ints = ir.AttrInts, ap.GetInts()
		case len(ap.GetFloats()) > 0:
			a.Type, a.Floats = ir.AttrFloats, ap.GetFloats()
		case ap.I != nil:
			a.Type, a.I = ir.AttrInt, ap.GetI()
		case ap.F != nil:
			a.Type, a.F = ir.AttrFloat, ap.GetF()
		case ap.S != nil:
			a.Type, a.S = ir.AttrString, ap.GetS()
		case ap.T != nil:
			a.Type, a.T = ir.AttrTensor, d.tensor(ap.T, where())
		default:
			a.Opaque = encode(ap)
		}
		if a.Opaque == nil {
			// Keep the file's form: no type field.
			a.Opaque = encode(ap)
		}
	default:
		a.Opaque = encode(ap)
	}
	return a
}

func nodeLabel(n *ir.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return n.OpType
}

func (d *decoder) typeInfo(tp *pb.TypeProto) *ir.TypeInfo {
	if tp == nil {
		return nil
	}
	tt := tp.GetTensorType()
	if tt == nil {
		return &ir.TypeInfo{Opaque: encode(tp), Denotation: tp.GetDenotation()}
	}
	t := &ir.TypeInfo{Elem: ir.DType(tt.GetElemType()), Denotation: tp.GetDenotation(), Unknown: unknown(tt)}
	if len(unknown(tp)) > 0 {
		t.Opaque = encode(tp)
	}
	if tt.Shape != nil {
		t.Shape = make(ir.Shape, len(tt.Shape.Dim))
		for i, dp := range tt.Shape.Dim {
			dim := ir.Dim{Value: -1, Denotation: dp.GetDenotation()}
			switch v := dp.Value.(type) {
			case *pb.TensorShapeProto_Dimension_DimValue:
				dim.Value = v.DimValue
			case *pb.TensorShapeProto_Dimension_DimParam:
				dim.Param = v.DimParam
			}
			t.Shape[i] = dim
		}
	}
	return t
}

// tensor converts a TensorProto. Contents in typed fields are re-encoded as
// raw little-endian bytes; raw_data is used as is (it may alias the file).
func (d *decoder) tensor(tp *pb.TensorProto, where string) *ir.Tensor {
	t := &ir.Tensor{
		Name:      tp.GetName(),
		DType:     ir.DType(tp.GetDataType()),
		Dims:      tp.GetDims(),
		DocString: tp.GetDocString(),
		Metadata:  pairs(tp.GetMetadataProps()),
		Unknown:   unknown(tp),
	}
	if s := tp.GetSegment(); s != nil {
		t.Segment = &[2]int64{s.GetBegin(), s.GetEnd()}
	}
	label := fmt.Sprintf("tensor %q", t.Name)
	if t.Name == "" {
		label = "tensor in " + where
	}
	n, err := ir.NumElements(t.Dims)
	if err != nil {
		d.errs.Add(fmt.Errorf("%s: %w", label, err))
		return t
	}
	if !t.DType.Known() {
		d.errs.Add(fmt.Errorf("%s: unknown data type %d", label, tp.GetDataType()))
		return t
	}
	if typed := typedField(tp); typed != "" {
		switch {
		case tp.RawData != nil:
			// onnx.checker refuses this too: which of the two holds the
			// values is ambiguous, and readers disagree.
			d.errs.Add(fmt.Errorf("%s: holds both raw_data and %s; a tensor's values must be in exactly one field", label, typed))
			return t
		case tp.GetDataLocation() == pb.TensorProto_EXTERNAL:
			d.errs.Add(fmt.Errorf("%s: keeps its values in external data and also holds %s; a tensor's values must be in exactly one place", label, typed))
			return t
		}
	}
	if tp.GetDataLocation() == pb.TensorProto_EXTERNAL {
		ext, err := parseExternal(tp.GetExternalData())
		if err != nil {
			d.errs.Add(fmt.Errorf("%s: %w", label, err))
			return t
		}
		t.External = ext
		d.external = append(d.external, t)
		return t
	}
	if tp.RawData != nil {
		t.Raw = tp.RawData
		return t
	}
	if t.DType == ir.String {
		t.Strings = tp.GetStringData()
		t.TypedField = true
		return t
	}
	raw, err := typedToRaw(tp, t.DType, n)
	if err != nil {
		d.errs.Add(fmt.Errorf("%s: %w", label, err))
		return t
	}
	// No raw_data: the file used a typed field (or held no data at all),
	// and a writer should do the same.
	t.Raw, t.TypedField = raw, true
	return t
}

// typedField names the first non-empty typed data field of tp, or "".
func typedField(tp *pb.TensorProto) string {
	switch {
	case len(tp.FloatData) > 0:
		return "float_data"
	case len(tp.Int32Data) > 0:
		return "int32_data"
	case len(tp.StringData) > 0:
		return "string_data"
	case len(tp.Int64Data) > 0:
		return "int64_data"
	case len(tp.DoubleData) > 0:
		return "double_data"
	case len(tp.Uint64Data) > 0:
		return "uint64_data"
	}
	return ""
}

// typedToRaw converts the typed data field of the tensor's type to raw
// bytes. It checks the element count against n before allocating.
func typedToRaw(tp *pb.TensorProto, dt ir.DType, n int64) ([]byte, error) {
	le := binary.LittleEndian
	count := func(have int, per int64) error {
		if int64(have) != n*per && !(n == 0 && have == 0) {
			return fmt.Errorf("shape %s of %s declares %d elements but the data holds %d values", ir.ShapeString(tp.GetDims()), dt, n, have)
		}
		return nil
	}
	switch dt {
	case ir.Float32, ir.Complex64:
		per := int64(1)
		if dt == ir.Complex64 {
			per = 2
		}
		f := tp.GetFloatData()
		if err := count(len(f), per); err != nil {
			return nil, err
		}
		raw := make([]byte, 4*len(f))
		for i, v := range f {
			le.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		return raw, nil
	case ir.Float64, ir.Complex128:
		per := int64(1)
		if dt == ir.Complex128 {
			per = 2
		}
		f := tp.GetDoubleData()
		if err := count(len(f), per); err != nil {
			return nil, err
		}
		raw := make([]byte, 8*len(f))
		for i, v := range f {
			le.PutUint64(raw[8*i:], math.Float64bits(v))
		}
		return raw, nil
	case ir.Int64:
		v := tp.GetInt64Data()
		if err := count(len(v), 1); err != nil {
			return nil, err
		}
		raw := make([]byte, 8*len(v))
		for i, x := range v {
			le.PutUint64(raw[8*i:], uint64(x))
		}
		return raw, nil
	case ir.Uint32, ir.Uint64:
		v := tp.GetUint64Data()
		if err := count(len(v), 1); err != nil {
			return nil, err
		}
		w := dt.Bits() / 8
		raw := make([]byte, w*len(v))
		for i, x := range v {
			if w == 4 {
				le.PutUint32(raw[4*i:], uint32(x))
			} else {
				le.PutUint64(raw[8*i:], x)
			}
		}
		return raw, nil
	case ir.Uint4, ir.Int4, ir.Float4E2M1:
		v := tp.GetInt32Data()
		if err := count(len(v), 1); err != nil && int64(len(v)) != (n+1)/2 {
			return nil, err
		}
		raw := make([]byte, len(v))
		for i, x := range v {
			raw[i] = byte(x)
		}
		if int64(len(raw)) != (n+1)/2 {
			// One element per int32: pack two to a byte.
			packed := make([]byte, (n+1)/2)
			for i, x := range v {
				packed[i/2] |= byte(x&0xF) << (4 * uint(i%2))
			}
			raw = packed
		}
		return raw, nil
	default: // int32-carried types: int32, int16/8, uint16/8, bool, float16, bfloat16, float8
		v := tp.GetInt32Data()
		if err := count(len(v), 1); err != nil {
			return nil, err
		}
		w := dt.Bits() / 8
		raw := make([]byte, w*len(v))
		for i, x := range v {
			switch w {
			case 1:
				raw[i] = byte(x)
			case 2:
				le.PutUint16(raw[2*i:], uint16(x))
			case 4:
				le.PutUint32(raw[4*i:], uint32(x))
			}
		}
		return raw, nil
	}
}

func pairs(ps []*pb.StringStringEntryProto) []ir.StringPair {
	if len(ps) == 0 {
		return nil
	}
	out := make([]ir.StringPair, len(ps))
	for i, p := range ps {
		out[i] = ir.StringPair{Key: p.GetKey(), Value: p.GetValue()}
	}
	return out
}

func unknown(m proto.Message) []byte {
	u := m.ProtoReflect().GetUnknown()
	if len(u) == 0 {
		return nil
	}
	return append([]byte(nil), u...)
}

func encode(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err) // a message we just decoded always re-encodes
	}
	return b
}

func parseExternal(kv []*pb.StringStringEntryProto) (*ir.ExternalData, error) {
	e := &ir.ExternalData{Length: -1}
	for _, p := range kv {
		switch p.GetKey() {
		case "location":
			e.Location = p.GetValue()
		case "offset":
			v, err := strconv.ParseInt(p.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("external data offset %q is not a non-negative integer", p.GetValue())
			}
			e.Offset = v
		case "length":
			v, err := strconv.ParseInt(p.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("external data length %q is not a non-negative integer", p.GetValue())
			}
			e.Length = v
		case "checksum":
			e.Checksum = p.GetValue()
		default:
			e.Extra = append(e.Extra, ir.StringPair{Key: p.GetKey(), Value: p.GetValue()})
		}
	}
	if e.Location == "" {
		return nil, fmt.Errorf("external data has no location")
	}
	return e, nil
}
