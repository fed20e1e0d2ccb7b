package exec

import (
	"fmt"
	"math"

	"github.com/nnkit/nnkit/exec/internal/vec"
	"github.com/nnkit/nnkit/ir"
)

// Elementwise unary ops. Forward and backward of each sit side by side in
// unaryFwd / unaryBwd; transcendental functions are evaluated in float64
// and rounded once.

type uop int

const (
	uRelu        uop = iota // y = max(x, 0)                 → dx = dy·[x>0]
	uLeakyRelu              // y = x>0 ? x : a·x               → dx = dy·(x>0 ? 1 : a)
	uElu                    // y = x>0 ? x : a·(eˣ−1)          → dx = dy·(x>0 ? 1 : y+a)
	uSelu                   // y = g·(x>0 ? x : a·(eˣ−1))      → dx = dy·g·(x>0 ? 1 : a·eˣ)
	uSigmoid                // y = 1/(1+e⁻ˣ)                   → dx = dy·y·(1−y)
	uTanh                   // y = tanh x                      → dx = dy·(1−y²)
	uSoftplus               // y = log(1+eˣ)                   → dx = dy·σ(x)
	uSoftsign               // y = x/(1+|x|)                   → dx = dy/(1+|x|)²
	uHardSigmoid            // y = clamp(a·x+b, 0, 1)          → dx = dy·a inside (0,1)
	uHardSwish              // y = x·clamp(x/6+½, 0, 1)        → dx = dy·(x<−3 ? 0 : x≤3 ? x/3+½ : 1)
	uErf                    // y = erf x                       → dx = dy·2/√π·e^(−x²)
	uGelu                   // y = x·Φ(x)                      → dx = dy·(Φ(x) + x·φ(x))
	uGeluTanh               // y = ½x(1+tanh(√(2/π)(x+0.044715x³)))
	uSqrt                   // y = √x                          → dx = dy/(2y)
	uNeg                    // y = −x                          → dx = −dy
	uExp                    // y = eˣ                          → dx = dy·y
	uLog                    // y = ln x                        → dx = dy/x
	uAbs                    // y = |x|                         → dx = dy·sign(x)
	uReciprocal             // y = 1/x                         → dx = −dy·y²
	uFloor                  // y = ⌊x⌋                         → dx = 0
	uCeil                   // y = ⌈x⌉                         → dx = 0
	uClip                   // y = clamp(x, a, b)              → dx = dy·[a<x<b] (PyTorch's hardtanh/ReLU6 rule)
)

var unaryOps = map[string]uop{
	"Relu": uRelu, "LeakyRelu": uLeakyRelu, "Elu": uElu, "Selu": uSelu, "Sigmoid": uSigmoid,
	"Tanh": uTanh, "Softplus": uSoftplus, "Softsign": uSoftsign, "HardSigmoid": uHardSigmoid,
	"HardSwish": uHardSwish, "Erf": uErf, "Gelu": uGelu, "Sqrt": uSqrt, "Neg": uNeg, "Exp": uExp,
	"Log": uLog, "Abs": uAbs, "Reciprocal": uReciprocal, "Floor": uFloor, "Ceil": uCeil, "Clip": uClip,
}

func registerUnary[T Float](m map[string]opDef[T]) {
	for name, op := range unaryOps {
		d := opDef[T]{plan: func(c *nodeCtx[T]) error { return planUnary(c, op) }}
		if op == uGelu {
			d.check = func(n *ir.Node, _ int64) error {
				if a := n.String("approximate", "none"); a != "none" && a != "tanh" {
					return fmt.Errorf("approximate=%q", a)
				}
				return nil
			}
		}
		m[name] = d
	}
}

func planUnary[T Float](c *nodeCtx[T], op uop) error {
	x := c.input(0)
	if x == nil {
		return fmt.Errorf("input 0 is missing")
	}
	if x.kind != kFloat {
		if op == uNeg || op == uAbs {
			return planUnaryInt(c, op, x)
		}
		return fmt.Errorf("input %s has element type %s, want a float type", x.name, x.kind)
	}
	n := c.n
	var a, b T
	switch op {
	case uLeakyRelu:
		a = T(n.Float("alpha", 0.01))
	case uElu:
		a = T(n.Float("alpha", 1))
	case uSelu:
		a = T(n.Float("alpha", 1.67326319217681884765625))
		b = T(n.Float("gamma", 1.05070102214813232421875))
	case uHardSigmoid:
		a = T(n.Float("alpha", 0.2))
		b = T(n.Float("beta", 0.5))
	case uGelu:
		if n.String("approximate", "none") == "tanh" {
			op = uGeluTanh
		}
	}
	var y *tensor[T]
	if op == uRelu && c.reluInPlace(x) {
		y = c.outputOver(x)
	} else {
		y = c.output(0, kFloat, x.shape)
	}
	// Clip bounds: inputs 1 and 2 from opset 11 (read at run time, so they
	// may be computed), attributes before.
	lo, hi := c.input(1), c.input(2)
	if op == uClip {
		for i, t := range []*tensor[T]{lo, hi} {
			if t != nil && (t.kind != kFloat || t.size != 1) {
				return fmt.Errorf("Clip bound (input %d, %s) must be a float scalar", i+1, t.name)
			}
		}
		a = T(n.Float("min", -math.MaxFloat32))
		b = T(n.Float("max", math.MaxFloat32))
	}
	u := &unaryKernel[T]{c: c, op: op, a: a, b: b, x: x, y: y, lo: lo, hi: hi}
	u.fwdRange, u.bwdRange = u.forward, u.backward // made once, at plan time
	c.fwd, c.bwd = u.run, u.back
	return nil
}

// unaryKernel is a planned elementwise op. One struct and four method
// values per node rather than five closures: a graph may hold hundreds of
// thousands of them (issue 9 counts memory per node).
type unaryKernel[T Float] struct {
	c                  *nodeCtx[T]
	op                 uop
	a, b               T
	x, y, lo, hi       *tensor[T]
	fwdRange, bwdRange func(lo, hi int)
}

// params returns the op's two parameters; Clip's bounds come from inputs 1
// and 2 at run time when present (they may be computed).
func (u *unaryKernel[T]) params() (T, T) {
	a, b := u.a, u.b
	if u.op == uClip {
		if u.lo != nil {
			a = u.lo.f[0]
		}
		if u.hi != nil {
			b = u.hi.f[0]
		}
	}
	return a, b
}

func (u *unaryKernel[T]) forward(l, h int) {
	a, b := u.params()
	unaryFwd(u.op, u.x.f[l:h], u.y.f[l:h], a, b)
}

func (u *unaryKernel[T]) backward(l, h int) {
	a, b := u.params()
	unaryBwd(u.op, u.x.f[l:h], u.y.f[l:h], u.y.g[l:h], u.x.g[l:h], a, b)
}

func (u *unaryKernel[T]) run(*runCtx) error { u.c.par(u.x.size, u.fwdRange); return nil }

func (u *unaryKernel[T]) back() {
	if u.x.g != nil {
		u.c.par(u.x.size, u.bwdRange)
	}
}

func planUnaryInt[T Float](c *nodeCtx[T], op uop, x *tensor[T]) error {
	y := c.output(0, kInt, x.shape)
	c.fwd = func(*runCtx) error {
		for i, v := range x.i {
			if op == uNeg || v < 0 {
				v = -v
			}
			y.i[i] = v
		}
		return nil
	}
	return nil
}

func sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

const (
	invSqrt2      = 0.70710678118654752440
	invSqrt2Pi    = 0.39894228040143267794
	twoOverSqrtPi = 1.12837916709551257390
	sqrt2OverPi   = 0.79788456080286535588
)

func unaryFwd[T Float](op uop, x, y []T, a, b T) {
	y = y[:len(x)]
	switch op {
	case uRelu:
		if is32[T]() {
			vec.Relu(asF32(y), asF32(x))
			return
		}
		for i, v := range x {
			y[i] = max(v, 0) // NaN stays NaN
		}
	case uLeakyRelu:
		for i, v := range x {
			if v < 0 {
				v *= a
			}
			y[i] = v
		}
	case uElu:
		for i, v := range x {
			if v < 0 {
				v = a * T(math.Expm1(float64(v)))
			}
			y[i] = v
		}
	case uSelu:
		for i, v := range x {
			if v <= 0 {
				v = a * T(math.Expm1(float64(v)))
			}
			y[i] = b * v
		}
	case uSigmoid:
		for i, v := range x {
			y[i] = T(sigmoid64(float64(v)))
		}
	case uTanh:
		for i, v := range x {
			y[i] = T(math.Tanh(float64(v)))
		}
	case uSoftplus:
		for i, v := range x {
			f := float64(v)
			y[i] = T(math.Max(f, 0) + math.Log1p(math.Exp(-math.Abs(f))))
		}
	case uSoftsign:
		for i, v := range x {
			y[i] = v / (1 + T(math.Abs(float64(v))))
		}
	case uHardSigmoid:
		for i, v := range x {
			y[i] = max(0, min(1, a*v+b))
		}
	case uHardSwish:
		for i, v := range x {
			y[i] = v * max(0, min(1, v/6+0.5))
		}
	case uErf:
		for i, v := range x {
			y[i] = T(math.Erf(float64(v)))
		}
	case uGelu:
		for i, v := range x {
			f := float64(v)
			y[i] = T(0.5 * f * (1 + math.Erf(f*invSqrt2)))
		}
	case uGeluTanh:
		for i, v := range x {
			f := float64(v)
			y[i] = T(0.5 * f * (1 + math.Tanh(sqrt2OverPi*(f+0.044715*f*f*f))))
		}
	case uSqrt:
		for i, v := range x {
			y[i] = T(math.Sqrt(float64(v)))
		}
	case uNeg:
		for i, v := range x {
			y[i] = -v
		}
	case uExp:
		for i, v := range x {
			y[i] = T(math.Exp(float64(v)))
		}
	case uLog:
		for i, v := range x {
			y[i] = T(math.Log(float64(v)))
		}
	case uAbs:
		for i, v := range x {
			y[i] = T(math.Abs(float64(v)))
		}
	case uReciprocal:
		for i, v := range x {
			y[i] = 1 / v
		}
	case uFloor:
		for i, v := range x {
			y[i] = T(math.Floor(float64(v)))
		}
	case uCeil:
		for i, v := range x {
			y[i] = T(math.Ceil(float64(v)))
		}
	case uClip:
		if is32[T]() {
			vec.Clip(asF32(y), asF32(x), float32(a), float32(b))
			return
		}
		for i, v := range x {
			y[i] = min(max(v, a), b)
		}
	default:
		panic("exec: unknown unary op")
	}
}

// unaryBwd accumulates dx += dy·f'(x) (some derivatives use y = f(x)).
func unaryBwd[T Float](op uop, x, y, dy, dx []T, a, b T) {
	x, y, dy = x[:len(dx)], y[:len(dx)], dy[:len(dx)]
	switch op {
	case uRelu:
		reluBwd(x, dy, dx)
	case uLeakyRelu:
		for i, v := range x {
			if v > 0 {
				dx[i] += dy[i]
			} else {
				dx[i] += a * dy[i]
			}
		}
	case uElu:
		for i, v := range x {
			if v > 0 {
				dx[i] += dy[i]
			} else {
				dx[i] += dy[i] * (y[i] + a)
			}
		}
	case uSelu:
		for i, v := range x {
			if v > 0 {
				dx[i] += dy[i] * b
			} else {
				dx[i] += dy[i] * b * a * T(math.Exp(float64(v)))
			}
		}
	case uSigmoid:
		for i, s := range y {
			dx[i] += dy[i] * s * (1 - s)
		}
	case uTanh:
		for i, t := range y {
			dx[i] += dy[i] * (1 - t*t)
		}
	case uSoftplus:
		for i, v := range x {
			dx[i] += dy[i] * T(sigmoid64(float64(v)))
		}
	case uSoftsign:
		for i, v := range x {
			d := 1 + T(math.Abs(float64(v)))
			dx[i] += dy[i] / (d * d)
		}
	case uHardSigmoid:
		for i, v := range x {
			if z := a*v + b; z > 0 && z < 1 {
				dx[i] += dy[i] * a
			}
		}
	case uHardSwish:
		for i, v := range x {
			switch {
			case v < -3:
			case v <= 3:
				dx[i] += dy[i] * (v/3 + 0.5)
			default:
				dx[i] += dy[i]
			}
		}
	case uErf:
		for i, v := range x {
			f := float64(v)
			dx[i] += dy[i] * T(twoOverSqrtPi*math.Exp(-f*f))
		}
	case uGelu:
		for i, v := range x {
			f := float64(v)
			d := 0.5*(1+math.Erf(f*invSqrt2)) + f*invSqrt2Pi*math.Exp(-0.5*f*f)
			dx[i] += dy[i] * T(d)
		}
	case uGeluTanh:
		for i, v := range x {
			f := float64(v)
			u := sqrt2OverPi * (f + 0.044715*f*f*f)
			t := math.Tanh(u)
			d := 0.5*(1+t) + 0.5*f*(1-t*t)*sqrt2OverPi*(1+3*0.044715*f*f)
			dx[i] += dy[i] * T(d)
		}
	case uSqrt:
		for i, s := range y {
			dx[i] += dy[i] / (2 * s)
		}
	case uNeg:
		for i := range dx {
			dx[i] -= dy[i]
		}
	case uExp:
		for i, e := range y {
			dx[i] += dy[i] * e
		}
	case uLog:
		for i, v := range x {
			dx[i] += dy[i] / v
		}
	case uAbs:
		for i, v := range x {
			switch {
			case v > 0:
				dx[i] += dy[i]
			case v < 0:
				dx[i] -= dy[i]
			}
		}
	case uReciprocal:
		for i, r := range y {
			dx[i] -= dy[i] * r * r
		}
	case uFloor, uCeil:
	case uClip:
		clipBwd(x, dy, dx, a, b)
	default:
		panic("exec: unknown unary op")
	}
}

// reluInPlace reports whether this Relu may write its output over its
// input x, as PyTorch's nn.ReLU(inplace=True) does after a BatchNorm (in
// VGG, one activation-sized buffer per block less). It may when nothing
// else reads x: x is a BatchNormalization's output Y (whose backward reads
// its input and dY, never Y), read by this node alone, not a graph output;
// and the program keeps every value readable (no Options.Keep, whose
// storage sharing assigns buffers later, and not Inference, which fuses
// the Relu instead). Relu's backward reads x, which then holds relu(x):
// relu(x) > 0 exactly where x > 0 (NaN and −0 included), so the gradient
// is the same bits. Value returns nil for x afterwards.
func (c *nodeCtx[T]) reluInPlace(x *tensor[T]) bool {
	if c.e.opts.Inference || c.e.opts.Keep != nil || x.kind != kFloat || x.static || x.state || x.deferred || x.shared || x.clobbered {
		return false
	}
	v := c.n.Inputs[0]
	if v == nil || v.IsOutput || len(v.Uses) != 1 || v.Uses[0].Node != c.n || v.Producer == nil || v.ProducerIndex != 0 {
		return false
	}
	pr := v.Producer
	return pr.OpType == "BatchNormalization" && pr.DefaultDomain() && c.p.vals[v] == x
}

// outputOver makes output 0 share x's storage (reluInPlace), charged to
// the budget as any output, and marks x as overwritten.
func (c *nodeCtx[T]) outputOver(x *tensor[T]) *tensor[T] {
	if err := c.e.reserve(c.p, c.n.Label(), outputName(c.n, 0), kFloat, x.shape); err != nil {
		panic(budgetPanic{err.(*BudgetError)})
	}
	t := &tensor[T]{kind: kFloat, shape: x.shape, size: x.size, f: x.f}
	t.setPub()
	c.out[0] = t
	x.clobbered = true
	return t
}
