package exec

import (
	"errors"
	"fmt"
	"math"

	"github.com/nnkit/nnkit/ir"
)

// 3-D convolution and pooling (nn.Conv3d, nn.ConvTranspose3d, nn.MaxPool3d,
// nn.AvgPool3d on [N, C, D, H, W]: video, medical volumes). Conv3d is
// im2col + GEMM like the 2-D case, with a column per output voxel:
//
//	y_n,g = W_g · col(x_n)_g + b → dW_g += dy_n,g·col_gᵀ, dx_n += col⁻¹(W_gᵀ·dy_n,g), db = Σ dy
//
// ConvTranspose3d is its adjoint (see ConvTranspose): col = W_gᵀ·x_g scattered
// into y, → dcol = col(dy), dx_g = W_g·dcol, dW_g += x_g·dcolᵀ.
//
// Pooling visits each window directly: max → dx[first argmax] += dy (NaN
// propagates, PyTorch's tie rule), average → dx[window] += dy/count
// (count_include_pad as given). 1-D and 2-D inputs keep their own kernels.

func registerVolumes[T Float](m map[string]opDef[T]) {
	for _, op := range []string{"Conv", "MaxPool", "AveragePool", "ConvTranspose"} {
		inner := m[op]
		m[op] = opDef[T]{check: check3D, plan: func(c *nodeCtx[T]) error {
			if x := c.input(0); x == nil || len(x.shape) != 5 {
				return inner.plan(c)
			}
			switch op {
			case "Conv":
				return planConv3D(c)
			case "ConvTranspose":
				return planConvTranspose3D(c)
			}
			return planPool3D(c, op == "MaxPool")
		}}
	}
}

// check3D is checkSpatial/checkPool with 3-D kernels allowed.
func check3D(n *ir.Node, _ int64) error {
	if k := n.Ints("kernel_shape", nil); len(k) > 3 {
		return fmt.Errorf("%d-D kernel", len(k))
	}
	if n.OpType == "MaxPool" && n.Int("storage_order", 0) != 0 && len(n.Outputs) > 1 && n.Outputs[1] != nil {
		return errors.New("storage_order=1 indices")
	}
	return nil
}

// vol is the geometry of a 3-D window operation.
type vol struct {
	g          [3]geom
	in, out, k int // voxels of the input plane, output plane, kernel
}

func newVol(gs []geom) vol {
	v := vol{in: 1, out: 1, k: 1}
	copy(v.g[:], gs)
	for _, g := range gs {
		v.in *= g.in
		v.out *= g.out
		v.k *= g.k
	}
	return v
}

// each calls f(o, i) for every output voxel o and kernel tap (t) whose
// input voxel i is inside the volume (i < 0: in the padding).
func (v *vol) each(f func(o, t, i int)) {
	gd, gh, gw := v.g[0], v.g[1], v.g[2]
	o := 0
	for od := 0; od < gd.out; od++ {
		for oh := 0; oh < gh.out; oh++ {
			for ow := 0; ow < gw.out; ow++ {
				t := 0
				for kd := 0; kd < gd.k; kd++ {
					id := od*gd.s - gd.pb + kd*gd.d
					for kh := 0; kh < gh.k; kh++ {
						ih := oh*gh.s - gh.pb + kh*gh.d
						for kw := 0; kw < gw.k; kw++ {
							iw := ow*gw.s - gw.pb + kw*gw.d
							i := -1
							if id >= 0 && id < gd.in && ih >= 0 && ih < gh.in && iw >= 0 && iw < gw.in {
								i = (id*gh.in+ih)*gw.in + iw
							}
							f(o, t, i)
							t++
						}
					}
				}
				o++
			}
		}
	}
}

func planConv3D[T Float](c *nodeCtx[T]) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	w, err := c.need(1, kFloat)
	if err != nil {
		return err
	}
	b := c.input(2)
	if len(w.shape) != 5 {
		return fmt.Errorf("weight %s does not match input %s", shapeStr(w.shape), shapeStr(x.shape))
	}
	N, C, M := x.shape[0], x.shape[1], w.shape[0]
	grp, err := convGroup(c.n, w)
	if err != nil {
		return err
	}
	if C%grp != 0 || M%grp != 0 || w.shape[1]*grp != C {
		return fmt.Errorf("group=%d does not fit input %s and weight %s", grp, shapeStr(x.shape), shapeStr(w.shape))
	}
	if b != nil && (b.kind != kFloat || b.size != M) {
		return fmt.Errorf("bias %s does not match %d output channels", shapeStr(b.shape), M)
	}
	gs, err := spatialGeom(c.n, x.shape[2:], w.shape[2:])
	if err != nil {
		return err
	}
	v := newVol(gs)
	outShape, err := c.inferred(0) // ir's (the geometry gs is the kernel's)
	if err != nil {
		return err
	}
	y := c.output(0, kFloat, outShape)
	cg, mg := C/grp, M/grp
	ck := cg * v.k // rows of one group's column matrix
	// the tap → input voxel table, shared by every channel and image
	src := make([]int32, v.out*v.k)
	v.each(func(o, t, i int) { src[t*v.out+o] = int32(i) })
	col := make([]T, C*v.k*v.out)
	var dcol []T
	im2col := func(xn []T) {
		for ch := 0; ch < C; ch++ {
			xc := xn[ch*v.in : (ch+1)*v.in]
			for t := 0; t < v.k; t++ {
				row := col[(ch*v.k+t)*v.out : (ch*v.k+t+1)*v.out]
				for o, i := range src[t*v.out : (t+1)*v.out] {
					if i >= 0 {
						row[o] = xc[i]
					} else {
						row[o] = 0
					}
				}
			}
		}
	}
	mm := c.e.mm
	c.fwd = func(*runCtx) error {
		for n := 0; n < N; n++ {
			im2col(x.f[n*C*v.in : (n+1)*C*v.in])
			yn := y.f[n*M*v.out : (n+1)*M*v.out]
			for g := 0; g < grp; g++ {
				mm.gemm(false, false, mg, v.out, ck, 1, w.f[g*mg*ck:], ck, col[g*ck*v.out:], v.out, 0, yn[g*mg*v.out:], v.out)
			}
			if b != nil {
				addPlaneBias(yn, b.f, M, v.out)
			}
		}
		return nil
	}
	c.bwd = func() {
		for n := 0; n < N; n++ {
			dy := y.g[n*M*v.out : (n+1)*M*v.out]
			if b != nil && b.g != nil {
				addPlaneSums(b.g, dy, M, v.out)
			}
			if w.g != nil {
				im2col(x.f[n*C*v.in : (n+1)*C*v.in])
				for g := 0; g < grp; g++ {
					mm.gemm(false, true, mg, ck, v.out, 1, dy[g*mg*v.out:], v.out, col[g*ck*v.out:], v.out, 1, w.g[g*mg*ck:], ck)
				}
			}
			if x.g == nil {
				continue
			}
			if dcol == nil {
				dcol = make([]T, len(col))
			}
			for g := 0; g < grp; g++ {
				mm.gemm(true, false, ck, v.out, mg, 1, w.f[g*mg*ck:], ck, dy[g*mg*v.out:], v.out, 0, dcol[g*ck*v.out:], v.out)
			}
			dx := x.g[n*C*v.in : (n+1)*C*v.in]
			for ch := 0; ch < C; ch++ {
				gx := dx[ch*v.in : (ch+1)*v.in]
				for t := 0; t < v.k; t++ {
					row := dcol[(ch*v.k+t)*v.out : (ch*v.k+t+1)*v.out]
					for o, i := range src[t*v.out : (t+1)*v.out] {
						if i >= 0 {
							gx[i] += row[o]
						}
					}
				}
			}
		}
	}
	return nil
}

func planPool3D[T Float](c *nodeCtx[T], isMax bool) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	ks := c.n.Ints("kernel_shape", nil)
	if len(ks) != 3 {
		return fmt.Errorf("kernel_shape %v does not match input %s", ks, shapeStr(x.shape))
	}
	if c.used(1) {
		return errors.New("the Indices output of a 3-D MaxPool is not supported")
	}
	gs, err := spatialGeom(c.n, x.shape[2:], dims(ks))
	if err != nil {
		return err
	}
	v := newVol(gs)
	outShape, err := c.inferred(0) // ir's (the geometry gs is the kernel's)
	if err != nil {
		return err
	}
	y := c.output(0, kFloat, outShape)
	for j := 1; j < len(c.out); j++ {
		c.output(j, kInt, y.shape).nograd = true
	}
	planes := x.shape[0] * x.shape[1]
	// taps[o] lists the input voxels of output o's window
	taps := make([][]int32, v.out)
	v.each(func(o, _, i int) {
		if i >= 0 {
			taps[o] = append(taps[o], int32(i))
		}
	})
	if isMax {
		arg := make([]int32, y.size)
		c.fwd = func(*runCtx) error {
			for p := 0; p < planes; p++ {
				xp := x.f[p*v.in : (p+1)*v.in]
				for o, ts := range taps {
					best, at := T(math.Inf(-1)), int32(-1)
					for _, i := range ts {
						if val := xp[i]; val > best || val != val || at < 0 {
							best, at = val, i
							if val != val {
								break
							}
						}
					}
					y.f[p*v.out+o], arg[p*v.out+o] = best, at
				}
			}
			return nil
		}
		c.bwd = func() {
			if x.g == nil {
				return
			}
			for p := 0; p < planes; p++ {
				for o := 0; o < v.out; o++ {
					if a := arg[p*v.out+o]; a >= 0 {
						x.g[p*v.in+int(a)] += y.g[p*v.out+o]
					}
				}
			}
		}
		return nil
	}
	includePad := c.n.Int("count_include_pad", 0) != 0
	div := make([]T, v.out)
	if includePad {
		// taps inside input or padding (not past the padded end, which ceil_mode can reach)
		v.each(func(o, t, _ int) {
			gd, gh, gw := v.g[0], v.g[1], v.g[2]
			od, oh, ow := o/(gh.out*gw.out), o/gw.out%gh.out, o%gw.out
			kd, kh, kw := t/(gh.k*gw.k), t/gw.k%gh.k, t%gw.k
			id, ih, iw := od*gd.s-gd.pb+kd*gd.d, oh*gh.s-gh.pb+kh*gh.d, ow*gw.s-gw.pb+kw*gw.d
			if id < gd.in+gd.pe && ih < gh.in+gh.pe && iw < gw.in+gw.pe {
				div[o]++
			}
		})
	} else {
		for o, ts := range taps {
			div[o] = T(len(ts))
		}
	}
	for o := range div {
		div[o] = max(div[o], 1)
	}
	c.fwd = func(*runCtx) error {
		for p := 0; p < planes; p++ {
			xp := x.f[p*v.in : (p+1)*v.in]
			for o, ts := range taps {
				var acc float64
				for _, i := range ts {
					acc += float64(xp[i])
				}
				y.f[p*v.out+o] = T(acc) / div[o]
			}
		}
		return nil
	}
	c.bwd = func() {
		if x.g == nil {
			return
		}
		for p := 0; p < planes; p++ {
			gx := x.g[p*v.in : (p+1)*v.in]
			for o, ts := range taps {
				d := y.g[p*v.out+o] / div[o]
				for _, i := range ts {
					gx[i] += d
				}
			}
		}
	}
	return nil
}

func planConvTranspose3D[T Float](c *nodeCtx[T]) error {
	x, err := c.need(0, kFloat)
	if err != nil {
		return err
	}
	w, err := c.need(1, kFloat)
	if err != nil {
		return err
	}
	b := c.input(2)
	if len(w.shape) != 5 {
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
	if b != nil && (b.kind != kFloat || b.size != M) {
		return fmt.Errorf("bias %s does not match %d output channels", shapeStr(b.shape), M)
	}
	gs, err := convTGeom(c.n, x.shape[2:], w.shape[2:])
	if err != nil {
		return err
	}
	// geometry of the Conv whose input is y and whose output is x
	v := newVol(gs)
	yIn, xOut := v.in, v.out
	outShape, err := c.inferred(0) // ir's (the geometry gs is the kernel's)
	if err != nil {
		return err
	}
	y := c.output(0, kFloat, outShape)
	cig := C / grp
	rows := cog * v.k
	src := make([]int32, xOut*v.k) // tap t, x voxel o → y voxel (−1: cropped by the pads)
	v.each(func(o, t, i int) { src[t*xOut+o] = int32(i) })
	col := make([]T, rows*xOut)
	mm := c.e.mm
	c.fwd = func(*runCtx) error {
		clear(y.f)
		for n := 0; n < N; n++ {
			xn := x.f[n*C*xOut : (n+1)*C*xOut]
			yn := y.f[n*M*yIn : (n+1)*M*yIn]
			for g := 0; g < grp; g++ {
				mm.gemm(true, false, rows, xOut, cig, 1, w.f[g*cig*rows:], rows, xn[g*cig*xOut:], xOut, 0, col, xOut)
				for co := 0; co < cog; co++ {
					yc := yn[(g*cog+co)*yIn : (g*cog+co+1)*yIn]
					for t := 0; t < v.k; t++ {
						row := col[(co*v.k+t)*xOut : (co*v.k+t+1)*xOut]
						for o, i := range src[t*xOut : (t+1)*xOut] {
							if i >= 0 {
								yc[i] += row[o]
							}
						}
					}
				}
			}
			if b != nil {
				addPlaneBias(yn, b.f, M, yIn)
			}
		}
		return nil
	}
	c.bwd = func() {
		for n := 0; n < N; n++ {
			dy := y.g[n*M*yIn : (n+1)*M*yIn]
			if b != nil && b.g != nil {
				addPlaneSums(b.g, dy, M, yIn)
			}
			if w.g == nil && x.g == nil {
				continue
			}
			xn := x.f[n*C*xOut : (n+1)*C*xOut]
			for g := 0; g < grp; g++ {
				for co := 0; co < cog; co++ {
					dc := dy[(g*cog+co)*yIn : (g*cog+co+1)*yIn]
					for t := 0; t < v.k; t++ {
						row := col[(co*v.k+t)*xOut : (co*v.k+t+1)*xOut]
						for o, i := range src[t*xOut : (t+1)*xOut] {
							if i >= 0 {
								row[o] = dc[i]
							} else {
								row[o] = 0
							}
						}
					}
				}
				if x.g != nil {
					mm.gemm(false, false, cig, xOut, rows, 1, w.f[g*cig*rows:], rows, col, xOut, 1, x.g[n*C*xOut+g*cig*xOut:], xOut)
				}
				if w.g != nil {
					mm.gemm(false, true, cig, rows, xOut, 1, xn[g*cig*xOut:], xOut, col, xOut, 1, w.g[g*cig*rows:], rows)
				}
			}
		}
	}
	return nil
}
