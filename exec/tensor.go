package exec

import (
	"unsafe"

	"github.com/nnkit/nnkit/ir"
)

// Float is the element type of the executor's float tensors. Programs run
// in float32; the float64 instantiation exists so that every op's gradient
// can be checked against finite differences in double precision.
type Float interface{ ~float32 | ~float64 }

// kind is how a value is stored: float data of the engine's precision, or
// integers (int64, also holding bools as 0/1).
type kind uint8

const (
	kFloat kind = iota
	kInt
	kBool
)

func kindOf(d ir.DType) (kind, bool) {
	switch {
	case d.IsFloat():
		return kFloat, true
	case d == ir.Bool:
		return kBool, true
	case d.IsInteger():
		return kInt, true
	}
	return 0, false
}

func (k kind) dtype() ir.DType {
	switch k {
	case kInt:
		return ir.Int64
	case kBool:
		return ir.Bool
	}
	return ir.Float32
}

func (k kind) String() string { return k.dtype().String() }

// tensor is one value of a plan: its shape is fixed for the plan and its
// storage is allocated once when the plan is built.
type tensor[T Float] struct {
	name  string
	kind  kind
	shape []int
	size  int
	f     []T     // float data (kind kFloat)
	i     []int64 // integer/bool data
	g     []T     // gradient, allocated for values on a gradient path
	// gshared marks a gradient buffer shared with other values' (live
	// only during part of Backward; see ensureGrads).
	gshared bool
	// clobbered marks a value a Relu overwrote in place (reluInPlace):
	// after a Run its storage holds the Relu's output.
	clobbered bool

	static bool // known when the plan is built (constants, shapes)
	state  bool // parameter or buffer: storage shared by all plans
	frozen bool // a parameter kept fixed (Options.Frozen)
	req    bool // depends on a trainable parameter (or an input with InputGrads)
	live   bool // its gradient is needed by Backward
	nograd bool // not differentiable (BatchNorm statistics, Dropout mask, ...)
	// deferred storage is assigned from the plan's shared arena after all
	// nodes are planned (Options.Inference); shared marks such a value.
	deferred, shared bool

	pub *Tensor // exported view (float32 engine only), made by public()
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func stridesOf(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func shapeStr(s []int) string { return ir.DimsString(s) }

// asF32 reinterprets a float32-instantiated slice; it must only be called
// when T is float32.
func asF32[T Float](s []T) []float32 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&s[0])), len(s))
}

// fromF32 reinterprets a []float32 as a float32-instantiated slice; it
// must only be called when T is float32.
func fromF32[T Float](s []float32) []T {
	if len(s) == 0 {
		return []T{}
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&s[0])), len(s))
}

// littleEndian is whether float32 slices in memory have ONNX's byte order
// (raw_data is little-endian).
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// shareRaw makes a float32 initializer's contents the bytes of data
// (Options.ShareInitializers): where the host's byte order is ONNX's, the
// tensor then reads and writes data itself, and the bytes it held before
// (a slice of the model file, for onnxio's reader) are no longer kept.
func shareRaw(t *ir.Tensor, data []float32) {
	if !littleEndian || len(data) == 0 {
		return
	}
	t.Raw = unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
}

// rawShares reports whether t's contents are the bytes of data (shareRaw).
func rawShares[T Float](t *ir.Tensor, data []T) bool {
	return is32[T]() && len(data) > 0 && t.DType == ir.Float32 && len(t.Raw) == 4*len(data) &&
		unsafe.Pointer(&t.Raw[0]) == unsafe.Pointer(&data[0])
}

func asF64[T Float](s []T) []float64 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(&s[0])), len(s))
}

func is32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}
