package exec

import (
	"fmt"

	"github.com/nnkit/nnkit/ir"
)

// ConvTranspose (1-D and 2-D), the adjoint of Conv: per image and group,
// with W_g the group's [C_in/g, C_out/g·KH·KW] block of the weight
// [C_in, C_out/g, KH, KW],
//
//	col = W_gᵀ · x_g,  y_g = col⁻¹(col) + b      (col2im scatters the columns)
//	→ dcol = col(dy_g) (im2col), dx_g = W_g · dcol, dW_g += x_g · dcolᵀ, db = Σ dy
//
// The im2col geometry is that of the Conv whose input is y and whose output
// is x: y position = x position·stride − pad_begin + k·dilation. Output size
// per axis: stride·(in − 1) + output_padding + dilation·(k − 1) + 1 − pads,
// or output_shape / auto_pad as the ONNX specification gives them.

func registerConvTranspose[T Float](m map[string]opDef[T]) {
	m["ConvTranspose"] = opDef[T]{plan: planConvTranspose[T], check: checkSpatial}
}

// convTGeom computes the geometry of each spatial axis: in is the OUTPUT
// (y) size, out the input (x) size, as im2col/col2im want them.
func convTGeom(n *ir.Node, xs, kernel []int) ([]geom, error) {
	w, err := ir.NodeWindow(n, len(xs), i64s(kernel), true)
	if err != nil {
		return nil, err
	}
	gs := make([]geom, len(xs))
	for i := range gs {
		g := geom{out: xs[i], k: kernel[i], s: int(w.Strides[i]), d: int(w.Dilations[i])}
		if op := int(w.OutputPadding[i]); op < 0 || op >= max(g.s, g.d) {
			return nil, fmt.Errorf("output_padding %v must be smaller than the stride or the dilation", w.OutputPadding)
		}
		want, ok := w.TransposedOutSize(i, int64(g.out))
		if !ok {
			return nil, fmt.Errorf("output size of spatial axis %d overflows", i)
		}
		pb, pe := w.TransposedPadsAt(i, int64(g.out))
		if pb+pe < 0 {
			return nil, fmt.Errorf("output size %d on axis %d needs negative padding (at most %d)", want, i, want+pb+pe)
		}
		g.pb, g.pe, g.in = int(pb), int(pe), int(want)
		if g.in < 1 {
			return nil, fmt.Errorf("output size %d on spatial axis %d is not positive", g.in, i)
		}
		gs[i] = g
	}
	return gs, nil
}

func planConvTranspose[T Float](c *nodeCtx[T]) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	w, err := c.need(1, kFloat)
	if err != nil {
		return err
	}
	b := c.input(2)
	r := len(x.shape)
	if r != 3 && r != 4 {
		return fmt.Errorf("input %s: only 1-D and 2-D transposed convolutions ([N,C,L] or [N,C,H,W]) are supported", shapeStr(x.shape))
	}
	if len(w.shape) != r {
		return fmt.Errorf("weight %s does not match input %s", shapeStr(w.shape), shapeStr(x.shape))
	}
	N, C := x.shape[0], x.shape[1]
	grp, err := convGroup(c.n, w)
	if err != nil {
		return err
	}
	if C%grp != 0 || w.shape[0] != C {
		return fmt.Errorf("group=%d does not fit input %s and weight %s (weight is [C_in, C_out/group, k...])", grp, shapeStr(x.shape), shapeStr(w.shape))
	}
	cog := w.shape[1]
	M := cog * grp
	kernel := w.shape[2:]
	if b != nil && (b.kind != kFloat || b.size != M) {
		return fmt.Errorf("bias %s does not match %d output channels", shapeStr(b.shape), M)
	}
	gs, err := convTGeom(c.n, x.shape[2:], kernel)
	if err != nil {
		return err
	}
	gh, gw := as2D(gs)
	outShape, err := c.inferred(0) // [N M] then the windows' (output_shape, output_padding) sizes
	if err != nil {
		return err
	}
	y := c.output(0, kFloat, outShape)
	cig := C / grp
	K := gh.k * gw.k
	rows := cog * K       // rows of one group's column matrix
	hw := gh.out * gw.out // x plane
	ohw := gh.in * gw.in  // y plane
	c.charge(prod(rows, hw), "column buffer")
	col := make([]T, rows*hw)
	mm := c.e.mm
	c.fwd = func(*runCtx) error {
		clear(y.f)
		for n := 0; n < N; n++ {
			xn := x.f[n*C*hw : (n+1)*C*hw]
			yn := y.f[n*M*ohw : (n+1)*M*ohw]
			for g := 0; g < grp; g++ {
				mm.gemm(true, false, rows, hw, cig, 1, w.f[g*cig*rows:], rows, xn[g*cig*hw:], hw, 0, col, hw)
				col2im(col, cog, gh, gw, yn[g*cog*ohw:], hw)
			}
			if b != nil {
				addPlaneBias(yn, b.f, M, ohw)
			}
		}
		return nil
	}
	c.bwd = func() {
		for n := 0; n < N; n++ {
			dy := y.g[n*M*ohw : (n+1)*M*ohw]
			if b != nil && b.g != nil {
				addPlaneSums(b.g, dy, M, ohw)
			}
			if w.g == nil && x.g == nil {
				continue
			}
			xn := x.f[n*C*hw : (n+1)*C*hw]
			for g := 0; g < grp; g++ {
				im2col(dy[g*cog*ohw:], cog, gh, gw, col, hw)
				if x.g != nil {
					mm.gemm(false, false, cig, hw, rows, 1, w.f[g*cig*rows:], rows, col, hw, 1, x.g[n*C*hw+g*cig*hw:], hw)
				}
				if w.g != nil {
					mm.gemm(false, true, cig, rows, hw, 1, xn[g*cig*hw:], hw, col, hw, 1, w.g[g*cig*rows:], rows)
				}
			}
		}
	}
	return nil
}
