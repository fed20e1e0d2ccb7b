package exec

import (
	"errors"
	"fmt"
	"math"
)

// Elementwise binary ops with numpy broadcasting (bmap). The gradient of a
// broadcast input is the output gradient summed over the broadcast axes.

type bop int

const (
	bAdd bop = iota // y = a+b → da = dy, db = dy
	bSub            // y = a−b → da = dy, db = −dy
	bMul            // y = a·b → da = dy·b, db = dy·a
	bDiv            // y = a/b → da = dy/b, db = −dy·y/b
	bPow            // y = aᵇ  → da = dy·b·aᵇ⁻¹, db = dy·y·ln a
	bMax            // y = max(a,b) → the larger input gets dy (a on ties)
	bMin            // y = min(a,b) → the smaller input gets dy (a on ties)
	// comparisons and logic: no gradient
	bEqual
	bLess
	bLessEq
	bGreater
	bGreaterEq
	bAnd
	bOr
	bXor
)

var binaryOps = map[string]bop{
	"Add": bAdd, "Sub": bSub, "Mul": bMul, "Div": bDiv, "Pow": bPow, "Max": bMax, "Min": bMin,
	"Equal": bEqual, "Less": bLess, "LessOrEqual": bLessEq, "Greater": bGreater,
	"GreaterOrEqual": bGreaterEq, "And": bAnd, "Or": bOr, "Xor": bXor,
}

func registerBinary[T Float](m map[string]opDef[T]) {
	for name, op := range binaryOps {
		m[name] = opDef[T]{plan: func(c *nodeCtx[T]) error { return planBinary(c, op) }}
	}
	m["Where"] = opDef[T]{plan: planWhere[T]}
	m["Not"] = opDef[T]{plan: planNot[T]}
}

func planBinary[T Float](c *nodeCtx[T], op bop) error {
	a, b := c.input(0), c.input(1)
	if a == nil || b == nil {
		if (op == bMax || op == bMin) && a != nil && len(c.in) == 1 {
			return planCopy(c, a)
		}
		return errors.New("needs two inputs")
	}
	if len(c.in) > 2 {
		return fmt.Errorf("%d inputs; only the two-input form is supported", len(c.in))
	}
	if op == bPow && a.kind == kFloat && b.kind != kFloat && b.static {
		// an integer exponent (allowed by ONNX) as a float constant
		f := &tensor[T]{name: b.name, kind: kFloat, shape: b.shape, size: b.size, f: make([]T, b.size), static: true}
		for i, v := range b.i {
			f.f[i] = T(v)
		}
		b = f
	}
	if (a.kind == kFloat) != (b.kind == kFloat) {
		return fmt.Errorf("inputs have element types %s and %s", a.kind, b.kind)
	}
	shape, err := c.inferred(0) // numpy broadcasting
	if err != nil {
		return err
	}
	m := newBmap(shape, a.shape, b.shape)
	if op >= bEqual {
		y := c.output(0, kBool, shape)
		c.fwd = func(*runCtx) error { compareFwd(op, m, a, b, y); return nil }
		return nil
	}
	if a.kind != kFloat {
		y := c.output(0, kInt, shape)
		c.fwd = func(*runCtx) error { return intBinary(op, m, a.i, b.i, y.i) }
		return nil
	}
	y := c.output(0, kFloat, shape)
	fwd := func(lo, hi int) { binFwd(op, m, lo, hi, a.f, b.f, y.f) }
	c.fwd = func(*runCtx) error { c.par(m.n, fwd); return nil }
	bwdA := func(lo, hi int) { binBwd(op, 0, m, lo, hi, a, b, y) }
	bwdB := func(lo, hi int) { binBwd(op, 1, m, lo, hi, a, b, y) }
	c.bwd = func() {
		// an input that is not broadcast is written by disjoint pieces
		for j, f := range []func(int, int){bwdA, bwdB} {
			t := []*tensor[T]{a, b}[j]
			if t.g == nil {
				continue
			}
			if t.size == m.n {
				c.par(m.n, f)
			} else {
				f(0, m.n)
			}
		}
	}
	return nil
}

// rows visits the part [lo, hi) of the output element range row by row:
// f(r, t0, t1) for the elements t0..t1 of row r.
func (m *bmap) rowsIn(lo, hi int, f func(r, t0, t1 int)) {
	if m.inner == 0 {
		return
	}
	for r := lo / m.inner; r*m.inner < hi; r++ {
		t0 := max(lo-r*m.inner, 0)
		t1 := min(hi-r*m.inner, m.inner)
		f(r, t0, t1)
	}
}

func binFwd[T Float](op bop, m *bmap, lo, hi int, a, b, y []T) {
	sa, sb := m.step[0], m.step[1]
	m.rowsIn(lo, hi, func(r, t0, t1 int) {
		oa, ob := m.off[0][r]+t0*sa, m.off[1][r]+t0*sb
		yy := y[r*m.inner+t0 : r*m.inner+t1]
		n := len(yy)
		switch {
		case sa == 1 && sb == 1 || n == 1 && sa == 0 && sb == 0:
			binVV(op, yy, a[oa:oa+n], b[ob:ob+n])
		case sa == 0:
			binSV(op, yy, a[oa], b[ob:ob+n])
		default:
			binVS(op, yy, a[oa:oa+n], b[ob])
		}
	})
}

func pow[T Float](a, b T) T {
	if b == 2 {
		return a * a
	}
	return T(math.Pow(float64(a), float64(b)))
}

func binVV[T Float](op bop, y, a, b []T) {
	a, b = a[:len(y)], b[:len(y)]
	switch op {
	case bAdd:
		for i := range y {
			y[i] = a[i] + b[i]
		}
	case bSub:
		for i := range y {
			y[i] = a[i] - b[i]
		}
	case bMul:
		for i := range y {
			y[i] = a[i] * b[i]
		}
	case bDiv:
		for i := range y {
			y[i] = a[i] / b[i]
		}
	case bPow:
		for i := range y {
			y[i] = pow(a[i], b[i])
		}
	case bMax:
		for i := range y {
			y[i] = fmax(a[i], b[i])
		}
	case bMin:
		for i := range y {
			y[i] = fmin(a[i], b[i])
		}
	}
}

func binSV[T Float](op bop, y []T, a T, b []T) {
	b = b[:len(y)]
	switch op {
	case bAdd:
		for i := range y {
			y[i] = a + b[i]
		}
	case bSub:
		for i := range y {
			y[i] = a - b[i]
		}
	case bMul:
		for i := range y {
			y[i] = a * b[i]
		}
	case bDiv:
		for i := range y {
			y[i] = a / b[i]
		}
	case bPow:
		for i := range y {
			y[i] = pow(a, b[i])
		}
	case bMax:
		for i := range y {
			y[i] = fmax(a, b[i])
		}
	case bMin:
		for i := range y {
			y[i] = fmin(a, b[i])
		}
	}
}

func binVS[T Float](op bop, y, a []T, b T) {
	a = a[:len(y)]
	switch op {
	case bAdd:
		for i := range y {
			y[i] = a[i] + b
		}
	case bSub:
		for i := range y {
			y[i] = a[i] - b
		}
	case bMul:
		for i := range y {
			y[i] = a[i] * b
		}
	case bDiv:
		for i := range y {
			y[i] = a[i] / b
		}
	case bPow:
		for i := range y {
			y[i] = pow(a[i], b)
		}
	case bMax:
		for i := range y {
			y[i] = fmax(a[i], b)
		}
	case bMin:
		for i := range y {
			y[i] = fmin(a[i], b)
		}
	}
}

// fmax/fmin propagate NaN like PyTorch's maximum/minimum.
func fmax[T Float](a, b T) T {
	if a != a || a >= b {
		return a
	}
	return b
}

func fmin[T Float](a, b T) T {
	if a != a || a <= b {
		return a
	}
	return b
}

// binBwd accumulates the gradient of input j over the output range [lo, hi).
func binBwd[T Float](op bop, j int, m *bmap, lo, hi int, a, b, y *tensor[T]) {
	sa, sb := m.step[0], m.step[1]
	g := a.g
	sg := sa
	if j == 1 {
		g, sg = b.g, sb
	}
	m.rowsIn(lo, hi, func(r, t0, t1 int) {
		oa, ob := m.off[0][r]+t0*sa, m.off[1][r]+t0*sb
		og := oa
		if j == 1 {
			og = ob
		}
		base := r*m.inner + t0
		dy := y.g[base : base+t1-t0]
		yv := y.f[base : base+t1-t0]
		// fast paths: no per-element switch for the common ops
		switch {
		case op == bAdd || op == bSub:
			neg := op == bSub && j == 1
			if sg == 1 {
				gg := g[og : og+len(dy)]
				if neg {
					for t, d := range dy {
						gg[t] -= d
					}
				} else {
					for t, d := range dy {
						gg[t] += d
					}
				}
			} else {
				var acc float64
				for _, d := range dy {
					acc += float64(d)
				}
				if neg {
					acc = -acc
				}
				g[og] += T(acc)
			}
			return
		case op == bMul:
			other, so, oo := b.f, sb, ob
			if j == 1 {
				other, so, oo = a.f, sa, oa
			}
			switch {
			case sg == 1 && so == 1:
				gg, ov := g[og:og+len(dy)], other[oo:oo+len(dy)]
				for t, d := range dy {
					gg[t] += d * ov[t]
				}
			case sg == 1:
				gg, v := g[og:og+len(dy)], other[oo]
				for t, d := range dy {
					gg[t] += d * v
				}
			default:
				var acc float64
				for t, d := range dy {
					acc += float64(d * other[oo+t*so])
				}
				g[og] += T(acc)
			}
			return
		}
		var acc float64 // a broadcast input sums the row
		for t := range dy {
			av, bv := a.f[oa+t*sa], b.f[ob+t*sb]
			var d T
			switch op { // Add, Sub and Mul took the fast paths above
			case bDiv:
				if j == 0 {
					d = dy[t] / bv
				} else {
					d = -dy[t] * yv[t] / bv
				}
			case bPow:
				if j == 0 {
					if bv == 2 {
						d = dy[t] * 2 * av
					} else if bv != 0 {
						d = dy[t] * bv * T(math.Pow(float64(av), float64(bv-1)))
					}
				} else if av > 0 {
					d = dy[t] * yv[t] * T(math.Log(float64(av)))
				} else if av == 0 && bv >= 0 {
					d = 0 // PyTorch: no gradient flows to the exponent where the base is 0
				} else {
					d = dy[t] * yv[t] * T(math.Log(float64(av)))
				}
			case bMax:
				first := av != av || av >= bv
				if first == (j == 0) {
					d = dy[t]
				}
			case bMin:
				first := av != av || av <= bv
				if first == (j == 0) {
					d = dy[t]
				}
			}
			if sg == 1 {
				g[og+t] += d
			} else {
				acc += float64(d)
			}
		}
		if sg == 0 {
			g[og] += T(acc)
		}
	})
}

func intBinary(op bop, m *bmap, a, b, y []int64) error {
	sa, sb := m.step[0], m.step[1]
	for r := 0; r < m.rows; r++ {
		oa, ob := m.off[0][r], m.off[1][r]
		for t := 0; t < m.inner; t++ {
			x, z := a[oa+t*sa], b[ob+t*sb]
			var v int64
			switch op {
			case bAdd:
				v = x + z
			case bSub:
				v = x - z
			case bMul:
				v = x * z
			case bDiv:
				if z == 0 {
					return errors.New("integer division by zero")
				}
				v = x / z // truncation toward zero, as C and ONNX Runtime
			case bPow:
				v = int64(math.Pow(float64(x), float64(z)))
			case bMax:
				v = max(x, z)
			case bMin:
				v = min(x, z)
			}
			y[r*m.inner+t] = v
		}
	}
	return nil
}

func compareFwd[T Float](op bop, m *bmap, a, b, y *tensor[T]) {
	sa, sb := m.step[0], m.step[1]
	for r := 0; r < m.rows; r++ {
		oa, ob := m.off[0][r], m.off[1][r]
		for t := 0; t < m.inner; t++ {
			var x, z float64
			if a.kind == kFloat {
				x, z = float64(a.f[oa+t*sa]), float64(b.f[ob+t*sb])
			} else {
				x, z = float64(a.i[oa+t*sa]), float64(b.i[ob+t*sb])
			}
			var v bool
			switch op {
			case bEqual:
				v = x == z
				if a.kind != kFloat {
					v = a.i[oa+t*sa] == b.i[ob+t*sb]
				}
			case bLess:
				v = x < z
			case bLessEq:
				v = x <= z
			case bGreater:
				v = x > z
			case bGreaterEq:
				v = x >= z
			case bAnd:
				v = x != 0 && z != 0
			case bOr:
				v = x != 0 || z != 0
			case bXor:
				v = (x != 0) != (z != 0)
			}
			if v {
				y.i[r*m.inner+t] = 1
			} else {
				y.i[r*m.inner+t] = 0
			}
		}
	}
}

func planNot[T Float](c *nodeCtx[T]) error {
	x, err := c.need(0, kBool, kInt)
	if err != nil {
		return err
	}
	y := c.output(0, kBool, x.shape)
	c.fwd = func(*runCtx) error {
		for i, v := range x.i {
			if v == 0 {
				y.i[i] = 1
			} else {
				y.i[i] = 0
			}
		}
		return nil
	}
	return nil
}

// Where: y = cond ? x : z → dx = dy·[cond], dz = dy·[¬cond].
func planWhere[T Float](c *nodeCtx[T]) error {
	cond, err := c.need(0, kBool, kInt)
	if err != nil {
		return err
	}
	x, z := c.input(1), c.input(2)
	if x == nil || z == nil {
		return errors.New("needs three inputs")
	}
	if (x.kind == kFloat) != (z.kind == kFloat) {
		return fmt.Errorf("inputs have element types %s and %s", x.kind, z.kind)
	}
	shape, err := c.inferred(0) // numpy broadcasting
	if err != nil {
		return err
	}
	m := newBmap(shape, cond.shape, x.shape, z.shape)
	y := c.output(0, x.kind, shape)
	each := func(f func(o, oc, ox, oz int)) {
		for r := 0; r < m.rows; r++ {
			for t := 0; t < m.inner; t++ {
				f(r*m.inner+t, m.off[0][r]+t*m.step[0], m.off[1][r]+t*m.step[1], m.off[2][r]+t*m.step[2])
			}
		}
	}
	fwdF := func(o, oc, ox, oz int) {
		if cond.i[oc] != 0 {
			y.f[o] = x.f[ox]
		} else {
			y.f[o] = z.f[oz]
		}
	}
	fwdI := func(o, oc, ox, oz int) {
		if cond.i[oc] != 0 {
			y.i[o] = x.i[ox]
		} else {
			y.i[o] = z.i[oz]
		}
	}
	c.fwd = func(*runCtx) error {
		if y.kind == kFloat {
			each(fwdF)
		} else {
			each(fwdI)
		}
		return nil
	}
	bwdF := func(o, oc, ox, oz int) {
		if cond.i[oc] != 0 {
			if x.g != nil {
				x.g[ox] += y.g[o]
			}
		} else if z.g != nil {
			z.g[oz] += y.g[o]
		}
	}
	c.bwd = func() { each(bwdF) }
	return nil
}

// planCopy makes output 0 a copy of t (single-input Max/Min/Sum).
func planCopy[T Float](c *nodeCtx[T], t *tensor[T]) error {
	y := c.output(0, t.kind, t.shape)
	c.fwd = func(*runCtx) error {
		copy(y.f, t.f)
		copy(y.i, t.i)
		return nil
	}
	c.bwd = func() {
		if t.g != nil {
			for i, g := range y.g {
				t.g[i] += g
			}
		}
	}
	return nil
}
