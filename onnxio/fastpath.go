package onnxio

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers the fast path needs.
const (
	modelGraphField       = 7 // ModelProto.graph
	graphInitializerField = 5 // GraphProto.initializer
	tensorRawDataField    = 9 // TensorProto.raw_data
)

// minAlias is the smallest raw_data the fast path lifts out of the buffer.
// Smaller contents are cheaper to copy than to track.
const minAlias = 256

// aliased is the raw_data of the ordinal-th initializer of the top-level
// graph, as a slice of the original buffer.
type aliased struct {
	ordinal int
	data    []byte
}

// stripRawData returns a copy of an encoded ModelProto with the large
// raw_data fields of top-level initializers removed, and those fields as
// slices of b. protobuf-go copies every bytes field it decodes; decoding the
// stripped copy and pointing the tensors back into b keeps a model's peak
// memory near its file size instead of twice that. ok is false when the
// input is not shaped as expected (malformed, or fields repeated in ways the
// fast path does not handle); callers then decode b the ordinary way, which
// reports any error.
func stripRawData(b []byte) (out []byte, lifted []aliased, ok bool) {
	graphs := 0
	out = make([]byte, 0, 1<<16)
	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return nil, nil, false
		}
		m := protowire.ConsumeFieldValue(num, typ, rest[n:])
		if m < 0 {
			return nil, nil, false
		}
		field := rest[:n+m]
		rest = rest[n+m:]
		if num != modelGraphField || typ != protowire.BytesType {
			out = append(out, field...)
			continue
		}
		graphs++
		if graphs > 1 {
			return nil, nil, false // merged graph messages: leave to proto
		}
		g, _ := protowire.ConsumeBytes(field[n:])
		ng, lif, gok := stripGraph(g)
		if !gok {
			return nil, nil, false
		}
		lifted = lif
		out = protowire.AppendTag(out, num, typ)
		out = protowire.AppendBytes(out, ng)
	}
	return out, lifted, true
}

func stripGraph(g []byte) ([]byte, []aliased, bool) {
	var out []byte
	var lifted []aliased
	ordinal := 0
	for rest := g; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return nil, nil, false
		}
		m := protowire.ConsumeFieldValue(num, typ, rest[n:])
		if m < 0 {
			return nil, nil, false
		}
		field := rest[:n+m]
		rest = rest[n+m:]
		if num != graphInitializerField || typ != protowire.BytesType {
			out = append(out, field...)
			continue
		}
		t, _ := protowire.ConsumeBytes(field[n:])
		nt, data, tok := stripTensor(t)
		if !tok {
			return nil, nil, false
		}
		if data != nil {
			lifted = append(lifted, aliased{ordinal, data})
		}
		ordinal++
		out = protowire.AppendTag(out, num, typ)
		out = protowire.AppendBytes(out, nt)
	}
	return out, lifted, true
}

func stripTensor(t []byte) ([]byte, []byte, bool) {
	var data []byte
	found := 0
	for rest := t; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return nil, nil, false
		}
		m := protowire.ConsumeFieldValue(num, typ, rest[n:])
		if m < 0 {
			return nil, nil, false
		}
		if num == tensorRawDataField && typ == protowire.BytesType {
			found++
			data, _ = protowire.ConsumeBytes(rest[n : n+m])
		}
		rest = rest[n+m:]
	}
	if found != 1 || len(data) < minAlias {
		return t, nil, found <= 1
	}
	out := make([]byte, 0, len(t)-len(data))
	for rest := t; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		m := protowire.ConsumeFieldValue(num, typ, rest[n:])
		if !(num == tensorRawDataField && typ == protowire.BytesType) {
			out = append(out, rest[:n+m]...)
		}
		rest = rest[n+m:]
	}
	return out, data, true
}
