package ir

import "sort"

// Shape functions for element-wise operators: unary maps, broadcasting
// binary and variadic operators, comparisons and Where. Integer and bool
// contents (shape arithmetic such as Mul(Gather(Shape(x)), 4)) are
// propagated element by element.

var shapeFuncs map[string]shapeFunc

func init() {
	shapeFuncs = map[string]shapeFunc{}
	reg := func(f shapeFunc, ops ...string) {
		for _, op := range ops {
			shapeFuncs[op] = f
		}
	}
	// Unary, same type and shape.
	reg(unarySame,
		"Abs", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "Ceil", "Celu",
		"Cos", "Cosh", "Elu", "Erf", "Exp", "Floor", "Gelu", "HardSigmoid",
		"HardSwish", "Hardmax", "LeakyRelu", "Log", "LogSoftmax", "LpNormalization",
		"MeanVarianceNormalization", "Mish", "Reciprocal", "Relu", "Round", "Selu",
		"Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Softmax", "Softplus", "Softsign",
		"Sqrt", "Tan", "Tanh", "ThresholdedRelu", "Clip", "PRelu", "CumSum", "Trilu",
		"LRN", "InstanceNormalization", "GroupNormalization", "BitwiseNot",
		"RandomNormalLike", "RandomUniformLike", "Bernoulli")
	reg(scatterNDOp, "ScatterND")
	reg(scatterElementsOp, "ScatterElements", "Scatter")
	reg(identityOp, "Identity")
	reg(negOp, "Neg")
	reg(unaryBool, "IsNaN", "IsInf")
	reg(notOp, "Not")
	for op, f := range binaryVal {
		reg(broadcastOp(op, f, false), op)
	}
	reg(broadcastOp("Pow", nil, false), "Pow")
	reg(broadcastOp("BitShift", nil, false), "BitShift")
	reg(broadcastOp("BitwiseAnd", nil, false), "BitwiseAnd", "BitwiseOr", "BitwiseXor")
	for op, f := range compareVal {
		reg(broadcastOp(op, f, true), op)
	}
	reg(variadicOp, "Max", "Min", "Sum", "Mean")
	reg(whereOp, "Where")

	registerTensorOps(reg)
	registerNNOps(reg)
}

// lookupShapeFunc finds the shape function for n, or nil if inference does
// not know its operator.
func lookupShapeFunc(n *Node) shapeFunc {
	if !n.DefaultDomain() {
		return nil
	}
	return shapeFuncs[n.OpType]
}

// InferredOps lists the default-domain operators shape inference has a
// shape function for. It is not the list of supported operators (that is
// the executor's, exec.SupportedOps, which it covers and goes beyond so
// that nnlint summary and the rules see shapes through operators nnkit
// cannot train).
func InferredOps() []string {
	out := make([]string, 0, len(shapeFuncs))
	for op := range shapeFuncs {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

func unarySame(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	c.set(0, &tinfo{elem: x.elem, rank: x.rank, dims: x.dims})
	if c.n.OpType == "Softmax" || c.n.OpType == "LogSoftmax" || c.n.OpType == "Hardmax" {
		if x.known() {
			if x.rank == 0 {
				return c.errorf("input is a scalar")
			}
			if _, err := c.axis(SoftmaxAxis(c.n, c.opset), x.rank); err != nil {
				return err
			}
		}
	}
	return nil
}

func identityOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	c.set(0, x)
	return nil
}

func unaryBool(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	c.set(0, &tinfo{elem: Bool, rank: x.rank, dims: x.dims})
	return nil
}

func negOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	t := &tinfo{elem: x.elem, rank: x.rank, dims: x.dims}
	if x.val != nil {
		v := make([]sdim, len(x.val))
		for i, a := range x.val {
			v[i] = negSize(a)
		}
		t.val = v
	}
	c.set(0, t)
	return nil
}

func notOp(c *nodeCtx) error {
	x, err := c.input(0)
	if err != nil {
		return err
	}
	t := &tinfo{elem: Bool, rank: x.rank, dims: x.dims}
	if x.val != nil {
		v := make([]sdim, len(x.val))
		for i, a := range x.val {
			v[i] = unknownSize
			if a.isConst() {
				v[i] = cst(b2i(a.k == 0))
			}
		}
		t.val = v
	}
	c.set(0, t)
	return nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

type valFunc func(a, b sdim) sdim

var binaryVal = map[string]valFunc{
	"Add": addSize,
	"Sub": subSize,
	"Mul": mulSize,
	"Div": truncDivSize,
	"Mod": modSize,
	"And": boolFunc(func(a, b bool) bool { return a && b }),
	"Or":  boolFunc(func(a, b bool) bool { return a || b }),
	"Xor": boolFunc(func(a, b bool) bool { return a != b }),
}

var compareVal = map[string]valFunc{
	"Equal": func(a, b sdim) sdim {
		switch sizeEqual(a, b) {
		case 1:
			return cst(1)
		case 0:
			return cst(0)
		}
		return unknownSize
	},
	"Less":           func(a, b sdim) sdim { return lessVal(a, b, false) },
	"LessOrEqual":    func(a, b sdim) sdim { return lessVal(a, b, true) },
	"Greater":        func(a, b sdim) sdim { return lessVal(b, a, false) },
	"GreaterOrEqual": func(a, b sdim) sdim { return lessVal(b, a, true) },
}

func boolFunc(f func(a, b bool) bool) valFunc {
	return func(a, b sdim) sdim {
		if !a.isConst() || !b.isConst() {
			return unknownSize
		}
		return cst(b2i(f(a.k != 0, b.k != 0)))
	}
}

// lessVal decides a < b (or a ≤ b) when it can.
func lessVal(a, b sdim, orEqual bool) sdim {
	le, ge, ne := sizeLE(a, b), sizeLE(b, a), sizeEqual(a, b) == 0
	if orEqual {
		switch {
		case le:
			return cst(1)
		case ge && ne:
			return cst(0)
		}
		return unknownSize
	}
	switch {
	case le && ne:
		return cst(1)
	case ge:
		return cst(0)
	}
	return unknownSize
}

// broadcastDims applies multidirectional (numpy) broadcasting. A symbolic
// or unknown dim against a number n ≠ 1 gives n (the other side must be 1
// or n); two different symbols give an unknown dim. Two different numbers,
// neither 1, are an error. The result has unknown rank if any input does.
func (c *nodeCtx) broadcastDims(ts ...*tinfo) ([]sdim, bool, error) {
	r := 0
	for _, t := range ts {
		if !t.known() {
			return nil, false, nil
		}
		if t.rank > r {
			r = t.rank
		}
	}
	out := make([]sdim, r)
	for i := 1; i <= r; i++ {
		acc := cst(1)
		for _, t := range ts {
			if i > t.rank {
				continue
			}
			d := t.dims[t.rank-i]
			switch {
			case d.isConstVal(1):
			case acc.isConstVal(1), acc.same(d):
				acc = d
			case acc.isConst() && d.isConst(), cannotBroadcast(acc, d), cannotBroadcast(d, acc):
				return nil, false, c.errorf("cannot broadcast %s: dim %d is %s in one input and %s in another", c.shapesString(ts), r-i, acc, d)
			case d.isConst():
				acc = d
			case acc.isConst():
			default:
				acc = unknownSize
			}
		}
		out[r-i] = acc
	}
	return out, true, nil
}

// cannotBroadcast reports whether symbolic a (never 1) and number b (not 1)
// certainly differ, so that they cannot broadcast: 4*batch against 3.
func cannotBroadcast(a, b sdim) bool {
	lb, ok := a.lowerBound()
	return !a.isConst() && ok && lb > 1 && b.isConst() && !b.isConstVal(1) && sizeEqual(a, b) == 0
}

func (c *nodeCtx) shapesString(ts []*tinfo) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += " and "
		}
		s += t.shapeString()
	}
	return s
}

// sameElem checks that the inputs share one element type (unknown ones
// aside) and returns it.
func (c *nodeCtx) sameElem(ts ...*tinfo) (DType, error) {
	e := Undefined
	for _, t := range ts {
		if t.elem == Undefined {
			continue
		}
		if e != Undefined && t.elem != e {
			return e, c.errorf("inputs have different element types %s and %s", e, t.elem)
		}
		e = t.elem
	}
	return e, nil
}

func broadcastOp(op string, f valFunc, boolOut bool) shapeFunc {
	return func(c *nodeCtx) error {
		a, err := c.input(0)
		if err != nil {
			return err
		}
		b, err := c.input(1)
		if err != nil {
			return err
		}
		elem := a.elem
		if op != "Pow" && op != "BitShift" {
			if elem, err = c.sameElem(a, b); err != nil {
				return err
			}
		}
		if boolOut {
			elem = Bool
		}
		dims, ok, err := c.broadcastDims(a, b)
		if err != nil {
			return err
		}
		if !ok {
			c.set(0, unknownT(elem))
			return nil
		}
		t := shapedT(elem, dims)
		if f != nil && a.val != nil && b.val != nil {
			t.withVal(broadcastVal(dims, func(ix []int) sdim { return f(a.val[ix[0]], b.val[ix[1]]) }, a, b))
		}
		c.set(0, t)
		return nil
	}
}

func variadicOp(c *nodeCtx) error {
	if len(c.n.Inputs) == 0 {
		return c.errorf("needs at least one input")
	}
	ts := make([]*tinfo, 0, len(c.n.Inputs))
	for i := range c.n.Inputs {
		t, err := c.input(i)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	elem, err := c.sameElem(ts...)
	if err != nil {
		return err
	}
	dims, ok, err := c.broadcastDims(ts...)
	if err != nil {
		return err
	}
	if !ok {
		c.set(0, unknownT(elem))
		return nil
	}
	t := shapedT(elem, dims)
	all := true
	for _, x := range ts {
		all = all && x.val != nil
	}
	if all && (c.n.OpType == "Max" || c.n.OpType == "Min" || c.n.OpType == "Sum") {
		op := c.n.OpType
		t.withVal(broadcastVal(dims, func(ix []int) sdim {
			acc := ts[0].val[ix[0]]
			for k := 1; k < len(ts); k++ {
				x := ts[k].val[ix[k]]
				switch {
				case op == "Sum":
					acc = addSize(acc, x)
				case acc.same(x):
				case acc.isConst() && x.isConst():
					if (op == "Max") == (x.k > acc.k) {
						acc = x
					}
				case op == "Max" && sizeLE(acc, x), op == "Min" && sizeLE(x, acc):
					acc = x
				case op == "Max" && sizeLE(x, acc), op == "Min" && sizeLE(acc, x):
				default:
					acc = unknownSize
				}
			}
			return acc
		}, ts...))
	}
	c.set(0, t)
	return nil
}

func whereOp(c *nodeCtx) error {
	cond, err := c.input(0)
	if err != nil {
		return err
	}
	x, err := c.input(1)
	if err != nil {
		return err
	}
	y, err := c.input(2)
	if err != nil {
		return err
	}
	if cond.elem != Undefined && cond.elem != Bool {
		return c.errorf("condition is %s, want bool", cond.elem)
	}
	elem, err := c.sameElem(x, y)
	if err != nil {
		return err
	}
	dims, ok, err := c.broadcastDims(cond, x, y)
	if err != nil {
		return err
	}
	if !ok {
		c.set(0, unknownT(elem))
		return nil
	}
	t := shapedT(elem, dims)
	if cond.val != nil && x.val != nil && y.val != nil {
		t.withVal(broadcastVal(dims, func(ix []int) sdim {
			k, a, b := cond.val[ix[0]], x.val[ix[1]], y.val[ix[2]]
			switch {
			case k.isConst() && k.k != 0:
				return a
			case k.isConst():
				return b
			case a.same(b):
				return a
			}
			return unknownSize
		}, cond, x, y))
	}
	c.set(0, t)
	return nil
}

// broadcastVal computes the contents of a broadcast result whose dims are
// static and small, calling f with the flat index into each input.
func broadcastVal(dims []sdim, f func(ix []int) sdim, ts ...*tinfo) []sdim {
	out := make([]int64, len(dims))
	n := int64(1)
	for i, d := range dims {
		if !d.isConst() || d.k < 0 {
			return nil
		}
		out[i] = d.k
		n *= d.k
		if n > maxTracked {
			return nil
		}
	}
	ins := make([][]int64, len(ts))
	for k, t := range ts {
		s, ok := t.staticDims()
		if !ok {
			return nil
		}
		ins[k] = s
	}
	val := make([]sdim, n)
	idx := make([]int64, len(out))
	ix := make([]int, len(ts))
	for flat := int64(0); flat < n; flat++ {
		for k, s := range ins {
			off, stride := int64(0), int64(1)
			for d := len(s) - 1; d >= 0; d-- {
				o := idx[len(out)-len(s)+d]
				if s[d] == 1 {
					o = 0
				}
				off += o * stride
				stride *= s[d]
			}
			ix[k] = int(off)
		}
		val[flat] = f(ix)
		for d := len(out) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < out[d] {
				break
			}
			idx[d] = 0
		}
	}
	return val
}
