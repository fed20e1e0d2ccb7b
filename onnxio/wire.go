package onnxio

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/nnkit/nnkit/ir"
	pb "github.com/nnkit/nnkit/onnxio/internal/onnxpb"
)

// The wire decoder reads the top-level graph's nodes and initializers
// straight from the encoded bytes, one at a time, instead of letting
// protobuf build the whole message tree first (issue 9: a 200k-node chain
// held its entire NodeProto tree, ≈ 4× the file, before the IR was built).
// Everything else — model and graph headers, inputs, outputs, attributes,
// subgraphs — still goes through the generated protobuf code, so the
// decoded meaning is protobuf's: singular fields take their last value,
// fields of an unexpected wire type and unknown fields are kept as unknown
// bytes in order. Files it does not handle (a graph field repeated, so
// that protobuf would merge the messages; a tensor with two raw_data
// fields; anything malformed) make it give up, and Decode falls back to
// decoding the whole message with protobuf, which also words the error.

// Field numbers the wire decoder needs.
const (
	modelGraphField       = 7  // ModelProto.graph
	graphNodeField        = 1  // GraphProto.node
	graphInitializerField = 5  // GraphProto.initializer
	graphInputField       = 11 // GraphProto.input
	tensorRawDataField    = 9  // TensorProto.raw_data

	nodeInputField        = 1
	nodeOutputField       = 2
	nodeNameField         = 3
	nodeOpTypeField       = 4
	nodeAttrField         = 5
	nodeDocField          = 6
	nodeDomainField       = 7
	nodeOverloadField     = 8
	nodeMetadataField     = 9
	nodeDeviceConfigField = 10
)

// minAlias is the smallest raw_data the wire decoder leaves in the file's
// buffer rather than copying. Smaller contents are cheaper to copy than to
// track.
const minAlias = 256

// wireModel is an encoded model split for the wire decoder.
type wireModel struct {
	model []byte // the ModelProto's fields except the graph (a copy)
	graph []byte // the GraphProto's fields except nodes and initializers (a copy)
	full  []byte // the whole encoded GraphProto (aliasing the input), nil if none
	// file, for a model read by ReadFile, supplies the graph's nodes and
	// initializers from the file instead of full (stream.go).
	file *fileGraph
	// Counts of the graph's nodes and of its values (initializers and
	// inputs besides the nodes), to size the graph once.
	nodes, values int
}

// splitModel splits an encoded ModelProto; ok is false when the wire
// decoder cannot handle it.
func splitModel(b []byte) (w wireModel, ok bool) {
	for rest := b; len(rest) > 0; {
		f, ok := nextField(rest)
		if !ok {
			return w, false
		}
		rest = rest[len(f.raw):]
		if g, match := f.bytesField(modelGraphField); match {
			if w.full != nil {
				return w, false // merged graph messages: leave to protobuf
			}
			w.full = g
			if g == nil {
				w.full = []byte{}
			}
			continue
		}
		w.model = append(w.model, f.raw...)
	}
	if w.full == nil {
		return w, true
	}
	for rest := w.full; len(rest) > 0; {
		f, ok := nextField(rest)
		if !ok {
			return w, false
		}
		rest = rest[len(f.raw):]
		if _, match := f.bytesField(graphNodeField); match {
			w.nodes++
			continue
		}
		if _, match := f.bytesField(graphInitializerField); match {
			w.values++
			continue
		}
		if _, match := f.bytesField(graphInputField); match {
			w.values++
		}
		w.graph = append(w.graph, f.raw...)
	}
	return w, true
}

// hasGraph reports whether the model has a graph field.
func (w *wireModel) hasGraph() bool { return w.full != nil || w.file != nil }

// each calls f with the contents of every field num of the graph, as
// eachField does.
func (w *wireModel) each(num protowire.Number, f func([]byte) bool) bool {
	if w.file != nil {
		return w.file.each(num, f)
	}
	return eachField(w.full, num, f)
}

// eachField calls f with the contents of every length-delimited field num
// of msg (already checked well formed by splitModel), stopping when f
// returns false.
func eachField(msg []byte, num protowire.Number, f func([]byte) bool) bool {
	for rest := msg; len(rest) > 0; {
		fl, ok := nextField(rest)
		if !ok {
			return false
		}
		rest = rest[len(fl.raw):]
		if v, match := fl.bytesField(num); match && !f(v) {
			return false
		}
	}
	return true
}

// errNotWire reports that the wire decoder gave up on a file; the caller
// then decodes it with protobuf.
var errNotWire = errors.New("onnxio: left to the protobuf decoder")

// decodeWire decodes a split model, or returns errNotWire.
func decodeWire(w wireModel, name, baseDir string) (*ir.Model, error) {
	d, m, err := convertWire(w)
	if err != nil {
		return nil, err
	}
	return d.finish(m, name, baseDir)
}

// convertWire converts a split model to the IR (not yet validated), or
// returns errNotWire. The decoder it returns no longer refers to the file.
func convertWire(w wireModel) (*decoder, *ir.Model, error) {
	mp := &pb.ModelProto{}
	if proto.Unmarshal(w.model, mp) != nil {
		return nil, nil, errNotWire
	}
	d := &decoder{}
	if w.hasGraph() {
		gp := &pb.GraphProto{}
		if proto.Unmarshal(w.graph, gp) != nil {
			return nil, nil, errNotWire
		}
		mp.Graph = gp
		d.wire = &w
	}
	m := d.model(mp)
	d.wire = nil
	if d.wireFailed {
		return nil, nil, errNotWire
	}
	return d, m, nil
}

// wireInitializers converts the top-level graph's initializers.
func (d *decoder) wireInitializers(b *ir.Builder) {
	ok := d.wire.each(graphInitializerField, func(t []byte) bool {
		nt, data, ok := stripTensor(t)
		if !ok {
			return false
		}
		tp := &pb.TensorProto{}
		if proto.Unmarshal(nt, tp) != nil {
			return false
		}
		if data != nil {
			tp.RawData = data
		}
		b.Initializer(d.tensor(tp, "initializer"))
		return true
	})
	d.wireFailed = d.wireFailed || !ok
}

// wireNodes converts the top-level graph's nodes.
func (d *decoder) wireNodes(b *ir.Builder) {
	ok := d.wire.each(graphNodeField, func(nb []byte) bool {
		return d.wireNode(nb, b)
	})
	d.wireFailed = d.wireFailed || !ok
}

// prefixOf returns name as a string, sharing the memory of an output name
// it begins (exporters name outputs after their node: PyTorch's
// "/layer1/Relu" computes "/layer1/Relu_output_0").
func prefixOf(outputs []string, name []byte) string {
	for _, o := range outputs {
		if len(o) >= len(name) && o[:len(name)] == string(name) {
			return o[:len(name)]
		}
	}
	return string(name)
}

// wireNode converts one encoded NodeProto.
func (d *decoder) wireNode(nb []byte, b *ir.Builder) bool {
	// First pass: how many inputs, outputs and attributes, so that each
	// list is allocated once at its size.
	var ni, no, na int
	for rest := nb; len(rest) > 0; {
		f, ok := nextField(rest)
		if !ok {
			return false
		}
		rest = rest[len(f.raw):]
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case nodeInputField:
			ni++
		case nodeOutputField:
			no++
		case nodeAttrField:
			na++
		}
	}
	n := &ir.Node{}
	var x ir.NodeExtra
	inputs := make([]string, 0, ni)
	outputs := make([]string, 0, no)
	var attrs [][]byte
	if na > 0 {
		attrs = make([][]byte, 0, na)
	}
	for rest := nb; len(rest) > 0; {
		f, _ := nextField(rest) // well formed: checked above
		rest = rest[len(f.raw):]
		if f.typ != protowire.BytesType || f.num < nodeInputField || f.num > nodeDeviceConfigField {
			x.Unknown = protowire.AppendTag(x.Unknown, f.num, f.typ)
			x.Unknown = append(x.Unknown, f.val...)
			continue
		}
		v, _ := protowire.ConsumeBytes(f.val)
		switch f.num {
		case nodeInputField:
			// Usually the output of an earlier node: share its name.
			inputs = append(inputs, b.Name(v))
		case nodeOutputField:
			outputs = append(outputs, string(v))
		case nodeNameField:
			n.Name = prefixOf(outputs, v)
		case nodeOpTypeField:
			n.OpType = d.internBytes(v)
		case nodeDomainField:
			n.Domain = d.internBytes(v)
		case nodeOverloadField:
			x.Overload = string(v)
		case nodeDocField:
			x.DocString = string(v)
		case nodeAttrField:
			attrs = append(attrs, v)
		case nodeMetadataField:
			e := &pb.StringStringEntryProto{}
			if proto.Unmarshal(v, e) != nil {
				return false
			}
			x.Metadata = append(x.Metadata, ir.StringPair{Key: e.GetKey(), Value: e.GetValue()})
		case nodeDeviceConfigField:
			dc := &pb.NodeDeviceConfigurationProto{}
			if proto.Unmarshal(v, dc) != nil {
				return false
			}
			x.DeviceConfigs = append(x.DeviceConfigs, encode(dc))
		}
	}
	if !x.IsZero() {
		extra := x
		n.Extra = &extra
	}
	if len(attrs) > 0 {
		n.Attrs = make([]*ir.Attribute, len(attrs))
		for i, ab := range attrs {
			ap := &pb.AttributeProto{}
			if proto.Unmarshal(ab, ap) != nil {
				return false
			}
			n.Attrs[i] = d.attribute(ap, b, n)
		}
	}
	b.Node(n, inputs, outputs)
	return true
}
