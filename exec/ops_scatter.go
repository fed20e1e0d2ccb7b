package exec

import (
	"errors"
	"fmt"
	"math"

	"github.com/nnkit/nnkit/ir"
)

// Mod and ScatterND: what Swin Transformer's shifted windows export to
// (window index arithmetic and the attention mask).
//
// Mod, with broadcasting: fmod=0 (default) is the remainder with the sign
// of the divisor (Python's %, torch.remainder), fmod=1 the one with the
// sign of the dividend (C's fmod, torch.fmod). For floats y = a − b·q with
// q = ⌊a/b⌋ (fmod 0) or trunc(a/b) (fmod 1) → da = dy, db = −q·dy
// (PyTorch's derivative; q is piecewise constant).
//
// ScatterND: y = data, then y[indices[j]] = updates[j] (reduction "none")
// or += (reduction "add") for every index tuple j, in order.
// → none: ddata = dy with the written slices zeroed, dupdates[j] = dy[indices[j]];
//   add:  ddata = dy, dupdates[j] = dy[indices[j]].

func registerScatter[T Float](m map[string]opDef[T]) {
	m["Mod"] = opDef[T]{plan: planMod[T]}
	m["ScatterND"] = opDef[T]{plan: planScatterND[T], check: checkScatterND}
}

func planMod[T Float](c *nodeCtx[T]) error {
	a, b := c.input(0), c.input(1)
	if a == nil || b == nil {
		return errors.New("needs two inputs")
	}
	if (a.kind == kFloat) != (b.kind == kFloat) || a.kind == kBool || b.kind == kBool {
		return fmt.Errorf("inputs have element types %s and %s", a.kind, b.kind)
	}
	shape, err := c.inferred(0) // numpy broadcasting
	if err != nil {
		return err
	}
	m := newBmap(shape, a.shape, b.shape)
	trunc := c.n.Int("fmod", 0) != 0
	each := func(f func(i, ia, ib int)) {
		sa, sb := m.step[0], m.step[1]
		for r := 0; r < m.rows; r++ {
			oa, ob := m.off[0][r], m.off[1][r]
			for t := 0; t < m.inner; t++ {
				f(r*m.inner+t, oa+t*sa, ob+t*sb)
			}
		}
	}
	if a.kind != kFloat {
		y := c.output(0, kInt, shape)
		c.fwd = func(*runCtx) error {
			var bad error
			each(func(i, ia, ib int) {
				x, z := a.i[ia], b.i[ib]
				if z == 0 {
					bad = errors.New("integer modulo by zero")
					return
				}
				v := x % z // sign of the dividend
				if !trunc && v != 0 && (v < 0) != (z < 0) {
					v += z
				}
				y.i[i] = v
			})
			return bad
		}
		return nil
	}
	y := c.output(0, kFloat, shape)
	quot := func(x, z T) float64 {
		q := float64(x) / float64(z)
		if trunc {
			return math.Trunc(q)
		}
		return math.Floor(q)
	}
	c.fwd = func(*runCtx) error {
		each(func(i, ia, ib int) {
			x, z := float64(a.f[ia]), float64(b.f[ib])
			v := math.Mod(x, z) // sign of the dividend
			if !trunc && v != 0 && (v < 0) != (z < 0) {
				v += z
			}
			y.f[i] = T(v)
		})
		return nil
	}
	c.bwd = func() {
		each(func(i, ia, ib int) {
			d := y.g[i]
			if a.g != nil {
				a.g[ia] += d
			}
			if b.g != nil {
				b.g[ib] -= T(quot(a.f[ia], b.f[ib])) * d
			}
		})
	}
	return nil
}

func checkScatterND(n *ir.Node, _ int64) error {
	switch r := n.String("reduction", "none"); r {
	case "none", "add":
	default:
		return fmt.Errorf("reduction=%q", r)
	}
	return nil
}

func planScatterND[T Float](c *nodeCtx[T]) error {
	data := c.input(0)
	if data == nil {
		return errNoInput
	}
	idx, err := c.need(1, kInt)
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
	q := len(idx.shape)
	k := idx.shape[q-1] // the tuples' length, in [1, rank]
	accumulate := c.n.String("reduction", "none") == "add"
	slice := numel(data.shape[k:])
	tuples := numel(idx.shape[:q-1])
	st := stridesOf(data.shape)
	offs := make([]int, tuples) // element offset of each tuple's slice in data
	resolve := func() error {
		for j := 0; j < tuples; j++ {
			o := 0
			for d := 0; d < k; d++ {
				v := idx.i[j*k+d]
				n := int64(data.shape[d])
				if v < -n || v >= n {
					return fmt.Errorf("index %d on axis %d is out of range for data %s", v, d, shapeStr(data.shape))
				}
				if v < 0 {
					v += n
				}
				o += int(v) * st[d]
			}
			offs[j] = o
		}
		return nil
	}
	if data.kind != kFloat {
		y := c.output(0, data.kind, out)
		c.fwd = func(*runCtx) error {
			if err := resolve(); err != nil {
				return err
			}
			copy(y.i, data.i)
			for j, o := range offs {
				dst, src := y.i[o:o+slice], upd.i[j*slice:(j+1)*slice]
				if accumulate {
					for t, v := range src {
						dst[t] += v
					}
				} else {
					copy(dst, src)
				}
			}
			return nil
		}
		return nil
	}
	y := c.output(0, kFloat, out)
	c.fwd = func(*runCtx) error {
		if err := resolve(); err != nil {
			return err
		}
		copy(y.f, data.f)
		for j, o := range offs {
			dst, src := y.f[o:o+slice], upd.f[j*slice:(j+1)*slice]
			if accumulate {
				add(dst, src)
			} else {
				copy(dst, src)
			}
		}
		return nil
	}
	var written []bool
	c.bwd = func() {
		if upd.g != nil {
			for j, o := range offs {
				add(upd.g[j*slice:(j+1)*slice], y.g[o:o+slice])
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
		for _, o := range offs {
			for t := o; t < o+slice; t++ {
				written[t] = true
			}
		}
		for i, d := range y.g {
			if !written[i] {
				data.g[i] += d
			}
		}
	}
	return nil
}
