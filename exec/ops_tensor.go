package exec

import (
	"errors"
	"fmt"

	"github.com/nnkit/nnkit/ir"
)

// Concat, Split, Slice, Gather, Pad, Tile.

func registerTensorOps[T Float](m map[string]opDef[T]) {
	m["Concat"] = opDef[T]{plan: planConcat[T]}
	m["Split"] = opDef[T]{plan: planSplit[T]}
	m["Slice"] = opDef[T]{plan: planSlice[T]}
	m["Gather"] = opDef[T]{plan: planGather[T]}
	m["Pad"] = opDef[T]{plan: planPad[T]}
	m["Tile"] = opDef[T]{plan: planTile[T]}
	m["Range"] = opDef[T]{plan: planRange[T]}
}

// Concat: y = [x₁ x₂ …] along axis → dxᵢ = the matching block of dy.
func planConcat[T Float](c *nodeCtx[T]) error {
	var xs []*tensor[T]
	for _, t := range c.in {
		if t != nil {
			xs = append(xs, t)
		}
	}
	if len(xs) == 0 {
		return errors.New("no inputs")
	}
	out, err := c.inferred(0) // axis required; same rank, equal outside the axis
	if err != nil {
		return err
	}
	ax, err := ir.NormAxis(c.n.Int("axis", 0), len(out))
	if err != nil {
		return err
	}
	outer := numel(out[:ax])
	inner := numel(out[ax+1:])
	y := c.output(0, xs[0].kind, out)
	c.fwd = func(*runCtx) error {
		o := 0
		for i := 0; i < outer; i++ {
			for _, t := range xs {
				n := t.shape[ax] * inner
				if y.kind == kFloat {
					copy(y.f[o:o+n], t.f[i*n:(i+1)*n])
				} else {
					copy(y.i[o:o+n], t.i[i*n:(i+1)*n])
				}
				o += n
			}
		}
		return nil
	}
	c.bwd = func() {
		o := 0
		for i := 0; i < outer; i++ {
			for _, t := range xs {
				n := t.shape[ax] * inner
				if t.g != nil {
					g := t.g[i*n : (i+1)*n]
					for k, v := range y.g[o : o+n] {
						g[k] += v
					}
				}
				o += n
			}
		}
	}
	return nil
}

// Split: yᵢ = block i of x along axis → dx = [dy₁ dy₂ …] (0 where absent).
func planSplit[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	r := len(x.shape)
	ax, err := ir.NormAxis(c.n.Int("axis", 0), r)
	if err != nil {
		return err
	}
	if c.input(1) != nil {
		if _, err := c.ints(1, "split"); err != nil { // known before running
			return err
		}
	}
	// the outputs' shapes (split, num_outputs, or even parts) are ir's
	sizes := make([]int, len(c.out))
	ys := make([]*tensor[T], len(c.out))
	for j := range ys {
		shape, err := c.inferred(j)
		if err != nil {
			return err
		}
		sizes[j] = shape[ax]
		ys[j] = c.output(j, x.kind, shape)
	}
	outer, inner := numel(x.shape[:ax]), numel(x.shape[ax+1:])
	row := x.shape[ax] * inner
	c.fwd = func(*runCtx) error {
		for i := 0; i < outer; i++ {
			o := i * row
			for j, y := range ys {
				k := sizes[j] * inner
				if x.kind == kFloat {
					copy(y.f[i*k:(i+1)*k], x.f[o:o+k])
				} else {
					copy(y.i[i*k:(i+1)*k], x.i[o:o+k])
				}
				o += k
			}
		}
		return nil
	}
	c.bwd = func() {
		if x.g == nil {
			return
		}
		for i := 0; i < outer; i++ {
			o := i * row
			for j, y := range ys {
				k := sizes[j] * inner
				if y.g != nil {
					g := x.g[o : o+k]
					for t, v := range y.g[i*k : (i+1)*k] {
						g[t] += v
					}
				}
				o += k
			}
		}
	}
	return nil
}

// Slice: y = x[starts:ends:steps] → dx = dy scattered back, 0 elsewhere.
func planSlice[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	r := len(x.shape)
	var starts, ends, axesRaw, steps []int64
	var err error
	if c.input(1) != nil || c.input(2) != nil {
		if starts, err = c.ints(1, "starts"); err != nil {
			return err
		}
		if ends, err = c.ints(2, "ends"); err != nil {
			return err
		}
		if c.input(3) != nil {
			if axesRaw, err = c.ints(3, "axes"); err != nil {
				return err
			}
		}
		if c.input(4) != nil {
			if steps, err = c.ints(4, "steps"); err != nil {
				return err
			}
		}
	} else { // opset < 10
		starts, ends, axesRaw = c.n.Ints("starts", nil), c.n.Ints("ends", nil), c.n.Ints("axes", nil)
	}
	if len(starts) != len(ends) {
		return fmt.Errorf("starts %v and ends %v differ in length", starts, ends)
	}
	if axesRaw == nil {
		for i := range starts {
			axesRaw = append(axesRaw, int64(i))
		}
	}
	if len(axesRaw) != len(starts) || steps != nil && len(steps) != len(starts) {
		return fmt.Errorf("starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axesRaw, steps)
	}
	axes, err := c.axes(axesRaw, r)
	if err != nil {
		return err
	}
	idx := make([][]int, r)
	for d := range idx {
		idx[d] = seq(x.shape[d])
	}
	for i := range axes {
		if steps != nil && steps[i] == 0 {
			return errors.New("slice step is 0")
		}
	}
	out, err := c.inferred(0) // each sliced axis's count; the others as x's
	if err != nil {
		return err
	}
	for i, ax := range axes {
		dim := int64(x.shape[ax])
		st := int64(1)
		if steps != nil {
			st = steps[i]
		}
		s, _ := ir.SliceAxis(starts[i], ends[i], st, dim)
		idx[ax] = make([]int, out[ax])
		for k := range idx[ax] {
			idx[ax][k] = int(s + int64(k)*st)
		}
	}
	planIndexed(c, x, out, idx, stridesOf(x.shape), 0)
	return nil
}

// Gather: y[o,k,i] = x[o,idx[k],i] → dx[o,idx[k],i] += dy[o,k,i].
func planGather[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	ind, err := c.need(1, kInt)
	if err != nil {
		return err
	}
	out, err := c.inferred(0) // x's dims with the indices' in place of axis
	if err != nil {
		return err
	}
	ax, err := ir.NormAxis(c.n.Int("axis", 0), len(x.shape))
	if err != nil {
		return err
	}
	outer, inner, A := numel(x.shape[:ax]), numel(x.shape[ax+1:]), x.shape[ax]
	nk := ind.size
	y := c.output(0, x.kind, out)
	pos := make([]int, nk)
	c.fwd = func(*runCtx) error {
		for k, v := range ind.i {
			if v < -int64(A) || v >= int64(A) {
				return fmt.Errorf("index %d is out of range for axis %d of size %d", v, ax, A)
			}
			if v < 0 {
				v += int64(A)
			}
			pos[k] = int(v)
		}
		for o := 0; o < outer; o++ {
			for k, p := range pos {
				src := (o*A + p) * inner
				dst := (o*nk + k) * inner
				if x.kind == kFloat {
					copy(y.f[dst:dst+inner], x.f[src:src+inner])
				} else {
					copy(y.i[dst:dst+inner], x.i[src:src+inner])
				}
			}
		}
		return nil
	}
	c.bwd = func() {
		if x.g == nil {
			return
		}
		for o := 0; o < outer; o++ {
			for k, p := range pos {
				g := x.g[(o*A+p)*inner : (o*A+p+1)*inner]
				for i, v := range y.g[(o*nk+k)*inner : (o*nk+k+1)*inner] {
					g[i] += v
				}
			}
		}
	}
	return nil
}

// Pad: y = x surrounded by a constant, reflection or edge copies
// → dx = the sum of dy over the outputs that read each x element.
func planPad[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	r := len(x.shape)
	mode := c.n.String("mode", "constant")
	var pads []int64
	var fill float64
	var err error
	if c.opset >= 11 || c.input(1) != nil {
		if pads, err = c.ints(1, "pads"); err != nil {
			return err
		}
		if c.input(2) != nil {
			if fill, err = c.staticScalar(2, "constant_value"); err != nil {
				return err
			}
		}
	} else {
		pads = c.n.Ints("pads", nil)
		fill = float64(c.n.Float("value", 0))
	}
	axes := seq(r)
	if c.input(3) != nil {
		raw, err := c.ints(3, "axes")
		if err != nil {
			return err
		}
		if axes, err = c.axes(raw, r); err != nil {
			return err
		}
	}
	out, err := c.inferred(0) // two pads per axis, none making a dim negative
	if err != nil {
		return err
	}
	begin := make([]int, r)
	for i, a := range axes {
		begin[a] = int(pads[i])
	}
	idx := make([][]int, r)
	for d := 0; d < r; d++ {
		n := x.shape[d]
		idx[d] = make([]int, out[d])
		for o := range idx[d] {
			i := o - begin[d]
			if i < 0 || i >= n {
				switch mode {
				case "constant":
					i = -1
				case "edge":
					i = min(max(i, 0), n-1)
				case "reflect":
					if n == 1 {
						i = 0
						break
					}
					for i < 0 || i >= n {
						if i < 0 {
							i = -i
						}
						if i >= n {
							i = 2*(n-1) - i
						}
					}
				case "wrap":
					i = ((i % n) + n) % n
				default:
					return fmt.Errorf("mode %q is not supported", mode)
				}
				if n == 0 {
					i = -1
				}
			}
			idx[d][o] = i
		}
	}
	planIndexed(c, x, out, idx, stridesOf(x.shape), T(fill))
	return nil
}

// Tile: y = x repeated along each axis → dx = Σ over the copies.
func planTile[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil {
		return errors.New("input 0 is missing")
	}
	if _, err := c.ints(1, "repeats"); err != nil { // known before running
		return err
	}
	out, err := c.inferred(0) // each dim times its repeat
	if err != nil {
		return err
	}
	idx := make([][]int, len(out))
	for d := range out {
		idx[d] = make([]int, out[d])
		for o := range idx[d] {
			idx[d][o] = o % x.shape[d]
		}
	}
	planIndexed(c, x, out, idx, stridesOf(x.shape), 0)
	return nil
}

// Range: start, start+delta, … below limit (no gradient).
func planRange[T Float](c *nodeCtx[T]) error {
	var v [3]float64
	for i := range v {
		f, err := c.staticScalar(i, [...]string{"start", "limit", "delta"}[i])
		if err != nil {
			return err
		}
		v[i] = f
	}
	shape, err := c.inferred(0) // ⌈(limit−start)/delta⌉ values, none below 0
	if err != nil {
		return err
	}
	n := shape[0]
	k := c.in[0].kind
	y := c.output(0, k, shape)
	c.fwd = func(*runCtx) error {
		for i := 0; i < n; i++ {
			x := v[0] + float64(i)*v[2]
			if k == kFloat {
				y.f[i] = T(x)
			} else {
				y.i[i] = int64(x)
			}
		}
		return nil
	}
	return nil
}
