package exec

import (
	"fmt"
	"math"

	"github.com/nnkit/nnkit/ir"
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
	raw, given, err := c.axesArg(1)
	if err != nil {
		return err
	}
	red, err := ir.ReducedAxes(c.n, len(x.shape), raw, given)
	if err != nil {
		return err
	}
	out, err := c.inferred(0) // keepdims applied
	if err != nil {
		return err
	}
	kept, cnt := reduceShapes(x.shape, red)
	m := newBmap(x.shape, kept)
	if x.kind != kFloat {
		if op != rSum && op != rMax && op != rMin && op != rProd {
			return fmt.Errorf("integer input %s is only supported by ReduceSum/Max/Min/Prod", x.name)
		}
		y := c.output(0, x.kind, out)
		c.fwd = func(*runCtx) error { reduceInts(op, m, x.i, y.i); return nil }
		return nil
	}
	y := c.output(0, kFloat, out)
	if x.size == 0 && (op == rMax || op == rMin) {
		return fmt.Errorf("cannot take the maximum/minimum of an empty tensor %s", shapeStr(x.shape))
	}
	k := &reduce[T]{op: op, x: x, y: y, m: m, cnt: cnt, acc: make([]float64, y.size), ties: make([]float64, y.size)}
	c.fwd = k.forward
	c.bwd = k.backward
	return nil
}

// reduceShapes returns the shape with the reduced axes kept as 1 (kept)
// and the number of input values reduced into each output value (cnt).
func reduceShapes(shape []int, red []bool) (kept []int, cnt int) {
	kept = make([]int, len(shape))
	cnt = 1
	for i, d := range shape {
		if red[i] {
			kept[i] = 1
			cnt *= d
		} else {
			kept[i] = d
		}
	}
	return kept, cnt
}

// reduceInts is the integer reductions' forward (Sum, Max, Min, Prod;
// integers have no gradient).
func reduceInts(op rop, m *bmap, x, y []int64) {
	for i := range y {
		switch op {
		case rMax:
			y[i] = math.MinInt64
		case rMin:
			y[i] = math.MaxInt64
		case rProd:
			y[i] = 1
		default:
			y[i] = 0
		}
	}
	for row := 0; row < m.rows; row++ {
		o := m.off[0][row]
		for t := 0; t < m.inner; t++ {
			v, j := x[row*m.inner+t], o+t*m.step[0]
			switch op {
			case rMax:
				y[j] = max(y[j], v)
			case rMin:
				y[j] = min(y[j], v)
			case rProd:
				y[j] *= v
			default:
				y[j] += v
			}
		}
	}
}

// reduce is a floating-point reduction's kernel, accumulating in float64.
type reduce[T Float] struct {
	op   rop
	x, y *tensor[T]
	m    *bmap // from x to the kept shape
	cnt  int   // values per output value
	acc  []float64
	ties []float64 // backward: how many values tie for the maximum/minimum, or are 0 (Prod)
}

// visit calls f with every input index and the output index it reduces into.
func (k *reduce[T]) visit(f func(xi, yi int)) {
	m := k.m
	for row := 0; row < m.rows; row++ {
		o := m.off[0][row]
		for t := 0; t < m.inner; t++ {
			f(row*m.inner+t, o+t*m.step[0])
		}
	}
}

func (k *reduce[T]) forward(*runCtx) error {
	x, acc := k.x, k.acc
	switch k.op {
	case rMax:
		for i := range acc {
			acc[i] = math.Inf(-1)
		}
		k.visit(func(xi, yi int) {
			if v := float64(x.f[xi]); v > acc[yi] || v != v {
				acc[yi] = v
			}
		})
	case rMin:
		for i := range acc {
			acc[i] = math.Inf(1)
		}
		k.visit(func(xi, yi int) {
			if v := float64(x.f[xi]); v < acc[yi] || v != v {
				acc[yi] = v
			}
		})
	case rSumSquare, rL2:
		clear(acc)
		k.visit(func(xi, yi int) { v := float64(x.f[xi]); acc[yi] += v * v })
	case rProd:
		for i := range acc {
			acc[i] = 1
		}
		k.visit(func(xi, yi int) { acc[yi] *= float64(x.f[xi]) })
	default:
		clear(acc)
		k.visit(func(xi, yi int) { acc[yi] += float64(x.f[xi]) })
	}
	for i, v := range acc {
		switch k.op {
		case rMean:
			v /= float64(k.cnt)
		case rL2:
			v = math.Sqrt(v)
		}
		k.y.f[i] = T(v)
	}
	return nil
}

func (k *reduce[T]) backward() {
	x, y, acc, ties := k.x, k.y, k.acc, k.ties
	if x.g == nil {
		return
	}
	switch k.op {
	case rSum, rMean:
		s := T(1)
		if k.op == rMean {
			s = 1 / T(k.cnt)
		}
		k.visit(func(xi, yi int) { x.g[xi] += y.g[yi] * s })
	case rSumSquare:
		k.visit(func(xi, yi int) { x.g[xi] += 2 * x.f[xi] * y.g[yi] })
	case rL2:
		k.visit(func(xi, yi int) {
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
		k.visit(func(xi, yi int) {
			if v := float64(x.f[xi]); v == 0 {
				ties[yi]++
			} else {
				acc[yi] *= v
			}
		})
		k.visit(func(xi, yi int) {
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
		k.visit(func(xi, yi int) {
			if x.f[xi] == y.f[yi] {
				ties[yi]++
			}
		})
		k.visit(func(xi, yi int) {
			if x.f[xi] == y.f[yi] {
				x.g[xi] += y.g[yi] / T(ties[yi])
			}
		})
	}
}
