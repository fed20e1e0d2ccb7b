package exec

import (
	"fmt"
	"math"
)

// Reductions over a set of axes (bmap from the input to the kept shape):
//
//	Sum:       y = Σx       → dx = dy
//	Mean:      y = Σx/n     → dx = dy/n
//	Max/Min:   y = max x    → dx = dy/k at the k positions equal to y
//	SumSquare: y = Σx²      → dx = 2x·dy
//	L2:        y = √Σx²     → dx = dy·x/y
//	Prod:      y = Πx       → dx_i = dy·Π_{j≠i} x_j (exact with zeros: the
//	                           product of the non-zero values where x_i is the only zero)

type rop int

const (
	rSum rop = iota
	rMean
	rMax
	rMin
	rSumSquare
	rL2
	rProd
)

func registerReduce[T Float](m map[string]opDef[T]) {
	for name, op := range map[string]rop{"ReduceSum": rSum, "ReduceMean": rMean, "ReduceMax": rMax,
		"ReduceMin": rMin, "ReduceSumSquare": rSumSquare, "ReduceL2": rL2, "ReduceProd": rProd} {
		m[name] = opDef[T]{plan: func(c *nodeCtx[T]) error { return planReduce(c, op) }}
	}
}

func planReduce[T Float](c *nodeCtx[T], op rop) error {
	x := c.input(0)
	if x == nil {
		return errNoInput
	}
	r := len(x.shape)
	raw, given, err := c.axesArg(1)
	if err != nil {
		return err
	}
	keep := c.n.Int("keepdims", 1) != 0
	red := make([]bool, r)
	switch {
	case given && len(raw) > 0:
		axes, err := c.axes(raw, r)
		if err != nil {
			return err
		}
		for _, a := range axes {
			red[a] = true
		}
	case c.n.Int("noop_with_empty_axes", 0) != 0:
	default:
		for i := range red {
			red[i] = true
		}
	}
	kept := make([]int, r) // keepdims shape
	var out []int
	cnt := 1
	for i, d := range x.shape {
		if red[i] {
			kept[i] = 1
			cnt *= d
			if keep {
				out = append(out, 1)
			}
		} else {
			kept[i] = d
			out = append(out, d)
		}
	}
	m := newBmap(x.shape, kept)
	if x.kind != kFloat {
		if op != rSum && op != rMax && op != rMin && op != rProd {
			return fmt.Errorf("integer input %s is only supported by ReduceSum/Max/Min/Prod", x.name)
		}
		y := c.output(0, x.kind, out)
		c.fwd = func(*runCtx) error {
			for i := range y.i {
				switch op {
				case rMax:
					y.i[i] = math.MinInt64
				case rMin:
					y.i[i] = math.MaxInt64
				case rProd:
					y.i[i] = 1
				default:
					y.i[i] = 0
				}
			}
			for row := 0; row < m.rows; row++ {
				o := m.off[0][row]
				for t := 0; t < m.inner; t++ {
					v, j := x.i[row*m.inner+t], o+t*m.step[0]
					switch op {
					case rMax:
						y.i[j] = max(y.i[j], v)
					case rMin:
						y.i[j] = min(y.i[j], v)
					case rProd:
						y.i[j] *= v
					default:
						y.i[j] += v
					}
				}
			}
			return nil
		}
		return nil
	}
	y := c.output(0, kFloat, out)
	if x.size == 0 && (op == rMax || op == rMin) {
		return fmt.Errorf("cannot take the maximum/minimum of an empty tensor %s", shapeStr(x.shape))
	}
	acc := make([]float64, y.size)
	ties := make([]float64, y.size)
	visit := func(f func(xi, yi int)) {
		for row := 0; row < m.rows; row++ {
			o := m.off[0][row]
			for t := 0; t < m.inner; t++ {
				f(row*m.inner+t, o+t*m.step[0])
			}
		}
	}
	c.fwd = func(*runCtx) error {
		switch op {
		case rMax:
			for i := range acc {
				acc[i] = math.Inf(-1)
			}
			visit(func(xi, yi int) {
				if v := float64(x.f[xi]); v > acc[yi] || v != v {
					acc[yi] = v
				}
			})
		case rMin:
			for i := range acc {
				acc[i] = math.Inf(1)
			}
			visit(func(xi, yi int) {
				if v := float64(x.f[xi]); v < acc[yi] || v != v {
					acc[yi] = v
				}
			})
		case rSumSquare, rL2:
			clear(acc)
			visit(func(xi, yi int) { v := float64(x.f[xi]); acc[yi] += v * v })
		case rProd:
			for i := range acc {
				acc[i] = 1
			}
			visit(func(xi, yi int) { acc[yi] *= float64(x.f[xi]) })
		default:
			clear(acc)
			visit(func(xi, yi int) { acc[yi] += float64(x.f[xi]) })
		}
		for i, v := range acc {
			switch op {
			case rMean:
				v /= float64(cnt)
			case rL2:
				v = math.Sqrt(v)
			}
			y.f[i] = T(v)
		}
		return nil
	}
	c.bwd = func() {
		if x.g == nil {
			return
		}
		switch op {
		case rSum, rMean:
			s := T(1)
			if op == rMean {
				s = 1 / T(cnt)
			}
			visit(func(xi, yi int) { x.g[xi] += y.g[yi] * s })
		case rSumSquare:
			visit(func(xi, yi int) { x.g[xi] += 2 * x.f[xi] * y.g[yi] })
		case rL2:
			visit(func(xi, yi int) {
				if y.f[yi] != 0 {
					x.g[xi] += y.g[yi] * x.f[xi] / y.f[yi]
				}
			})
		case rProd:
			// ties counts the zeros, acc becomes the product of the non-zeros
			clear(ties)
			for i := range acc {
				acc[i] = 1
			}
			visit(func(xi, yi int) {
				if v := float64(x.f[xi]); v == 0 {
					ties[yi]++
				} else {
					acc[yi] *= v
				}
			})
			visit(func(xi, yi int) {
				v := float64(x.f[xi])
				switch {
				case ties[yi] == 0:
					x.g[xi] += y.g[yi] * T(acc[yi]/v)
				case ties[yi] == 1 && v == 0:
					x.g[xi] += y.g[yi] * T(acc[yi])
				}
			})
		case rMax, rMin:
			clear(ties)
			visit(func(xi, yi int) {
				if x.f[xi] == y.f[yi] {
					ties[yi]++
				}
			})
			visit(func(xi, yi int) {
				if x.f[xi] == y.f[yi] {
					x.g[xi] += y.g[yi] / T(ties[yi])
				}
			})
		}
	}
	return nil
}
