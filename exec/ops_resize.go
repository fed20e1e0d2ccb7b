package exec

import (
	"errors"
	"fmt"
	"math"

	"github.com/nnkit/nnkit/ir"
)

// Resize (opset 11+), modes nearest, linear and cubic, on any axes. All
// are separable, so the op runs as one 1-D pass per resized axis; each
// pass maps output index j of the axis to source indices i0, i1 with
// weights w0, w1 (nearest: one index, weight 1):
//
//	y[…, j, …] = w0·x[…, i0, …] + w1·x[…, i1, …]
//	→ dx[…, i0, …] += w0·dy[…, j, …], dx[…, i1, …] += w1·dy[…, j, …]
//
// The source coordinate of output j (in, out: axis sizes; s: the scale,
// given or out/in):
//
//	half_pixel           (j + ½)/s − ½        (PyTorch bilinear, align_corners=False)
//	pytorch_half_pixel   same, 0 when out = 1
//	align_corners        j·(in − 1)/(out − 1), 0 when out = 1
//	asymmetric           j/s                  (PyTorch nearest)
//
// linear clamps the coordinate to [0, in − 1] (PyTorch and ONNX Runtime
// both do), i0 = ⌊x⌋, i1 = min(i0 + 1, in − 1), w1 = x − i0. nearest rounds
// by nearest_mode (floor, ceil, round_prefer_floor, round_prefer_ceil) and
// clamps the index. cubic (PyTorch's bicubic) weighs the 4 taps ⌊x⌋−1 …
// ⌊x⌋+2 by Keys' kernel with cubic_coeff_a (−0.75), reading indices
// clamped to the edge.

func registerResize[T Float](m map[string]opDef[T]) {
	m["Resize"] = opDef[T]{plan: planResize[T], check: checkResize}
}

func checkResize(n *ir.Node, opset int64) error {
	if opset < 11 {
		return errors.New("opset < 11 (export at opset 11 or later)")
	}
	switch mode := n.String("mode", "nearest"); mode {
	case "nearest", "linear", "cubic":
	default:
		return fmt.Errorf("mode=%q", mode)
	}
	if n.Int("exclude_outside", 0) != 0 {
		return errors.New("exclude_outside=1")
	}
	switch ctm := n.String("coordinate_transformation_mode", "half_pixel"); ctm {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric":
	default:
		return fmt.Errorf("coordinate_transformation_mode=%q", ctm)
	}
	switch nm := n.String("nearest_mode", "round_prefer_floor"); nm {
	case "floor", "ceil", "round_prefer_floor", "round_prefer_ceil":
	default:
		return fmt.Errorf("nearest_mode=%q", nm)
	}
	if n.Int("antialias", 0) != 0 {
		return errors.New("antialias=1")
	}
	if n.HasAttr("axes") {
		return errors.New("axes attribute")
	}
	if p := n.String("keep_aspect_ratio_policy", "stretch"); p != "stretch" {
		return fmt.Errorf("keep_aspect_ratio_policy=%q", p)
	}
	return nil
}

// resizePass is one 1-D resampling along an axis of a tensor seen as
// [outer, in, inner] → [outer, out, inner].
type resizePass[T Float] struct {
	outer, in, out, inner int
	i0, i1                []int
	w0, w1                []T
	cubic                 [][4]int // cubic: the 4 source indices and weights
	cw                    [][4]T
	buf, gbuf             []T // the pass's output (nil for the last pass: y)
}

func planResize[T Float](c *nodeCtx[T]) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	r := len(x.shape)
	present := func(i int) *tensor[T] {
		t := c.input(i)
		if t == nil || t.size == 0 && len(t.shape) == 1 {
			return nil
		}
		return t
	}
	if t := present(1); t != nil && c.n.String("coordinate_transformation_mode", "") == "tf_crop_and_resize" {
		return errors.New("roi is only used by tf_crop_and_resize, which is not supported")
	}
	scales := make([]float64, r)
	if sz := present(3); sz != nil {
		v, err := c.ints(3, "sizes") // known before running
		if err != nil {
			return err
		}
		if len(v) != r {
			return fmt.Errorf("sizes %v has %d entries for input %s", v, len(v), shapeStr(x.shape))
		}
	} else if sc := present(2); sc != nil {
		if sc.kind != kFloat || !sc.static {
			return fmt.Errorf("scales (input 2, %s) must be a constant float tensor", sc.name)
		}
		if sc.size != r {
			return fmt.Errorf("scales has %d entries for input %s", sc.size, shapeStr(x.shape))
		}
		for i, s := range sc.f {
			// the scale is used as the file stores it (float32), as ONNX Runtime does
			if scales[i] = float64(float32(s)); !(scales[i] > 0) {
				return fmt.Errorf("scale %g on axis %d of input %s is not positive", scales[i], i, shapeStr(x.shape))
			}
		}
	}
	outShape, err := c.inferred(0) // the sizes, or ⌊size·scale⌋
	if err != nil {
		return err
	}
	for i, o := range outShape {
		if o < 1 || o > 1<<30 {
			return fmt.Errorf("output %s of input %s is empty or huge on axis %d", shapeStr(outShape), shapeStr(x.shape), i)
		}
		if present(3) != nil {
			scales[i] = float64(o) / float64(x.shape[i])
		}
	}
	y := c.output(0, kFloat, outShape)
	linear := c.n.String("mode", "nearest") == "linear"
	cubic := c.n.String("mode", "nearest") == "cubic"
	A := float64(c.n.Float("cubic_coeff_a", -0.75))
	// Keys' cubic convolution kernel with parameter A
	keys := func(x float64) float64 {
		x = math.Abs(x)
		if x <= 1 {
			return ((A+2)*x-(A+3))*x*x + 1
		}
		if x < 2 {
			return ((A*x-5*A)*x+8*A)*x - 4*A
		}
		return 0
	}
	ctm := c.n.String("coordinate_transformation_mode", "half_pixel")
	nm := c.n.String("nearest_mode", "round_prefer_floor")
	var passes []*resizePass[T]
	cur := append([]int(nil), x.shape...)
	for ax := 0; ax < r; ax++ {
		in, out := x.shape[ax], outShape[ax]
		if in == out && scales[ax] == 1 {
			continue
		}
		p := &resizePass[T]{outer: numel(cur[:ax]), in: in, out: out, inner: numel(cur[ax+1:]),
			i0: make([]int, out), i1: make([]int, out), w0: make([]T, out), w1: make([]T, out)}
		for j := 0; j < out; j++ {
			var src float64
			switch ctm {
			case "half_pixel":
				src = (float64(j)+0.5)/scales[ax] - 0.5
			case "pytorch_half_pixel":
				if out > 1 {
					src = (float64(j)+0.5)/scales[ax] - 0.5
				}
			case "align_corners":
				if out > 1 {
					src = float64(j) * float64(in-1) / float64(out-1)
				}
			case "asymmetric":
				src = float64(j) / scales[ax]
			}
			if cubic {
				// taps ⌊x⌋−1 … ⌊x⌋+2, read clamped to the edge (PyTorch's
				// upsample_bicubic2d; the coordinate itself is not clamped)
				if p.cubic == nil {
					p.cubic, p.cw = make([][4]int, out), make([][4]T, out)
				}
				i0 := int(math.Floor(src))
				f := src - float64(i0)
				for k := 0; k < 4; k++ {
					p.cubic[j][k] = min(max(i0-1+k, 0), in-1)
					p.cw[j][k] = T(keys(f + 1 - float64(k)))
				}
				continue
			}
			if linear {
				src = min(max(src, 0), float64(in-1))
				i0 := int(math.Floor(src))
				p.i0[j], p.i1[j] = i0, min(i0+1, in-1)
				f := src - float64(i0)
				p.w0[j], p.w1[j] = T(1-f), T(f)
				continue
			}
			var k float64
			switch nm {
			case "floor":
				k = math.Floor(src)
			case "ceil":
				k = math.Ceil(src)
			case "round_prefer_floor":
				if src-math.Floor(src) == 0.5 {
					k = math.Floor(src)
				} else {
					k = math.Round(src)
				}
			case "round_prefer_ceil":
				if src-math.Floor(src) == 0.5 {
					k = math.Ceil(src)
				} else {
					k = math.Round(src)
				}
			}
			i := int(min(max(k, 0), float64(in-1)))
			p.i0[j], p.i1[j], p.w0[j] = i, i, 1
		}
		cur[ax] = out
		passes = append(passes, p)
	}
	for i, p := range passes {
		if i < len(passes)-1 {
			p.buf = make([]T, p.outer*p.out*p.inner)
		}
	}
	src := func(i int) []T {
		if i == 0 {
			return x.f
		}
		return passes[i-1].buf
	}
	dst := func(i int) []T {
		if i == len(passes)-1 {
			return y.f
		}
		return passes[i].buf
	}
	c.fwd = func(*runCtx) error {
		if len(passes) == 0 {
			copy(y.f, x.f)
			return nil
		}
		for i, p := range passes {
			p.forward(src(i), dst(i))
		}
		return nil
	}
	c.bwd = func() {
		if x.g == nil {
			return
		}
		if len(passes) == 0 {
			add(x.g, y.g)
			return
		}
		for i := len(passes) - 1; i >= 0; i-- {
			p := passes[i]
			var dy, dx []T
			if i == len(passes)-1 {
				dy = y.g
			} else {
				dy = p.gbuf
			}
			if i == 0 {
				dx = x.g
			} else {
				q := passes[i-1]
				if q.gbuf == nil {
					q.gbuf = make([]T, len(q.buf))
				}
				clear(q.gbuf)
				dx = q.gbuf
			}
			p.backward(dy, dx)
		}
	}
	return nil
}

func (p *resizePass[T]) forward(x, y []T) {
	in, out, inner := p.in, p.out, p.inner
	if p.cubic != nil {
		for o := 0; o < p.outer; o++ {
			xs, ys := x[o*in*inner:(o+1)*in*inner], y[o*out*inner:(o+1)*out*inner]
			for j := 0; j < out; j++ {
				row := ys[j*inner : (j+1)*inner]
				clear(row)
				for k, i := range p.cubic[j] {
					w, a := p.cw[j][k], xs[i*inner:(i+1)*inner]
					for t := range row {
						row[t] += w * a[t]
					}
				}
			}
		}
		return
	}
	for o := 0; o < p.outer; o++ {
		xs, ys := x[o*in*inner:(o+1)*in*inner], y[o*out*inner:(o+1)*out*inner]
		for j := 0; j < out; j++ {
			a, b := xs[p.i0[j]*inner:(p.i0[j]+1)*inner], xs[p.i1[j]*inner:(p.i1[j]+1)*inner]
			w0, w1 := p.w0[j], p.w1[j]
			row := ys[j*inner : (j+1)*inner]
			if w1 == 0 {
				for k := range row {
					row[k] = w0 * a[k]
				}
				continue
			}
			for k := range row {
				row[k] = w0*a[k] + w1*b[k]
			}
		}
	}
}

func (p *resizePass[T]) backward(dy, dx []T) {
	in, out, inner := p.in, p.out, p.inner
	if p.cubic != nil {
		for o := 0; o < p.outer; o++ {
			gx, gy := dx[o*in*inner:(o+1)*in*inner], dy[o*out*inner:(o+1)*out*inner]
			for j := 0; j < out; j++ {
				g := gy[j*inner : (j+1)*inner]
				for k, i := range p.cubic[j] {
					w, a := p.cw[j][k], gx[i*inner:(i+1)*inner]
					for t, v := range g {
						a[t] += w * v
					}
				}
			}
		}
		return
	}
	for o := 0; o < p.outer; o++ {
		gx, gy := dx[o*in*inner:(o+1)*in*inner], dy[o*out*inner:(o+1)*out*inner]
		for j := 0; j < out; j++ {
			a, b := gx[p.i0[j]*inner:(p.i0[j]+1)*inner], gx[p.i1[j]*inner:(p.i1[j]+1)*inner]
			w0, w1 := p.w0[j], p.w1[j]
			for k, g := range gy[j*inner : (j+1)*inner] {
				a[k] += w0 * g
				b[k] += w1 * g
			}
		}
	}
}
