package exec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// Every op's backward against central finite differences, in float64.
//
// Each case is a small graph run by the float64 instantiation of the
// executor (the same op code as the float32 one). With L = Σ_outputs Σ w·y
// for fixed random w, the analytic dL/dθ from Backward is compared with
// (L(θ+h) − L(θ−h))/2h for every parameter and input element (up to 48
// evenly spaced elements per tensor). h = 1e-6: the truncation error is
// O(h²) ≈ 1e-12 and the rounding error O(ε·|L|/h) ≈ 1e-10·|L|, so an
// agreement of 1e-6 relative to the tensor's largest gradient is a real
// check of the formula (a wrong factor or sign is off by O(1)).
// Inputs are drawn away from kinks (ReLU at 0, max-pool ties) by the
// generators below or simply by being random normals (distance ≫ h).

const (
	fdH   = 1e-6
	fdTol = 1e-6
	fdMax = 48
)

type fdCase struct {
	name  string
	opset int64
	mode  Mode
	// build returns the graph; inputs get shapes from shapes.
	build  func(b *gb)
	shapes map[string][]int
}

func fdCheck(t *testing.T, c fdCase) {
	t.Helper()
	opset := c.opset
	if opset == 0 {
		opset = 13
	}
	b := newGB(opset)
	c.build(b)
	e, err := compileEngine[float64](b.model(), Options{InputGrads: true, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var shapes [][]int
	var kinds []kind
	var data [][]float64
	for _, v := range e.inputs {
		s, ok := c.shapes[v.Name]
		if !ok {
			t.Fatalf("no shape for input %s", v.Name)
		}
		shapes = append(shapes, s)
		kinds = append(kinds, kFloat)
		gen := b.gen[v.Name]
		d := make([]float64, numel(s))
		for i := range d {
			if gen != nil {
				d[i] = gen(rng)
			} else {
				d[i] = rng.NormFloat64()
			}
		}
		data = append(data, d)
	}
	// parameters in full float64 precision
	for _, p := range e.params {
		if gen := b.gen[p.name]; gen != nil {
			for i := range p.value {
				p.value[i] = gen(rng)
			}
		} else {
			for i := range p.value {
				p.value[i] += 1e-3 * rng.NormFloat64() // break float32 ties
			}
		}
	}
	p, err := e.planFor(shapes, kinds)
	if err != nil {
		t.Fatal(err)
	}
	var ws [][]float64
	for _, o := range p.outputs {
		w := make([]float64, o.size)
		for i := range w {
			w[i] = rng.NormFloat64()
		}
		ws = append(ws, w)
	}
	loss := func() float64 {
		for i, t := range p.inputs {
			copy(t.f, data[i])
		}
		e.step = 5 // same dropout masks on every evaluation
		if err := e.run(p, c.mode); err != nil {
			t.Fatal(err)
		}
		var l float64
		for i, o := range p.outputs {
			for j, w := range ws[i] {
				l += w * o.f[j]
			}
		}
		return l
	}
	loss()
	e.zeroGrad()
	if err := e.backward(func(i int, g []float64) {
		for j, w := range ws[i] {
			g[j] += w
		}
	}); err != nil {
		t.Fatal(err)
	}
	type target struct {
		name string
		val  []float64
		grad []float64
	}
	var targets []target
	for i, in := range p.inputs {
		if in.g == nil {
			continue // the outputs do not depend on it
		}
		targets = append(targets, target{e.inputs[i].Name, data[i], append([]float64(nil), in.g...)})
	}
	for _, q := range e.params {
		targets = append(targets, target{q.name, q.value, append([]float64(nil), q.grad...)})
	}
	if len(targets) == 0 {
		t.Fatal("nothing to differentiate")
	}
	for _, tg := range targets {
		n := len(tg.val)
		step := max(1, n/fdMax)
		var worst, scale float64
		for i := 0; i < n; i += step {
			v := tg.val[i]
			tg.val[i] = v + fdH
			lp := loss()
			tg.val[i] = v - fdH
			lm := loss()
			tg.val[i] = v
			num := (lp - lm) / (2 * fdH)
			scale = math.Max(scale, math.Abs(num))
			worst = math.Max(worst, math.Abs(num-tg.grad[i]))
		}
		for _, g := range tg.grad {
			scale = math.Max(scale, math.Abs(g))
		}
		if scale == 0 {
			t.Errorf("%s: gradient is identically zero; the case tests nothing", tg.name)
			continue
		}
		if worst/scale > fdTol {
			t.Errorf("%s: analytic gradient differs from finite differences by %.3g (relative to %.3g)", tg.name, worst/scale, scale)
		}
	}
}

// unary builds y = op(x) for x [2,3,4].
func unary(op string, attrs ...*ir.Attribute) fdCase {
	return fdCase{name: op, build: func(b *gb) { b.out(b.node(op, []*ir.Value{b.input("x", 2, 3, 4)}, attrs...)) },
		shapes: map[string][]int{"x": {2, 3, 4}}}
}

// at sets the opset of a case whose operator is newer than the default 13.
func at(opset int64, c fdCase) fdCase { c.opset = opset; return c }

func positive(r *rand.Rand) float64 { return 0.2 + 2*r.Float64() }

func withGen(c fdCase, name string, g func(*rand.Rand) float64) fdCase {
	inner := c.build
	c.build = func(b *gb) { b.gen[name] = g; inner(b) }
	return c
}

func fdUnaryCases() []fdCase {
	cases := []fdCase{
		unary("Relu"), unary("LeakyRelu", ir.FloatAttr("alpha", 0.1)), unary("Elu", ir.FloatAttr("alpha", 0.7)),
		unary("Selu"), unary("Sigmoid"), unary("Tanh"), unary("Softplus"), unary("Softsign"),
		unary("HardSigmoid", ir.FloatAttr("alpha", 0.3), ir.FloatAttr("beta", 0.4)),
		unary("Erf"), at(20, unary("Gelu")), at(20, unary("Gelu", ir.StringAttr("approximate", "tanh"))),
		unary("Neg"), unary("Exp"), unary("Abs"), unary("Identity"),
		withGen(at(14, unary("HardSwish")), "x", func(r *rand.Rand) float64 { return 8 * (r.Float64() - 0.5) }),
		withGen(unary("Sqrt"), "x", positive), withGen(unary("Log"), "x", positive),
		withGen(unary("Reciprocal"), "x", positive),
		{name: "Clip(ReLU6)", build: func(b *gb) {
			b.gen["x"] = func(r *rand.Rand) float64 { return 8 * (r.Float64() - 0.2) }
			b.out(b.node("Clip", []*ir.Value{b.input("x", 3, 5), b.constF(0), b.constF(6)}))
		}, shapes: map[string][]int{"x": {3, 5}}},
		{name: "Clip(min only)", build: func(b *gb) {
			b.out(b.node("Clip", []*ir.Value{b.input("x", 3, 5), b.constF(-0.5)}))
		}, shapes: map[string][]int{"x": {3, 5}}},
		{name: "Clip(opset 6 attrs)", opset: 6, build: func(b *gb) {
			b.out(b.node("Clip", []*ir.Value{b.input("x", 3, 5)}, ir.FloatAttr("min", -0.5), ir.FloatAttr("max", 0.5)))
		}, shapes: map[string][]int{"x": {3, 5}}},
		{name: "Cast float→float16→float", build: func(b *gb) {
			h := b.node("Cast", []*ir.Value{b.input("x", 4)}, ir.IntAttr("to", int64(ir.Float16)))
			b.out(b.node("Cast", []*ir.Value{h}, ir.IntAttr("to", int64(ir.Float32))))
		}, shapes: map[string][]int{"x": {4}}},
	}
	return cases
}

func TestFDUnary(t *testing.T) {
	for _, c := range fdUnaryCases() {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "Cast float→float16→float" {
				checkCastGrad(t, c)
				return
			}
			fdCheck(t, c)
		})
	}
}

// A float16 round trip is piecewise constant, so finite differences see
// zero; the straight-through gradient (as PyTorch's .half()) is checked
// directly.
func checkCastGrad(t *testing.T, c fdCase) {
	b := newGB(13)
	c.build(b)
	e, err := compileEngine[float64](b.model(), Options{InputGrads: true})
	if err != nil {
		t.Fatal(err)
	}
	p := feed64(t, e, []int{4}, []float64{1.0001, -2, 3, 0.1})
	if err := e.run(p, Eval); err != nil {
		t.Fatal(err)
	}
	if p.outputs[0].f[0] != 1 || p.outputs[0].f[3] != float64(ir.HalfToFloat32(ir.Float32ToHalf(0.1))) {
		t.Errorf("float16 rounding: got %v", p.outputs[0].f)
	}
	if err := e.backward(func(_ int, g []float64) { copy(g, []float64{1, 2, 3, 4}) }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(p.inputs[0].g) != "[1 2 3 4]" {
		t.Errorf("Cast gradient %v, want [1 2 3 4]", p.inputs[0].g)
	}
}

// binary builds y = op(a, b) with both inputs data (so both get gradients).
func binary(op string, sa, sb []int) fdCase {
	return fdCase{name: fmt.Sprintf("%s%v%v", op, sa, sb), build: func(b *gb) {
		b.out(b.node(op, []*ir.Value{b.input("a", sa...), b.input("b", sb...)}))
	}, shapes: map[string][]int{"a": sa, "b": sb}}
}

func TestFDBinary(t *testing.T) { runFD(t, fdBinaryCases()) }

func fdBinaryCases() []fdCase {
	shapes := [][2][]int{
		{{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {4}}, {{2, 3, 4}, {3, 1}}, {{1, 3, 1}, {2, 1, 4}}, {{}, {2, 3}}, {{2, 3}, {1}},
	}
	var cases []fdCase
	for _, op := range []string{"Add", "Sub", "Mul", "Div", "Max", "Min"} {
		for i, s := range shapes {
			if (op == "Max" || op == "Min") && i >= 4 {
				continue // a lone scalar rarely wins both ways: nothing to check
			}
			c := binary(op, s[0], s[1])
			if op == "Div" {
				c = withGen(c, "b", positive)
			}
			cases = append(cases, c)
		}
	}
	for _, s := range shapes[:4] {
		c := withGen(binary("Pow", s[0], s[1]), "a", positive)
		cases = append(cases, c)
	}
	cases = append(cases,
		fdCase{name: "Pow(x, 2) negative base", build: func(b *gb) {
			b.out(b.node("Pow", []*ir.Value{b.input("x", 3, 4), b.constF(2)}))
		}, shapes: map[string][]int{"x": {3, 4}}},
		fdCase{name: "Pow(x, int64 3)", build: func(b *gb) {
			b.out(b.node("Pow", []*ir.Value{b.input("x", 3, 4), b.scalarInt("three", 3)}))
		}, shapes: map[string][]int{"x": {3, 4}}},
		fdCase{name: "Pow(x, 3) negative base", build: func(b *gb) {
			b.out(b.node("Pow", []*ir.Value{b.input("x", 3, 4), b.constF(3)}))
		}, shapes: map[string][]int{"x": {3, 4}}},
		fdCase{name: "Where(Greater) broadcast", build: func(b *gb) {
			a, c := b.input("a", 2, 3), b.input("c", 3)
			cond := b.node("Greater", []*ir.Value{a, b.constF(0.1)})
			b.out(b.node("Where", []*ir.Value{cond, a, c}))
		}, shapes: map[string][]int{"a": {2, 3}, "c": {3}}},
		fdCase{name: "Where(Equal, Less)", build: func(b *gb) {
			a, c := b.input("a", 4), b.input("c", 4)
			eq := b.node("Equal", []*ir.Value{a, a})
			lt := b.node("Less", []*ir.Value{a, c})
			both := b.node("And", []*ir.Value{eq, lt})
			b.out(b.node("Where", []*ir.Value{both, a, c}))
		}, shapes: map[string][]int{"a": {4}, "c": {4}}},
	)
	return cases
}

func TestFDMatMul(t *testing.T) { runFD(t, fdMatMulCases()) }

func fdMatMulCases() []fdCase {
	gemm := func(ta, tb int64, alpha, beta float32, sa, sb, sc []int) fdCase {
		return fdCase{name: fmt.Sprintf("Gemm tA%d tB%d α%g β%g C%v", ta, tb, alpha, beta, sc), build: func(b *gb) {
			ins := []*ir.Value{b.input("a", sa...), b.param("w", sb...)}
			if sc != nil {
				ins = append(ins, b.param("c", sc...))
			}
			b.out(b.node("Gemm", ins, ir.IntAttr("transA", ta), ir.IntAttr("transB", tb), ir.FloatAttr("alpha", alpha), ir.FloatAttr("beta", beta)))
		}, shapes: map[string][]int{"a": sa}}
	}
	mm := func(sa, sb []int) fdCase {
		c := binary("MatMul", sa, sb)
		return c
	}
	cases := []fdCase{
		gemm(0, 0, 1, 1, []int{3, 4}, []int{4, 5}, []int{5}),
		gemm(0, 1, 1, 1, []int{3, 4}, []int{5, 4}, []int{3, 5}),
		gemm(1, 0, 0.5, 2, []int{4, 3}, []int{4, 5}, []int{3, 1}),
		gemm(1, 1, 1.5, 0.25, []int{4, 3}, []int{5, 4}, []int{1}),
		gemm(0, 1, 1, 1, []int{3, 4}, []int{5, 4}, nil),
		mm([]int{3, 4}, []int{4, 5}),
		mm([]int{2, 3, 4}, []int{2, 4, 5}),
		mm([]int{2, 3, 4}, []int{4, 5}),
		mm([]int{2, 1, 3, 4}, []int{3, 4, 2}),
		mm([]int{4}, []int{4, 5}),
		mm([]int{3, 4}, []int{4}),
		mm([]int{2, 3, 4}, []int{4}),
	}
	return cases
}

func fdConvPoolCases() []fdCase {
	conv := func(name string, x, w []int, bias bool, attrs ...*ir.Attribute) fdCase {
		return fdCase{name: name, build: func(b *gb) {
			ins := []*ir.Value{b.input("x", x...), b.param("w", w...)}
			if bias {
				ins = append(ins, b.param("b", w[0]))
			}
			b.out(b.node("Conv", ins, attrs...))
		}, shapes: map[string][]int{"x": x}}
	}
	ints := func(name string, v ...int64) *ir.Attribute { return ir.IntsAttr(name, v...) }
	cases := []fdCase{
		conv("Conv 3x3 pad1", []int{2, 3, 5, 5}, []int{4, 3, 3, 3}, true, ints("pads", 1, 1, 1, 1)),
		conv("Conv stride2 asym pads", []int{2, 2, 6, 7}, []int{3, 2, 3, 2}, true, ints("strides", 2, 2), ints("pads", 1, 0, 0, 1)),
		conv("Conv dilation2", []int{1, 2, 7, 7}, []int{2, 2, 3, 3}, false, ints("dilations", 2, 2), ints("pads", 2, 2, 2, 2)),
		conv("Conv groups2", []int{2, 4, 5, 5}, []int{6, 2, 3, 3}, true, ir.IntAttr("group", 2), ints("pads", 1, 1, 1, 1)),
		conv("Conv depthwise", []int{2, 4, 5, 5}, []int{4, 1, 3, 3}, false, ir.IntAttr("group", 4), ints("pads", 1, 1, 1, 1), ints("strides", 2, 2)),
		conv("Conv depthwise C20 bias dilation asym pads", []int{2, 20, 6, 5}, []int{20, 1, 3, 3}, true, ir.IntAttr("group", 20), ints("dilations", 2, 1), ints("pads", 2, 1, 0, 1), ints("strides", 1, 2)),
		conv("Conv depthwise ×2", []int{1, 3, 4, 4}, []int{6, 1, 3, 3}, true, ir.IntAttr("group", 3)),
		conv("Conv SAME_UPPER", []int{1, 2, 5, 6}, []int{2, 2, 3, 2}, true, ir.StringAttr("auto_pad", "SAME_UPPER"), ints("strides", 2, 2)),
		conv("Conv SAME_LOWER", []int{1, 2, 5, 6}, []int{2, 2, 2, 3}, true, ir.StringAttr("auto_pad", "SAME_LOWER")),
		conv("Conv VALID", []int{1, 2, 5, 6}, []int{2, 2, 3, 3}, true, ir.StringAttr("auto_pad", "VALID")),
		conv("Conv 1x1", []int{2, 3, 4, 4}, []int{5, 3, 1, 1}, true),
		conv("Conv 1x1 stride2", []int{2, 3, 4, 4}, []int{5, 3, 1, 1}, true, ints("strides", 2, 2)),
		conv("Conv1d", []int{2, 3, 9}, []int{4, 3, 3}, true, ints("pads", 1, 2), ints("strides", 2)),
	}
	pool := func(name, op string, x []int, attrs ...*ir.Attribute) fdCase {
		return fdCase{name: name, build: func(b *gb) {
			b.out(b.node(op, []*ir.Value{b.input("x", x...)}, attrs...))
		}, shapes: map[string][]int{"x": x}}
	}
	cases = append(cases,
		pool("MaxPool 2x2", "MaxPool", []int{2, 3, 6, 6}, ints("kernel_shape", 2, 2), ints("strides", 2, 2)),
		pool("MaxPool 3x3 pad1 s2", "MaxPool", []int{1, 2, 7, 7}, ints("kernel_shape", 3, 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1)),
		pool("MaxPool ceil dilation", "MaxPool", []int{1, 2, 8, 7}, ints("kernel_shape", 2, 2), ints("strides", 2, 2), ints("dilations", 2, 1), ir.IntAttr("ceil_mode", 1)),
		pool("MaxPool1d", "MaxPool", []int{2, 2, 9}, ints("kernel_shape", 3), ints("strides", 2)),
		pool("AveragePool pad exclude", "AveragePool", []int{1, 2, 5, 5}, ints("kernel_shape", 3, 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1)),
		pool("AveragePool pad include", "AveragePool", []int{1, 2, 5, 5}, ints("kernel_shape", 3, 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1), ir.IntAttr("count_include_pad", 1)),
		pool("AveragePool ceil", "AveragePool", []int{1, 2, 6, 6}, ints("kernel_shape", 3, 3), ints("strides", 2, 2), ir.IntAttr("ceil_mode", 1)),
		pool("GlobalAveragePool", "GlobalAveragePool", []int{2, 3, 4, 5}),
		pool("GlobalMaxPool", "GlobalMaxPool", []int{2, 3, 4, 5}),
	)
	return cases
}

func TestFDConvPool(t *testing.T) {
	runFD(t, fdConvPoolCases())
	// the same convolutions through the per-image im2col path (the cases
	// above are small enough for the batched one)
	defer func(v int) { batchedConvPlane = v }(batchedConvPlane)
	batchedConvPlane = 0
	for _, c := range fdConvPoolCases() {
		t.Run("per-image "+c.name, func(t *testing.T) { fdCheck(t, c) })
	}
	// and in chunks of output rows: one row per chunk, and (270 elements)
	// two rows per chunk for "Conv 3x3 pad1" (27×5 per row; 5 rows: 2+2+1)
	defer func(v int) { convChunkElems = v }(convChunkElems)
	for _, elems := range []int{1, 270} {
		convChunkElems = elems
		for _, c := range fdConvPoolCases() {
			t.Run(fmt.Sprintf("row chunks %d %s", elems, c.name), func(t *testing.T) { fdCheck(t, c) })
		}
	}
}

func TestFDNorm(t *testing.T) { runFD(t, fdNormCases()) }

func fdNormCases() []fdCase {
	bn := func(name string, opset int64, mode Mode, x []int, nOut int, attrs ...*ir.Attribute) fdCase {
		return fdCase{name: name, opset: opset, mode: mode, build: func(b *gb) {
			C := x[1]
			b.gen["var"] = positive
			ins := []*ir.Value{b.input("x", x...), b.param("scale", C), b.param("bias", C), b.param("mean", C), b.param("var", C)}
			outs := b.nodeN("BatchNormalization", ins, nOut, attrs...)
			b.out(outs[0])
		}, shapes: map[string][]int{"x": x}}
	}
	cases := []fdCase{
		bn("BN train opset13 5 outputs 4-D", 13, Train, []int{3, 2, 3, 3}, 5, ir.FloatAttr("momentum", 0.9)),
		bn("BN train opset15 training_mode 2-D", 15, Train, []int{5, 4}, 3, ir.IntAttr("training_mode", 1)),
		bn("BN eval 4-D", 13, Eval, []int{2, 3, 2, 2}, 1),
		{name: "LayerNormalization axis -1", opset: 17, build: func(b *gb) {
			b.out(b.node("LayerNormalization", []*ir.Value{b.input("x", 2, 3, 5), b.param("g", 5), b.param("bb", 5)}, ir.IntAttr("axis", -1)))
		}, shapes: map[string][]int{"x": {2, 3, 5}}},
		{name: "LayerNormalization axis 1", opset: 17, build: func(b *gb) {
			b.out(b.node("LayerNormalization", []*ir.Value{b.input("x", 2, 3, 4), b.param("g", 3, 4)}, ir.IntAttr("axis", 1)))
		}, shapes: map[string][]int{"x": {2, 3, 4}}},
		{name: "decomposed LayerNorm (PyTorch opset 13)", build: func(b *gb) {
			x := b.input("x", 2, 3, 8)
			mu := b.node("ReduceMean", []*ir.Value{x}, ir.IntsAttr("axes", -1))
			d := b.node("Sub", []*ir.Value{x, mu})
			v := b.node("ReduceMean", []*ir.Value{b.node("Pow", []*ir.Value{d, b.constF(2)})}, ir.IntsAttr("axes", -1))
			s := b.node("Sqrt", []*ir.Value{b.node("Add", []*ir.Value{v, b.constF(1e-5)})})
			y := b.node("Div", []*ir.Value{d, s})
			b.out(b.node("Add", []*ir.Value{b.node("Mul", []*ir.Value{y, b.param("w", 8)}), b.param("b", 8)}))
		}, shapes: map[string][]int{"x": {2, 3, 8}}},
		{name: "decomposed GELU (PyTorch opset 13)", build: func(b *gb) {
			x := b.input("x", 3, 6)
			e := b.node("Erf", []*ir.Value{b.node("Div", []*ir.Value{x, b.constF(1.4142135)})})
			b.out(b.node("Mul", []*ir.Value{b.node("Mul", []*ir.Value{x, b.node("Add", []*ir.Value{e, b.constF(1)})}), b.constF(0.5)}))
		}, shapes: map[string][]int{"x": {3, 6}}},
	}
	return cases
}

func TestFDSoftmaxReduce(t *testing.T) { runFD(t, fdSoftmaxReduceCases()) }

func fdSoftmaxReduceCases() []fdCase {
	one := func(name, op string, opset int64, x []int, attrs ...*ir.Attribute) fdCase {
		return fdCase{name: name, opset: opset, build: func(b *gb) {
			b.out(b.node(op, []*ir.Value{b.input("x", x...)}, attrs...))
		}, shapes: map[string][]int{"x": x}}
	}
	cases := []fdCase{
		one("Softmax axis -1", "Softmax", 13, []int{2, 3, 4}, ir.IntAttr("axis", -1)),
		one("Softmax axis 1", "Softmax", 13, []int{2, 3, 4}, ir.IntAttr("axis", 1)),
		one("Softmax opset 11 (coerced 2-D)", "Softmax", 11, []int{2, 3, 4}),
		one("LogSoftmax axis -1", "LogSoftmax", 13, []int{2, 5}, ir.IntAttr("axis", -1)),
		one("LogSoftmax axis 0", "LogSoftmax", 13, []int{3, 4}, ir.IntAttr("axis", 0)),
		one("ReduceMean axes [1] keepdims 0", "ReduceMean", 13, []int{2, 3, 4}, ir.IntsAttr("axes", 1), ir.IntAttr("keepdims", 0)),
		one("ReduceMean axes [-1, 0]", "ReduceMean", 13, []int{2, 3, 4}, ir.IntsAttr("axes", -1, 0)),
		one("ReduceMax axes [-2]", "ReduceMax", 13, []int{2, 3, 4}, ir.IntsAttr("axes", -2)),
		one("ReduceMin all", "ReduceMin", 13, []int{2, 3}, ir.IntAttr("keepdims", 0)),
		one("ReduceSumSquare", "ReduceSumSquare", 13, []int{2, 3}, ir.IntsAttr("axes", 1)),
		one("ReduceL2", "ReduceL2", 13, []int{2, 3}, ir.IntsAttr("axes", 0)),
		{name: "ReduceSum axes input [-1] (opset 13)", build: func(b *gb) {
			b.out(b.node("ReduceSum", []*ir.Value{b.input("x", 2, 3, 4), b.ints("ax", -1)}, ir.IntAttr("keepdims", 0)))
		}, shapes: map[string][]int{"x": {2, 3, 4}}},
		{name: "ReduceSum all (no axes)", build: func(b *gb) {
			b.out(b.node("ReduceSum", []*ir.Value{b.input("x", 2, 3)}))
		}, shapes: map[string][]int{"x": {2, 3}}},
	}
	return cases
}

func TestFDShapeOps(t *testing.T) { runFD(t, fdShapeOpsCases()) }

func fdShapeOpsCases() []fdCase {
	x := func(b *gb, d ...int) *ir.Value { return b.input("x", d...) }
	in := func(d ...int) map[string][]int { return map[string][]int{"x": d} }
	cases := []fdCase{
		{name: "Reshape 0 and -1", build: func(b *gb) {
			b.out(b.node("Reshape", []*ir.Value{x(b, 2, 3, 4), b.ints("s", 0, -1)}))
		}, shapes: in(2, 3, 4)},
		{name: "Flatten axis -2", build: func(b *gb) {
			b.out(b.node("Flatten", []*ir.Value{x(b, 2, 3, 4)}, ir.IntAttr("axis", -2)))
		}, shapes: in(2, 3, 4)},
		{name: "Squeeze axes [-1]", build: func(b *gb) {
			b.out(b.node("Squeeze", []*ir.Value{x(b, 2, 3, 1), b.ints("a", -1)}))
		}, shapes: in(2, 3, 1)},
		{name: "Unsqueeze axes [-1, 0] (opset 13)", build: func(b *gb) {
			b.out(b.node("Unsqueeze", []*ir.Value{x(b, 2, 3), b.ints("a", -1, 0)}))
		}, shapes: in(2, 3)},
		{name: "Unsqueeze attr (opset 11)", opset: 11, build: func(b *gb) {
			b.out(b.node("Unsqueeze", []*ir.Value{x(b, 2, 3)}, ir.IntsAttr("axes", 1)))
		}, shapes: in(2, 3)},
		{name: "Transpose [1,2,0]", build: func(b *gb) {
			b.out(b.node("Transpose", []*ir.Value{x(b, 2, 3, 4)}, ir.IntsAttr("perm", 1, 2, 0)))
		}, shapes: in(2, 3, 4)},
		{name: "Transpose default", build: func(b *gb) {
			b.out(b.node("Transpose", []*ir.Value{x(b, 2, 3, 4)}))
		}, shapes: in(2, 3, 4)},
		{name: "Concat axis -1 with param", build: func(b *gb) {
			b.out(b.node("Concat", []*ir.Value{x(b, 2, 3), b.param("p", 2, 2), x(b, 2, 3)}, ir.IntAttr("axis", -1)))
		}, shapes: in(2, 3)},
		{name: "Split sizes input axis 1", build: func(b *gb) {
			outs := b.nodeN("Split", []*ir.Value{x(b, 2, 5), b.ints("s", 2, 3)}, 2, ir.IntAttr("axis", 1))
			b.out(outs...)
		}, shapes: in(2, 5)},
		{name: "Split equal, one output unused", opset: 11, build: func(b *gb) {
			outs := b.nodeN("Split", []*ir.Value{x(b, 6, 2)}, 3, ir.IntAttr("axis", 0))
			b.out(outs[0], outs[2])
		}, shapes: in(6, 2)},
		{name: "Slice negative starts/ends/axes", build: func(b *gb) {
			b.out(b.node("Slice", []*ir.Value{x(b, 4, 6), b.ints("s", -5, 1), b.ints("e", -1, 100), b.ints("a", -1, 0)}))
		}, shapes: in(4, 6)},
		{name: "Slice negative step", build: func(b *gb) {
			b.out(b.node("Slice", []*ir.Value{x(b, 4, 6), b.ints("s", -1), b.ints("e", -100), b.ints("a", 1), b.ints("st", -2)}))
		}, shapes: in(4, 6)},
		{name: "Slice opset 9 attrs", opset: 9, build: func(b *gb) {
			b.out(b.node("Slice", []*ir.Value{x(b, 4, 6)}, ir.IntsAttr("starts", 1), ir.IntsAttr("ends", -1), ir.IntsAttr("axes", 0)))
		}, shapes: in(4, 6)},
		{name: "Gather scalar -1 axis 1 (out[:, -1])", build: func(b *gb) {
			b.out(b.node("Gather", []*ir.Value{x(b, 2, 6, 3), b.scalarInt("i", -1)}, ir.IntAttr("axis", 1)))
		}, shapes: in(2, 6, 3)},
		{name: "Gather repeated indices (embedding)", build: func(b *gb) {
			idx := b.g.AddInitializer(ir.NewInt64("idx", []int64{2, 3}, []int64{0, 2, 0, -1, 1, 2}))
			b.out(b.node("Gather", []*ir.Value{b.param("emb", 4, 3), idx}))
		}, shapes: nil},
		{name: "Expand", build: func(b *gb) {
			b.out(b.node("Expand", []*ir.Value{x(b, 3, 1), b.ints("s", 2, 1, 4)}))
		}, shapes: in(3, 1)},
		{name: "Pad constant", build: func(b *gb) {
			b.out(b.node("Pad", []*ir.Value{x(b, 2, 3), b.ints("p", 1, 0, 2, 1), b.constF(0.5)}))
		}, shapes: in(2, 3)},
		{name: "Pad reflect", build: func(b *gb) {
			b.out(b.node("Pad", []*ir.Value{x(b, 3, 4), b.ints("p", 0, 2, 0, 3)}, ir.StringAttr("mode", "reflect")))
		}, shapes: in(3, 4)},
		{name: "Pad edge negative", build: func(b *gb) {
			b.out(b.node("Pad", []*ir.Value{x(b, 3, 4), b.ints("p", 2, -1, 1, 2)}, ir.StringAttr("mode", "edge")))
		}, shapes: in(3, 4)},
		{name: "Tile", build: func(b *gb) {
			b.out(b.node("Tile", []*ir.Value{x(b, 2, 3), b.ints("r", 2, 2)}))
		}, shapes: in(2, 3)},
	}
	return cases
}

func TestFDDropoutLSTM(t *testing.T) { runFD(t, fdDropoutLSTMCases()) }

func fdDropoutLSTMCases() []fdCase {
	lstm := func(name, dir string, D int, withB, withInit bool) fdCase {
		return fdCase{name: name, build: func(b *gb) {
			T, N, I, H := 3, 2, 4, 3
			ins := []*ir.Value{b.input("x", T, N, I), b.param("W", D, 4*H, I), b.param("R", D, 4*H, H), nil, nil, nil, nil}
			if withB {
				ins[3] = b.param("B", D, 8*H)
			}
			if withInit {
				ins[5], ins[6] = b.param("h0", D, N, H), b.param("c0", D, N, H)
			}
			outs := b.nodeN("LSTM", ins, 3, ir.IntAttr("hidden_size", int64(H)), ir.StringAttr("direction", dir))
			b.out(outs...)
		}, shapes: map[string][]int{"x": {3, 2, 4}}}
	}
	cases := []fdCase{
		{name: "Dropout train p=0.3 (ratio + training_mode inputs)", mode: Train, build: func(b *gb) {
			outs := b.nodeN("Dropout", []*ir.Value{b.input("x", 4, 5), b.constF(0.3), b.constBool(true)}, 2)
			b.out(outs[0])
		}, shapes: map[string][]int{"x": {4, 5}}},
		{name: "Dropout eval", build: func(b *gb) {
			b.out(b.node("Dropout", []*ir.Value{b.input("x", 4, 5), b.constF(0.3)}))
		}, shapes: map[string][]int{"x": {4, 5}}},
		lstm("LSTM forward", "forward", 1, true, true),
		lstm("LSTM reverse no bias", "reverse", 1, false, true),
		lstm("LSTM bidirectional zero state", "bidirectional", 2, true, false),
	}
	return cases
}

// The export patterns PyTorch produces for the fixtures (testdata/models),
// differentiated as a whole:
// PyTorch's LSTM export (weights rearranged in the graph by Slice/Concat,
// h0/c0 from ConstantOfShape of a runtime-computed shape, out[:, -1] as
// Gather with a scalar −1) and a batch-dependent Reshape whose shape comes
// from Shape→Gather→Unsqueeze→Concat.
func TestFDExportPatterns(t *testing.T) { runFD(t, fdExportPatternsCases()) }

func fdExportPatternsCases() []fdCase {
	cases := []fdCase{
		{name: "LSTM as exported by PyTorch", build: func(b *gb) {
			const H, I = 3, 2
			x := b.input("x", -1, 4, I) // batch_first [N, T, I]
			wih, whh := b.param("lstm.weight_ih_l0", 4*H, I), b.param("lstm.weight_hh_l0", 4*H, H)
			bih, bhh := b.param("lstm.bias_ih_l0", 4*H), b.param("lstm.bias_hh_l0", 4*H)
			reorder := func(w *ir.Value) *ir.Value { // i,f,g,o → i,o,f,c
				s := func(lo, hi int64) *ir.Value {
					return b.node("Slice", []*ir.Value{w, b.ints(b.g.UniqueName("s"), lo), b.ints(b.g.UniqueName("e"), hi), b.ints(b.g.UniqueName("a"), 0)})
				}
				return b.node("Concat", []*ir.Value{s(0, H), s(3*H, 4*H), s(H, 3*H)}, ir.IntAttr("axis", 0))
			}
			zero := b.ints("zero", 0)
			W := b.node("Unsqueeze", []*ir.Value{reorder(wih), zero})
			R := b.node("Unsqueeze", []*ir.Value{reorder(whh), zero})
			B := b.node("Unsqueeze", []*ir.Value{b.node("Concat", []*ir.Value{reorder(bih), reorder(bhh)}, ir.IntAttr("axis", 0)), zero})
			n := b.node("Gather", []*ir.Value{b.node("Shape", []*ir.Value{x}), b.scalarInt("i0", 0)})
			shape := b.node("Concat", []*ir.Value{b.ints("one", 1), b.node("Unsqueeze", []*ir.Value{n, zero}), b.ints("h", H)}, ir.IntAttr("axis", 0))
			h0 := b.node("ConstantOfShape", []*ir.Value{shape}, ir.TensorAttr("value", ir.NewFloat32("v", []int64{1}, []float32{0})))
			xt := b.node("Transpose", []*ir.Value{x}, ir.IntsAttr("perm", 1, 0, 2))
			outs := b.nodeN("LSTM", []*ir.Value{xt, W, R, B, nil, h0, h0}, 3, ir.IntAttr("hidden_size", H))
			y := b.node("Transpose", []*ir.Value{b.node("Squeeze", []*ir.Value{outs[0], b.ints("one2", 1)})}, ir.IntsAttr("perm", 1, 0, 2))
			last := b.node("Gather", []*ir.Value{y, b.scalarInt("m1", -1)}, ir.IntAttr("axis", 1))
			b.out(b.node("Gemm", []*ir.Value{last, b.param("fc.weight", 2, H), b.param("fc.bias", 2)}, ir.IntAttr("transB", 1)))
		}, shapes: map[string][]int{"x": {3, 4, 2}}},
		{name: "Reshape from Shape→Gather→Unsqueeze→Concat", build: func(b *gb) {
			x := b.input("x", -1, 6)
			sh := b.node("Shape", []*ir.Value{x})
			n := b.node("Gather", []*ir.Value{sh, b.scalarInt("i0", 0)})
			n2 := b.node("Mul", []*ir.Value{n, b.scalarInt("two", 2)})
			shape := b.node("Concat", []*ir.Value{b.node("Unsqueeze", []*ir.Value{n2, b.ints("z", 0)}), b.ints("m1", -1)}, ir.IntAttr("axis", 0))
			r := b.node("Reshape", []*ir.Value{b.node("MatMul", []*ir.Value{x, b.param("w", 6, 6)}), shape})
			b.out(b.node("Softmax", []*ir.Value{r}, ir.IntAttr("axis", -1)))
		}, shapes: map[string][]int{"x": {5, 6}}},
	}
	return cases
}

func runFD(t *testing.T, cases []fdCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { fdCheck(t, c) })
	}
}

// Every supported op with a gradient appears in at least one
// finite-difference case.
func TestFDCoverage(t *testing.T) {
	seen := map[string]bool{}
	for _, list := range [][]fdCase{fdUnaryCases(), fdBinaryCases(), fdMatMulCases(), fdConvPoolCases(),
		fdNormCases(), fdSoftmaxReduceCases(), fdShapeOpsCases(), fdDropoutLSTMCases(), fdExportPatternsCases(), fdIssue12Cases()} {
		for _, c := range list {
			b := newGB(13)
			c.build(b)
			for _, n := range b.g.Nodes {
				seen[n.OpType] = true
			}
		}
	}
	// ops without a gradient: shape arithmetic, comparisons, logic, constants
	noGrad := map[string]bool{"Shape": true, "Size": true, "Constant": true, "ConstantOfShape": true, "Range": true,
		"Equal": true, "Less": true, "LessOrEqual": true, "Greater": true, "GreaterOrEqual": true,
		"And": true, "Or": true, "Xor": true, "Not": true, "Floor": true, "Ceil": true}
	for _, op := range SupportedOps() {
		if !seen[op] && !noGrad[op] {
			t.Errorf("%s has no finite-difference case", op)
		}
	}
}
