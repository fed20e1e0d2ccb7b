package exec

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nnkit/nnkit/ir"
)

// TopK and ScatterElements: what PyTorch's packed sequences export to
// (pack_padded_sequence(enforce_sorted=False) sorts the lengths with TopK
// and inverts the permutation with ScatterElements).
//
// TopK along an axis: the k largest (largest=1) or smallest values, sorted,
// ties in index order; Indices as int64. → dX[indices] += dValues.
//
// ScatterElements: y = data, then for every position p of indices,
// y[p with p[axis] := indices[p]] = updates[p] (or += with reduction add).
// → none: ddata = dy with the written elements zeroed, dupdates[p] = dy[target(p)];
//   add:  ddata = dy, dupdates[p] = dy[target(p)].

func registerTopK[T Float](m map[string]opDef[T]) {
	m["TopK"] = opDef[T]{plan: planTopK[T]}
	m["ScatterElements"] = opDef[T]{plan: planScatterElements[T], check: checkScatterND}
}

func planTopK[T Float](c *nodeCtx[T]) error {
	x := c.input(0)
	if x == nil || x.kind == kBool {
		return errors.New("input 0 must be a numeric tensor")
	}
	if c.opset >= 10 {
		kv, err := c.ints(1, "K") // known before running
		if err != nil {
			return err
		}
		if len(kv) != 1 {
			return fmt.Errorf("K has %d values, want 1", len(kv))
		}
	}
	outShape, err := c.inferred(0) // x's shape with K along axis
	if err != nil {
		return err
	}
	ax, err := ir.NormAxis(c.n.Int("axis", -1), len(x.shape))
	if err != nil {
		return err
	}
	L, K := x.shape[ax], outShape[ax]
	largest := c.n.Int("largest", 1) != 0
	vals := c.output(0, x.kind, outShape)
	idx := c.output(1, kInt, outShape)
	idx.nograd = true
	outer, inner := numel(x.shape[:ax]), numel(x.shape[ax+1:])
	order := make([]int, L)
	c.fwd = func(*runCtx) error {
		for o := 0; o < outer; o++ {
			for in := 0; in < inner; in++ {
				at := func(i int) float64 {
					p := (o*L+i)*inner + in
					if x.kind == kFloat {
						return float64(x.f[p])
					}
					return float64(x.i[p])
				}
				for i := range order {
					order[i] = i
				}
				slices.SortStableFunc(order, func(a, b int) int {
					va, vb := at(a), at(b)
					switch {
					case va == vb:
						return 0
					case (va > vb) == largest:
						return -1
					}
					return 1
				})
				for j := 0; j < K; j++ {
					q, p := (o*K+j)*inner+in, (o*L+order[j])*inner+in
					idx.i[q] = int64(order[j])
					if x.kind == kFloat {
						vals.f[q] = x.f[p]
					} else {
						vals.i[q] = x.i[p]
					}
				}
			}
		}
		return nil
	}
	if x.kind == kFloat {
		c.bwd = func() {
			if x.g == nil {
				return
			}
			for o := 0; o < outer; o++ {
				for j := 0; j < K; j++ {
					for in := 0; in < inner; in++ {
						q := (o*K+j)*inner + in
						x.g[(o*L+int(idx.i[q]))*inner+in] += vals.g[q]
					}
				}
			}
		}
	}
	return nil
}

func planScatterElements[T Float](c *nodeCtx[T]) error {
	data := c.input(0)
	if data == nil {
		return errNoInput
	}
	ind, err := c.need(1, kInt)
	if err != nil {
		return err
	}
	upd := c.input(2)
	if upd == nil || upd.kind != data.kind {
		return errors.New("updates (input 2) must be present and of the data's element type")
	}
	out, err := c.inferred(0) // data's; ir checks that indices and updates fit it
	if err != nil {
		return err
	}
	r := len(data.shape)
	ax, err := ir.NormAxis(c.n.Int("axis", 0), r)
	if err != nil {
		return err
	}
	accumulate := c.n.String("reduction", "none") == "add"
	dst := stridesOf(data.shape)
	ist := stridesOf(ind.shape)
	targets := make([]int, ind.size)
	resolve := func() error {
		for p := range targets {
			off, rem := 0, p
			for d := 0; d < r; d++ {
				coord := rem / ist[d]
				rem %= ist[d]
				if d == ax {
					v := ind.i[p]
					n := int64(data.shape[ax])
					if v < -n || v >= n {
						return fmt.Errorf("index %d is out of range for axis %d of data %s", v, ax, shapeStr(data.shape))
					}
					if v < 0 {
						v += n
					}
					coord = int(v)
				}
				off += coord * dst[d]
			}
			targets[p] = off
		}
		return nil
	}
	y := c.output(0, data.kind, out)
	c.fwd = func(*runCtx) error {
		if err := resolve(); err != nil {
			return err
		}
		if data.kind != kFloat {
			copy(y.i, data.i)
			for p, o := range targets {
				if accumulate {
					y.i[o] += upd.i[p]
				} else {
					y.i[o] = upd.i[p]
				}
			}
			return nil
		}
		copy(y.f, data.f)
		for p, o := range targets {
			if accumulate {
				y.f[o] += upd.f[p]
			} else {
				y.f[o] = upd.f[p]
			}
		}
		return nil
	}
	if data.kind != kFloat {
		return nil
	}
	var written []bool
	c.bwd = func() {
		if upd.g != nil {
			for p, o := range targets {
				upd.g[p] += y.g[o]
			}
		}
		if data.g == nil {
			return
		}
		if accumulate {
			add(data.g, y.g)
			return
		}
		if written == nil {
			written = make([]bool, data.size)
		}
		clear(written)
		for _, o := range targets {
			written[o] = true
		}
		for i, d := range y.g {
			if !written[i] {
				data.g[i] += d
			}
		}
	}
	return nil
}
