package ir

import (
	"strconv"
	"strings"
)

// TypeInfo is the type of a value: a tensor element type and shape. Non-tensor
// types (sequences, maps, optionals, sparse tensors) are kept encoded in
// Opaque and have Elem Undefined.
type TypeInfo struct {
	Elem DType
	// Shape is nil when the rank is unknown; an empty, non-nil Shape is a
	// scalar.
	Shape      Shape
	Denotation string
	// Opaque is the encoded TypeProto for types the IR does not interpret.
	Opaque []byte
	// Unknown holds unknown fields of TypeProto.Tensor.
	Unknown []byte
}

// Dim is one dimension: a known size (Value ≥ 0), a symbolic one (Param set,
// e.g. "batch"), or unknown (Value < 0 and no Param).
type Dim struct {
	Value      int64
	Param      string
	Denotation string
}

// Known reports whether the size is a number.
func (d Dim) Known() bool { return d.Param == "" && d.Value >= 0 }

func (d Dim) String() string {
	switch {
	case d.Param != "":
		return d.Param
	case d.Value >= 0:
		return strconv.FormatInt(d.Value, 10)
	}
	return "?"
}

// DimOf is a known dimension.
func DimOf(n int64) Dim { return Dim{Value: n} }

// SymDim is a symbolic dimension.
func SymDim(name string) Dim { return Dim{Value: -1, Param: name} }

// UnknownDim is a dimension nothing is known about.
func UnknownDim() Dim { return Dim{Value: -1} }

// Shape is a list of dimensions.
type Shape []Dim

// StaticShape converts known sizes to a Shape (an empty non-nil Shape for a
// scalar).
func StaticShape(dims []int64) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		s[i] = DimOf(d)
	}
	return s
}

// Static returns the sizes if every dimension is known.
func (s Shape) Static() ([]int64, bool) {
	if s == nil {
		return nil, false
	}
	out := make([]int64, len(s))
	for i, d := range s {
		if !d.Known() {
			return nil, false
		}
		out[i] = d.Value
	}
	return out, true
}

// Rank is the number of dimensions, or -1 if unknown (nil Shape).
func (s Shape) Rank() int {
	if s == nil {
		return -1
	}
	return len(s)
}

func (s Shape) String() string {
	if s == nil {
		return "[?]"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Clone copies the shape.
func (s Shape) Clone() Shape {
	if s == nil {
		return nil
	}
	return append(Shape{}, s...)
}

// Equal reports whether two dims are the same size or the same symbol.
func (d Dim) Equal(e Dim) bool {
	if d.Param != "" || e.Param != "" {
		return d.Param == e.Param
	}
	return d.Value >= 0 && d.Value == e.Value
}

// TensorType is a tensor TypeInfo.
func TensorType(elem DType, shape Shape) *TypeInfo { return &TypeInfo{Elem: elem, Shape: shape} }

// Shape returns the value's shape, or nil if unknown.
func (v *Value) Shape() Shape {
	if v == nil || v.Type == nil {
		return nil
	}
	return v.Type.Shape
}

// Elem returns the value's element type, or Undefined if unknown.
func (v *Value) Elem() DType {
	if v == nil || v.Type == nil {
		return Undefined
	}
	return v.Type.Elem
}
