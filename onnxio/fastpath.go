package onnxio

import (
	"slices"

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
	if !anyLiftable(b) {
		return b, nil, true // nothing to alias: no copy at all
	}
	graphs := 0
	out, ok = rewrite(b, make([]byte, 0, len(b)), modelGraphField, func(g []byte) ([]byte, bool) {
		graphs++
		if graphs > 1 {
			return nil, false // merged graph messages: leave to proto
		}
		ordinal := 0
		return rewrite(g, make([]byte, 0, len(g)), graphInitializerField, func(t []byte) ([]byte, bool) {
			nt, data, ok := stripTensor(t)
			if data != nil {
				lifted = append(lifted, aliased{ordinal, data})
			}
			ordinal++
			return nt, ok
		})
	})
	if !ok {
		return nil, nil, false
	}
	return out, lifted, true
}

// anyLiftable reports whether some top-level initializer of the encoded
// model has a raw_data of at least minAlias bytes, without allocating (a
// malformed message reports true and is left to the full path).
func anyLiftable(b []byte) bool {
	found := false
	each := func(msg []byte, num protowire.Number, f func([]byte) bool) bool {
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
	ok := each(b, modelGraphField, func(g []byte) bool {
		return each(g, graphInitializerField, func(t []byte) bool {
			return each(t, tensorRawDataField, func(raw []byte) bool {
				found = found || len(raw) >= minAlias
				return true
			})
		})
	})
	return found || !ok
}

// field is one field of an encoded message.
type field struct {
	num protowire.Number
	typ protowire.Type
	raw []byte // tag and value
	val []byte // the value without its tag
}

// nextField splits the first field off msg; ok is false when msg does not
// start with a well-formed field.
func nextField(msg []byte) (f field, ok bool) {
	num, typ, n := protowire.ConsumeTag(msg)
	if n < 0 {
		return f, false
	}
	m := protowire.ConsumeFieldValue(num, typ, msg[n:])
	if m < 0 {
		return f, false
	}
	return field{num, typ, msg[:n+m], msg[n : n+m]}, true
}

// bytesField reports whether f is the length-delimited field num, and its
// contents.
func (f field) bytesField(num protowire.Number) ([]byte, bool) {
	if f.num != num || f.typ != protowire.BytesType {
		return nil, false
	}
	b, _ := protowire.ConsumeBytes(f.val)
	return b, true
}

// rewrite appends msg to out with the contents of every length-delimited
// field num replaced by edit(contents). ok is false when msg is malformed or
// edit fails.
func rewrite(msg, out []byte, num protowire.Number, edit func([]byte) ([]byte, bool)) ([]byte, bool) {
	for rest := msg; len(rest) > 0; {
		f, ok := nextField(rest)
		if !ok {
			return nil, false
		}
		rest = rest[len(f.raw):]
		b, match := f.bytesField(num)
		if !match {
			out = append(out, f.raw...)
			continue
		}
		nb, ok := edit(b)
		if !ok {
			return nil, false
		}
		out = protowire.AppendTag(out, num, protowire.BytesType)
		out = protowire.AppendBytes(out, nb)
	}
	return out, true
}

// stripTensor returns an encoded TensorProto without its raw_data, and the
// raw_data, when it holds at least minAlias bytes; else t itself and nil.
// ok is false when t is malformed or repeats raw_data.
func stripTensor(t []byte) (out, data []byte, ok bool) {
	found, start, end := 0, 0, 0
	for rest := t; len(rest) > 0; {
		f, ok := nextField(rest)
		if !ok {
			return nil, nil, false
		}
		if b, match := f.bytesField(tensorRawDataField); match {
			found++
			data = b
			start = len(t) - len(rest)
			end = start + len(f.raw)
		}
		rest = rest[len(f.raw):]
	}
	if found != 1 || len(data) < minAlias {
		return t, nil, found <= 1
	}
	return slices.Concat(t[:start], t[end:]), data, true
}
