package onnxio

import (
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

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
	// ConsumeTag takes field numbers above the largest valid one, which
	// protobuf refuses (found by FuzzWire): leave those to protobuf.
	if n < 0 || num > protowire.MaxValidNumber {
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
