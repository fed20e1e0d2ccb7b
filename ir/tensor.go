package ir

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Tensor is a dense constant tensor: an initializer, a Constant's value or a
// tensor attribute. Fixed-width contents live in Raw as little-endian bytes
// (ONNX's raw_data layout, bools one byte each, 4-bit types packed two to a
// byte); String tensors use Strings instead. Raw may alias the bytes of the
// file the model was read from, so treat it as read-only and replace it
// (SetFloat32s, SetRaw) rather than writing into it.
type Tensor struct {
	Name      string
	DType     DType
	Dims      []int64
	Raw       []byte
	Strings   [][]byte
	DocString string

	// External is set when the file kept the contents in a side file
	// (data_location = EXTERNAL). The contents are in Raw all the same;
	// writers use External to put them back where they came from.
	External *ExternalData
	// TypedField records that the file stored the contents in a typed field
	// (float_data, int64_data, ...) rather than raw_data; writers honour it.
	TypedField bool
	// Segment is ONNX's (begin, end) chunk marker, rarely used; nil if absent.
	Segment  *[2]int64
	Metadata []StringPair
	// Unknown holds protobuf fields this schema does not know, re-emitted on
	// write.
	Unknown []byte
}

// ExternalData says where a tensor's bytes live outside the model file.
type ExternalData struct {
	Location string // path relative to the model's directory
	Offset   int64
	Length   int64 // -1 when the file did not say
	Checksum string
	// Extra holds any other key/value pairs in external_data, in order.
	Extra []StringPair
	// File is the side file the bytes were read from (an absolute path,
	// symbolic links resolved), set by readers and never written. Writers
	// use it to never replace a file the model was read from.
	File string
}

// StringPair is one ONNX StringStringEntryProto.
type StringPair struct{ Key, Value string }

// NumElements is the product of Dims. It returns an error for a negative dim
// or a product that does not fit in an int64 (absurd declared shapes are
// rejected before anything is allocated).
func NumElements(dims []int64) (int64, error) {
	n := int64(1)
	for i, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("dim %d is negative (%d)", i, d)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("shape %v has more than 2^63 elements", dims)
		}
		n *= d
	}
	return n, nil
}

// Len is the number of elements, or -1 if Dims are invalid.
func (t *Tensor) Len() int64 {
	n, err := NumElements(t.Dims)
	if err != nil {
		return -1
	}
	return n
}

// Validate checks that the contents agree with DType and Dims.
func (t *Tensor) Validate() error {
	n, err := NumElements(t.Dims)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if !t.DType.Known() {
		return fmt.Errorf("tensor %q: unknown data type %d", t.Name, int32(t.DType))
	}
	if t.DType == String {
		if int64(len(t.Strings)) != n {
			return fmt.Errorf("tensor %q: shape %s declares %d strings but it holds %d", t.Name, ShapeString(t.Dims), n, len(t.Strings))
		}
		return nil
	}
	want, ok := t.DType.RawSize(n)
	if !ok {
		return fmt.Errorf("tensor %q: shape %s of %s is too large", t.Name, ShapeString(t.Dims), t.DType)
	}
	if int64(len(t.Raw)) != want {
		return fmt.Errorf("tensor %q: shape %s of %s needs %d bytes of data but it holds %d", t.Name, ShapeString(t.Dims), t.DType, want, len(t.Raw))
	}
	return nil
}

// ShapeString formats dims as [a, b, c].
func ShapeString(dims []int64) string { return DimsString(dims) }

// DimsString formats sizes as [a, b, c], with ? for a negative (unknown)
// size. Every nnkit message that shows a shape uses it, so that shapes read
// the same everywhere.
func DimsString[T ~int | ~int64 | ~int32](dims []T) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range dims {
		if i > 0 {
			b.WriteString(", ")
		}
		if d < 0 {
			b.WriteByte('?')
		} else {
			fmt.Fprint(&b, int64(d))
		}
	}
	b.WriteByte(']')
	return b.String()
}

// Float64s converts the contents of any real numeric or bool tensor to
// float64 (a new slice).
func (t *Tensor) Float64s() ([]float64, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	n := int(t.Len())
	out := make([]float64, n)
	r := t.Raw
	le := binary.LittleEndian
	switch t.DType {
	case Float32:
		for i := range out {
			out[i] = float64(math.Float32frombits(le.Uint32(r[4*i:])))
		}
	case Float64:
		for i := range out {
			out[i] = math.Float64frombits(le.Uint64(r[8*i:]))
		}
	case Float16:
		for i := range out {
			out[i] = float64(HalfToFloat32(le.Uint16(r[2*i:])))
		}
	case BFloat16:
		for i := range out {
			out[i] = float64(math.Float32frombits(uint32(le.Uint16(r[2*i:])) << 16))
		}
	case Int8:
		for i := range out {
			out[i] = float64(int8(r[i]))
		}
	case Uint8, Bool:
		for i := range out {
			out[i] = float64(r[i])
		}
	case Int16:
		for i := range out {
			out[i] = float64(int16(le.Uint16(r[2*i:])))
		}
	case Uint16:
		for i := range out {
			out[i] = float64(le.Uint16(r[2*i:]))
		}
	case Int32:
		for i := range out {
			out[i] = float64(int32(le.Uint32(r[4*i:])))
		}
	case Uint32:
		for i := range out {
			out[i] = float64(le.Uint32(r[4*i:]))
		}
	case Int64:
		for i := range out {
			out[i] = float64(int64(le.Uint64(r[8*i:])))
		}
	case Uint64:
		for i := range out {
			out[i] = float64(le.Uint64(r[8*i:]))
		}
	default:
		return nil, fmt.Errorf("tensor %q: cannot convert %s to float", t.Name, t.DType)
	}
	return out, nil
}

// Float32s converts the contents to float32 (a new slice). Float32 data is
// copied as is; other numeric types are converted.
func (t *Tensor) Float32s() ([]float32, error) {
	if t.DType == Float32 {
		if err := t.Validate(); err != nil {
			return nil, err
		}
		out := make([]float32, t.Len())
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
		}
		return out, nil
	}
	f, err := t.Float64s()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(v)
	}
	return out, nil
}

// Int64s converts the contents of an integer or bool tensor to int64.
func (t *Tensor) Int64s() ([]int64, error) {
	if !t.DType.IsInteger() && t.DType != Bool {
		return nil, fmt.Errorf("tensor %q: %s is not an integer type", t.Name, t.DType)
	}
	if t.DType == Int64 {
		if err := t.Validate(); err != nil {
			return nil, err
		}
		out := make([]int64, t.Len())
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(t.Raw[8*i:]))
		}
		return out, nil
	}
	if t.DType == Uint4 || t.DType == Int4 {
		if err := t.Validate(); err != nil {
			return nil, err
		}
		out := make([]int64, t.Len())
		for i := range out {
			v := int64(t.Raw[i/2] >> (4 * uint(i%2)) & 0xF)
			if t.DType == Int4 && v >= 8 {
				v -= 16
			}
			out[i] = v
		}
		return out, nil
	}
	f, err := t.Float64s()
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(f))
	for i, v := range f {
		out[i] = int64(v)
	}
	return out, nil
}

// SetFloat32s replaces the contents with data, as float32 raw_data. The
// tensor's DType becomes Float32 and its Dims are kept; len(data) must match.
func (t *Tensor) SetFloat32s(data []float32) error {
	if n := t.Len(); n != int64(len(data)) {
		return fmt.Errorf("tensor %q: %d values for shape %v", t.Name, len(data), t.Dims)
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	t.DType, t.Raw, t.Strings = Float32, raw, nil
	return nil
}

// NewFloat32 makes a float32 tensor; data is copied.
func NewFloat32(name string, dims []int64, data []float32) *Tensor {
	t := &Tensor{Name: name, DType: Float32, Dims: append([]int64{}, dims...)}
	if err := t.SetFloat32s(data); err != nil {
		panic(err) // a programming error in the caller
	}
	return t
}

// NewInt64 makes an int64 tensor; data is copied.
func NewInt64(name string, dims []int64, data []int64) *Tensor {
	t := &Tensor{Name: name, DType: Int64, Dims: append([]int64{}, dims...)}
	if n := t.Len(); n != int64(len(data)) {
		panic(fmt.Sprintf("ir.NewInt64 %q: %d values for shape %v", name, len(data), dims))
	}
	t.Raw = make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(t.Raw[8*i:], uint64(v))
	}
	return t
}

// Clone returns a deep copy of t (Raw and Strings copied, so the copy no
// longer aliases the file).
func (t *Tensor) Clone() *Tensor {
	c := *t
	c.Dims = append([]int64(nil), t.Dims...)
	if t.Raw != nil {
		c.Raw = append([]byte(nil), t.Raw...)
	}
	if t.Strings != nil {
		c.Strings = make([][]byte, len(t.Strings))
		for i, s := range t.Strings {
			c.Strings[i] = append([]byte(nil), s...)
		}
	}
	if t.External != nil {
		e := *t.External
		e.Extra = append([]StringPair(nil), e.Extra...)
		c.External = &e
	}
	if t.Segment != nil {
		s := *t.Segment
		c.Segment = &s
	}
	c.Metadata = append([]StringPair(nil), t.Metadata...)
	c.Unknown = append([]byte(nil), t.Unknown...)
	return &c
}

// HalfToFloat32 converts an IEEE 754 binary16 value to float32.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1F
	mant := uint32(h) & 0x3FF
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3FF
		return math.Float32frombits(sign | e<<23 | mant<<13)
	case exp == 0x1F: // inf or NaN
		return math.Float32frombits(sign | 0xFF<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Float32ToHalf converts to IEEE 754 binary16, rounding to nearest even.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xFF
	mant := b & 0x7FFFFF
	if exp == 0xFF { // inf / NaN
		if mant != 0 {
			return sign | 0x7E00
		}
		return sign | 0x7C00
	}
	e := exp - 127 + 15
	if e >= 0x1F {
		return sign | 0x7C00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := mant >> shift
		rem := mant & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint16(e)<<10 | uint16(mant>>13)
	rem := mant & 0x1FFF
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, which is the correct rounding
	}
	return sign | r
}
