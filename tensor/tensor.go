package tensor

import "github.com/nnkit/nnkit/ir"

// Tensor is a dense row-major array. Float data is in F; integer and bool
// data (indices, shapes, masks, class labels) in I (bools as 0/1). Exactly
// one of F and I is used, according to DType.
type Tensor struct {
	DType ir.DType // ir.Float32, ir.Int64 or ir.Bool
	Shape []int
	F     []float32
	I     []int64
}
