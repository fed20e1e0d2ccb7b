package exec

import (
	"errors"
	"fmt"
	"math"

	"github.com/nnkit/nnkit/ir"
)

// Ops that only rearrange data: the gradient of a reshape is the reshaped
// gradient (dx = dy), of a transpose the inverse transpose, of a gather a
// scatter-add.

func registerShape[T Float](m map[string]opDef[T]) {
	m["Identity"] = opDef[T]{plan: planIdentity[T]}
	m["Reshape"] = opDef[T]{plan: planReshape[T]}
	m["Flatten"] = opDef[T]{plan: planFlatten[T]}
	m["Squeeze"] = opDef[T]{plan: planSqueeze[T]}
	m["Unsqueeze"] = opDef[T]{plan: planUnsqueeze[T]}
	m["Shape"] = opDef[T]{plan: planShape[T], shapeOnly: true}
	m["Size"] = opDef[T]{plan: planSize[T], shapeOnly: true}
	m["Cast"] = opDef[T]{plan: planCast[T], check: checkCast}
	m["Transpose"] = opDef[T]{plan: planTranspose[T]}
	m["Expand"] = opDef[T]{plan: planExpand[T]}
}

// planAs makes output 0 x's data under a new shape (a copy; y = x → dx = dy).
func planAs[T Float](c *nodeCtx[T], x *tensor[T], shape []int) error {
	if numel(shape) != x.size {
		return fmt.Errorf("cannot reshape %s (%d elements) to %s", shapeStr(x.shape), x.size, shapeStr(shape))
	}
	y := c.output(0, x.kind, shape)
	fwd := func(lo, hi int) {
		if x.kind == kFloat {
			copy(y.f[lo:hi], x.f[lo:hi])
		} else {
			copy(y.i[lo:hi], x.i[lo:hi])
		}
	}
	c.fwd = func(*runCtx) error { c.par(x.size, fwd); return nil }
	bwd := func(lo, hi int) {
		g, d := x.g[lo:hi], y.g[lo:hi]
		for i := range g {
			g[i] += d[i]
		}
	}
	c.bwd = func() {
		if x.g != nil {
			c.par(x.size, bwd)
		}
	}
	return nil
}

func planIdentity[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	return planAs(c, x, x.shape)
}

// planReshape: the shape must be known before running; the output shape
// (0 copies a dim unless allowzero, -1 takes the rest) is ir's.
func planReshape[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	if _, err := c.ints(1, "shape"); err != nil {
		return err
	}
	shape, err := c.inferred(0)
	if err != nil {
		return err
	}
	return planAs(c, x, shape)
}

func planFlatten[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	shape, err := c.inferred(0)
	if err != nil {
		return err
	}
	return planAs(c, x, shape)
}

// axesArg reads axes from input i (newer opsets) or the "axes" attribute.
func (c *nodeCtx[T]) axesArg(i int) ([]int64, bool, error) {
	if c.input(i) != nil {
		a, err := c.ints(i, "axes")
		return a, true, err
	}
	if c.n.HasAttr("axes") {
		return c.n.Ints("axes", nil), true, nil
	}
	return nil, false, nil
}

// planSqueeze: the axes must be known before running; the output shape
// is ir's (no axes, or an empty list as ONNX Runtime reads it, drops every
// dimension of size 1).
func planSqueeze[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	if _, _, err := c.axesArg(1); err != nil {
		return err
	}
	shape, err := c.inferred(0)
	if err != nil {
		return err
	}
	return planAs(c, x, shape)
}

// planUnsqueeze: the axes must be known before running; the output shape
// is ir's.
func planUnsqueeze[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	if _, given, err := c.axesArg(1); err != nil || !given {
		if err == nil {
			err = errors.New("axes are missing")
		}
		return err
	}
	shape, err := c.inferred(0)
	if err != nil {
		return err
	}
	return planAs(c, x, shape)
}

func planShape[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	r := int64(len(x.shape))
	clampAx := func(a int64) int64 {
		if a < 0 {
			a += r
		}
		return min(max(a, 0), r)
	}
	start := clampAx(c.n.Int("start", 0))
	out, err := c.inferred(0) // [end − start], both clamped to [0, rank]
	if err != nil {
		return err
	}
	y := c.output(0, kInt, out)
	c.fwd = func(*runCtx) error {
		for i := range y.i {
			y.i[i] = int64(x.shape[int(start)+i])
		}
		return nil
	}
	return nil
}

func planSize[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	out, err := c.inferred(0) // a scalar
	if err != nil {
		return err
	}
	y := c.output(0, kInt, out)
	c.fwd = func(*runCtx) error { y.i[0] = int64(x.size); return nil }
	return nil
}

func checkCast(n *ir.Node, _ int64) error {
	to := ir.DType(n.Int("to", 0))
	if _, ok := kindOf(to); !ok {
		return fmt.Errorf("to=%s", to)
	}
	return nil
}

// Cast: float→float y = x → dx = dy (float16/bfloat16 are rounded);
// to integers truncates toward zero; no gradient through integers.
func planCast[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	to := ir.DType(c.n.Int("to", 0))
	k, _ := kindOf(to)
	y := c.output(0, k, x.shape)
	c.fwd = func(*runCtx) error {
		switch {
		case x.kind == kFloat && k == kFloat:
			for i, v := range x.f {
				y.f[i] = roundTo(v, to)
			}
		case x.kind == kFloat && k == kBool:
			for i, v := range x.f {
				y.i[i] = b2i(v != 0)
			}
		case x.kind == kFloat:
			for i, v := range x.f {
				y.i[i] = wrapInt(int64(math.Trunc(float64(v))), to)
			}
		case k == kFloat:
			for i, v := range x.i {
				y.f[i] = roundTo(T(v), to)
			}
		case k == kBool:
			for i, v := range x.i {
				y.i[i] = b2i(v != 0)
			}
		default:
			for i, v := range x.i {
				y.i[i] = wrapInt(v, to)
			}
		}
		return nil
	}
	if x.kind == kFloat && k == kFloat {
		c.bwd = func() {
			if x.g != nil {
				for i, g := range y.g {
					x.g[i] += g
				}
			}
		}
	}
	return nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func roundTo[T Float](v T, to ir.DType) T {
	switch to {
	case ir.Float16:
		return T(ir.HalfToFloat32(ir.Float32ToHalf(float32(v))))
	case ir.BFloat16:
		b := math.Float32bits(float32(v))
		b += 0x7fff + (b>>16)&1 // round to nearest even
		return T(math.Float32frombits(b &^ 0xffff))
	case ir.Float32:
		return T(float32(v))
	}
	return v
}

func wrapInt(v int64, to ir.DType) int64 {
	switch to {
	case ir.Int8:
		return int64(int8(v))
	case ir.Uint8:
		return int64(uint8(v))
	case ir.Int16:
		return int64(int16(v))
	case ir.Uint16:
		return int64(uint16(v))
	case ir.Int32:
		return int64(int32(v))
	case ir.Uint32:
		return int64(uint32(v))
	}
	return v
}

// Transpose: y = xᵖᵉʳᵐ → dx = dyᵖᵉʳᵐ⁻¹.
func planTranspose[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	r := len(x.shape)
	p, err := ir.TransposePerm(c.n, r)
	if err != nil {
		return err
	}
	out, err := c.inferred(0) // x's dims in perm's order
	if err != nil {
		return err
	}
	st := stridesOf(x.shape)
	idx := make([][]int, r)
	stride := make([]int, r)
	for i, p := range dims(p) {
		idx[i] = seq(out[i])
		stride[i] = st[p]
	}
	planIndexed(c, x, out, idx, stride, 0)
	return nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// Expand: y = broadcast(x, shape) → dx = Σ_broadcast dy.
func planExpand[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	if _, err := c.ints(1, "shape"); err != nil { // known before running
		return err
	}
	out, err := c.inferred(0) // x broadcast with the shape
	if err != nil {
		return err
	}
	m := newBmap(out, x.shape)
	y := c.output(0, x.kind, out)
	c.fwd = func(*runCtx) error {
		if x.kind == kFloat {
			bGather(m, 0, y.f, x.f)
		} else {
			bGather(m, 0, y.i, x.i)
		}
		return nil
	}
	c.bwd = func() {
		if x.g != nil {
			bReduce(m, 0, x.g, y.g)
		}
	}
	return nil
}
