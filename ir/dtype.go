package ir

import "fmt"

// DType is a tensor element type. Its values are ONNX's TensorProto.DataType
// numbers, so a DType converts to and from the file format unchanged.
type DType int32

// Element types (ONNX numbering).
const (
	Undefined   DType = 0
	Float32     DType = 1
	Uint8       DType = 2
	Int8        DType = 3
	Uint16      DType = 4
	Int16       DType = 5
	Int32       DType = 6
	Int64       DType = 7
	String      DType = 8
	Bool        DType = 9
	Float16     DType = 10
	Float64     DType = 11
	Uint32      DType = 12
	Uint64      DType = 13
	Complex64   DType = 14
	Complex128  DType = 15
	BFloat16    DType = 16
	Float8E4M3  DType = 17
	Float8E4M3U DType = 18
	Float8E5M2  DType = 19
	Float8E5M2U DType = 20
	Uint4       DType = 21
	Int4        DType = 22
	Float4E2M1  DType = 23
	Float8E8M0  DType = 24
)

var dtypeNames = map[DType]string{
	Undefined: "undefined", Float32: "float32", Uint8: "uint8", Int8: "int8",
	Uint16: "uint16", Int16: "int16", Int32: "int32", Int64: "int64",
	String: "string", Bool: "bool", Float16: "float16", Float64: "float64",
	Uint32: "uint32", Uint64: "uint64", Complex64: "complex64",
	Complex128: "complex128", BFloat16: "bfloat16", Float8E4M3: "float8e4m3fn",
	Float8E4M3U: "float8e4m3fnuz", Float8E5M2: "float8e5m2",
	Float8E5M2U: "float8e5m2fnuz", Uint4: "uint4", Int4: "int4",
	Float4E2M1: "float4e2m1", Float8E8M0: "float8e8m0",
}

func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Known reports whether d is an element type of the ONNX specification.
func (d DType) Known() bool { _, ok := dtypeNames[d]; return ok && d != Undefined }

// Bits is the storage width of one element in raw_data, or 0 for String and
// Undefined. 4-bit types are packed two to a byte.
func (d DType) Bits() int {
	switch d {
	case Float32, Int32, Uint32:
		return 32
	case Float64, Int64, Uint64, Complex64:
		return 64
	case Complex128:
		return 128
	case Uint8, Int8, Bool, Float8E4M3, Float8E4M3U, Float8E5M2, Float8E5M2U, Float8E8M0:
		return 8
	case Uint16, Int16, Float16, BFloat16:
		return 16
	case Uint4, Int4, Float4E2M1:
		return 4
	}
	return 0
}

// IsFloat reports whether d is a real floating-point type.
func (d DType) IsFloat() bool {
	switch d {
	case Float32, Float64, Float16, BFloat16, Float8E4M3, Float8E4M3U, Float8E5M2, Float8E5M2U, Float4E2M1, Float8E8M0:
		return true
	}
	return false
}

// IsInteger reports whether d is a signed or unsigned integer type (Bool is not).
func (d DType) IsInteger() bool {
	switch d {
	case Uint8, Int8, Uint16, Int16, Int32, Int64, Uint32, Uint64, Uint4, Int4:
		return true
	}
	return false
}

// RawSize is the number of raw_data bytes that n elements of d occupy, and
// false when n is negative or the size overflows.
func (d DType) RawSize(n int64) (int64, bool) {
	b := int64(d.Bits())
	if n < 0 || b == 0 {
		return 0, false
	}
	if n > (1<<62)/b {
		return 0, false
	}
	return (n*b + 7) / 8, true
}
