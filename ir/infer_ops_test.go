package ir_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// Shape functions, one op family at a time, on small graphs built by hand.
// Expected shapes follow the ONNX operator specification (opsets 11-17);
// window sizes are also checked against PyTorch in infer_window_test.go and
// whole exports against real runs in infer_fixtures_test.go.

func TestInferElementwiseBroadcast(t *testing.T) {
	b := newTG(t, 13)
	x := b.f("x", "batch", 3, 1)
	y := b.f("y", 4)
	z := b.f("z", 1, "batch", 1, 1)
	add := b.out1("Add", []*ir.Value{x, y})
	mul := b.out1("Mul", []*ir.Value{z, x})
	sym := b.out1("Sub", []*ir.Value{b.f("p", "n"), b.f("q", 5)}) // n must be 1 or 5
	two := b.out1("Div", []*ir.Value{b.f("r", "n2"), b.f("s", "m2")})
	cmp := b.out1("Less", []*ir.Value{x, y})
	relu := b.out1("Relu", []*ir.Value{add})
	isnan := b.out1("IsNaN", []*ir.Value{add})
	pow := b.out1("Pow", []*ir.Value{x, b.in("e", ir.Int64)}) // exponent type may differ from the base
	mx := b.out1("Max", []*ir.Value{x, y, b.f("w", 2, 1, 1, 1)})
	where := b.out1("Where", []*ir.Value{cmp, x, y})
	b.infer()
	is(t, add, ir.Float32, "[batch, 3, 4]")
	is(t, mul, ir.Float32, "[1, batch, 3, 1]")
	is(t, sym, ir.Float32, "[5]")
	is(t, two, ir.Float32, "[?]")
	is(t, cmp, ir.Bool, "[batch, 3, 4]")
	is(t, relu, ir.Float32, "[batch, 3, 4]")
	is(t, isnan, ir.Bool, "[batch, 3, 4]")
	is(t, pow, ir.Float32, "[batch, 3, 1]") // a scalar exponent
	is(t, mx, ir.Float32, "[2, batch, 3, 4]")
	is(t, where, ir.Float32, "[batch, 3, 4]")
}

func TestInferMatMulGemm(t *testing.T) {
	b := newTG(t, 13)
	x := b.f("x", "batch", 8, 32)
	vec := b.f("v", 32)
	mm := b.out1("MatMul", []*ir.Value{x, b.w("w", 32, 16)})
	bmm := b.out1("MatMul", []*ir.Value{b.f("a", 2, 1, "m", 5), b.f("c", 7, 5, 6)})
	mv := b.out1("MatMul", []*ir.Value{x, vec})
	vm := b.out1("MatMul", []*ir.Value{vec, b.w("w2", 32, 3)})
	gemm := b.out1("Gemm", []*ir.Value{b.f("g", "batch", 784), b.w("gw", 256, 784), b.w("gb", 256)}, ir.IntAttr("transB", 1))
	gemmT := b.out1("Gemm", []*ir.Value{b.f("h", 10, "batch"), b.w("hw", 10, 3)}, ir.IntAttr("transA", 1))
	b.infer()
	is(t, mm, ir.Float32, "[batch, 8, 16]")
	is(t, bmm, ir.Float32, "[2, 7, m, 6]")
	is(t, mv, ir.Float32, "[batch, 8]")
	is(t, vm, ir.Float32, "[3]")
	is(t, gemm, ir.Float32, "[batch, 256]")
	is(t, gemmT, ir.Float32, "[batch, 3]")
}

func TestInferConvPool(t *testing.T) {
	b := newTG(t, 13)
	x := b.f("x", "batch", 3, 32, 32)
	conv := b.out1("Conv", []*ir.Value{x, b.w("w", 64, 3, 7, 7)},
		ir.IntsAttr("strides", 2, 2), ir.IntsAttr("pads", 3, 3, 3, 3))
	pool := b.node("MaxPool", []*ir.Value{conv}, 2, ir.IntsAttr("kernel_shape", 3, 3),
		ir.IntsAttr("strides", 2, 2), ir.IntsAttr("pads", 1, 1, 1, 1))
	dw := b.out1("Conv", []*ir.Value{pool.Outputs[0], b.w("dw", 64, 1, 3, 3)},
		ir.IntAttr("group", 64), ir.StringAttr("auto_pad", "SAME_UPPER"), ir.IntsAttr("strides", 2, 2))
	// A symbolic spatial size: stride 2, kernel 3, pad 1 halves an even size.
	img := b.f("img", "batch", 3, "2*h", "4*w")
	half := b.out1("Conv", []*ir.Value{img, b.w("w3", 8, 3, 3, 3)}, ir.IntsAttr("strides", 2, 2), ir.IntsAttr("pads", 1, 1, 1, 1))
	same := b.out1("Conv", []*ir.Value{img, b.w("w4", 8, 3, 3, 3)}, ir.IntsAttr("pads", 1, 1, 1, 1))
	valid := b.out1("Conv", []*ir.Value{img, b.w("w5", 8, 3, 3, 3)})
	gap := b.out1("GlobalAveragePool", []*ir.Value{dw})
	ceil := b.out1("AveragePool", []*ir.Value{b.f("p", 1, 2, 5, 5)}, ir.IntsAttr("kernel_shape", 2, 2),
		ir.IntsAttr("strides", 2, 2), ir.IntAttr("ceil_mode", 1))
	ct := b.out1("ConvTranspose", []*ir.Value{b.f("ct", "batch", 4, "h", 5), b.w("ctw", 4, 2, 2, 2)},
		ir.IntsAttr("strides", 2, 2), ir.IntAttr("group", 2))
	conv1d := b.out1("Conv", []*ir.Value{b.f("seq", "batch", 16, 100), b.w("w1d", 32, 16, 5)}, ir.IntsAttr("dilations", 2))
	b.infer()
	is(t, conv, ir.Float32, "[batch, 64, 16, 16]")
	is(t, pool.Outputs[0], ir.Float32, "[batch, 64, 8, 8]")
	is(t, pool.Outputs[1], ir.Int64, "[batch, 64, 8, 8]")
	is(t, dw, ir.Float32, "[batch, 64, 4, 4]")
	is(t, half, ir.Float32, "[batch, 8, h, 2*w]")
	is(t, same, ir.Float32, "[batch, 8, 2*h, 4*w]")
	is(t, valid, ir.Float32, "[batch, 8, ?, ?]") // 2h − 2 is not a monomial
	is(t, gap, ir.Float32, "[batch, 64, 1, 1]")
	is(t, ceil, ir.Float32, "[1, 2, 3, 3]")
	is(t, ct, ir.Float32, "[batch, 4, 2*h, 10]")
	is(t, conv1d, ir.Float32, "[batch, 32, 92]")
}

func TestInferNormalizationDropout(t *testing.T) {
	b := newTG(t, 13)
	x := b.f("x", "batch", 16, 8, 8)
	bn5 := b.node("BatchNormalization", []*ir.Value{x, b.w("s", 16), b.w("b", 16), b.w("m", 16), b.w("v", 16)}, 5)
	bn1 := b.node("BatchNormalization", []*ir.Value{x, b.w("s1", 16), b.w("b1", 16), b.w("m1", 16), b.w("v1", 16)}, 1)
	ratio := b.g.AddInitializer(ir.NewFloat32("ratio", nil, []float32{0.5}))
	train := b.g.AddInitializer(&ir.Tensor{Name: "train", DType: ir.Bool, Raw: []byte{1}})
	drop := b.node("Dropout", []*ir.Value{x, ratio, train}, 2)
	t3 := b.f("t", "batch", "seq", 32)
	ln := b.node("LayerNormalization", []*ir.Value{t3, b.w("lnw", 32), b.w("lnb", 32)}, 3, ir.IntAttr("axis", -1))
	sm := b.out1("Softmax", []*ir.Value{t3}, ir.IntAttr("axis", 1))
	inorm := b.out1("InstanceNormalization", []*ir.Value{x, b.w("is", 16), b.w("ib", 16)})
	b.infer()
	for i, want := range []string{"[batch, 16, 8, 8]", "[16]", "[16]", "[16]", "[16]"} {
		is(t, bn5.Outputs[i], ir.Float32, want)
	}
	is(t, bn1.Outputs[0], ir.Float32, "[batch, 16, 8, 8]")
	is(t, drop.Outputs[0], ir.Float32, "[batch, 16, 8, 8]")
	is(t, drop.Outputs[1], ir.Bool, "[batch, 16, 8, 8]")
	is(t, ln.Outputs[0], ir.Float32, "[batch, seq, 32]")
	is(t, ln.Outputs[1], ir.Float32, "[batch, seq, 1]")
	is(t, ln.Outputs[2], ir.Float32, "[batch, seq, 1]")
	is(t, sm, ir.Float32, "[batch, seq, 32]")
	is(t, inorm, ir.Float32, "[batch, 16, 8, 8]")

	// Opset 15: BatchNormalization training_mode=1 with 3 outputs.
	b = newTG(t, 15)
	x = b.f("x", "batch", 4)
	bn3 := b.node("BatchNormalization", []*ir.Value{x, b.w("s", 4), b.w("b", 4), b.w("m", 4), b.w("v", 4)}, 3, ir.IntAttr("training_mode", 1))
	b.infer()
	is(t, bn3.Outputs[0], ir.Float32, "[batch, 4]")
	is(t, bn3.Outputs[1], ir.Float32, "[4]")
	is(t, bn3.Outputs[2], ir.Float32, "[4]")
}

func TestInferRecurrent(t *testing.T) {
	b := newTG(t, 14)
	x := b.f("x", "seq", "batch", 8)
	lstm := b.node("LSTM", []*ir.Value{x, b.w("W", 1, 64, 8), b.w("R", 1, 64, 16), b.w("B", 1, 128)}, 3, ir.IntAttr("hidden_size", 16))
	bi := b.node("LSTM", []*ir.Value{x, b.w("W2", 2, 64, 8), b.w("R2", 2, 64, 16)}, 3, ir.StringAttr("direction", "bidirectional"))
	xb := b.f("xb", "batch", 6, 8)
	gru := b.node("GRU", []*ir.Value{xb, b.w("W3", 1, 48, 8), b.w("R3", 1, 48, 16)}, 2, ir.IntAttr("hidden_size", 16), ir.IntAttr("layout", 1))
	rnn := b.node("RNN", []*ir.Value{x, b.w("W4", 1, 5, 8), b.w("R4", 1, 5, 5)}, 2, ir.IntAttr("hidden_size", 5))
	b.infer()
	is(t, lstm.Outputs[0], ir.Float32, "[seq, 1, batch, 16]")
	is(t, lstm.Outputs[1], ir.Float32, "[1, batch, 16]")
	is(t, lstm.Outputs[2], ir.Float32, "[1, batch, 16]")
	is(t, bi.Outputs[0], ir.Float32, "[seq, 2, batch, 16]") // hidden size from R
	is(t, gru.Outputs[0], ir.Float32, "[batch, 6, 1, 16]")
	is(t, gru.Outputs[1], ir.Float32, "[batch, 1, 16]")
	is(t, rnn.Outputs[1], ir.Float32, "[1, batch, 5]")
}

// TestInferShapeTensors follows runtime shape computations the way PyTorch
// exports them: Shape → Gather → Mul/Div → Unsqueeze → Concat → Reshape,
// Shape → Slice, ConstantOfShape of a computed shape, Expand with the
// Where(Equal(shape, -1), 1, shape) pattern.
func TestInferShapeTensors(t *testing.T) {
	b := newTG(t, 13)
	x := b.f("x", 8, "batch", 32) // [T, N, E]
	shape := b.out1("Shape", []*ir.Value{x})
	t0 := b.out1("Gather", []*ir.Value{shape, b.scalar("i0", 0)})
	n := b.out1("Gather", []*ir.Value{shape, b.scalar("i1", 1)})
	e := b.out1("Gather", []*ir.Value{shape, b.scalar("i2", 2)})
	heads := b.out1("Mul", []*ir.Value{n, b.scalar("four", 4)})
	hd := b.out1("Cast", []*ir.Value{b.out1("Div", []*ir.Value{e, b.scalar("four2", 4)})}, ir.IntAttr("to", int64(ir.Int64)))
	u := func(v *ir.Value) *ir.Value {
		return b.out1("Unsqueeze", []*ir.Value{v, b.ints(b.g.UniqueName("ax"), 0)})
	}
	cat := b.out1("Concat", []*ir.Value{u(t0), u(heads), u(hd)}, ir.IntAttr("axis", 0))
	r := b.out1("Reshape", []*ir.Value{x, cat})
	tail := b.out1("Slice", []*ir.Value{shape, b.ints("s0", 1), b.ints("s1", 9223372036854775807)})
	h0 := b.out1("ConstantOfShape", []*ir.Value{cat}, ir.TensorAttr("value", ir.NewFloat32("", []int64{1}, []float32{0})))
	ones := b.out1("ConstantOfShape", []*ir.Value{b.out1("Shape", []*ir.Value{cat})}, ir.TensorAttr("value", ir.NewInt64("", []int64{1}, []int64{1})))
	target := b.out1("Concat", []*ir.Value{b.ints("lead", 2, -1), tail}, ir.IntAttr("axis", 0)) // [2, -1, N, E]
	isNeg := b.out1("Equal", []*ir.Value{target, b.out1("Mul", []*ir.Value{b.out1("ConstantOfShape", []*ir.Value{b.out1("Shape", []*ir.Value{target})}, ir.TensorAttr("value", ir.NewInt64("", []int64{1}, []int64{1}))), b.scalar("m1", -1)})})
	fixed := b.out1("Where", []*ir.Value{isNeg, b.out1("ConstantOfShape", []*ir.Value{b.ints("four_", 4)}, ir.TensorAttr("value", ir.NewInt64("", []int64{1}, []int64{1}))), target})
	exp := b.out1("Expand", []*ir.Value{b.f("small", 1, 1, 32), fixed})
	numel := b.out1("ReduceProd", []*ir.Value{shape}, ir.IntAttr("keepdims", 0))
	size := b.out1("Size", []*ir.Value{x})
	flat := b.out1("Reshape", []*ir.Value{x, u(numel)})
	rng := b.out1("Range", []*ir.Value{b.scalar("r0", 0), n, b.scalar("r1", 1)})
	b.infer()
	is(t, shape, ir.Int64, "[3]")
	is(t, t0, ir.Int64, "[]")
	is(t, cat, ir.Int64, "[3]")
	is(t, r, ir.Float32, "[8, 4*batch, 8]")
	is(t, tail, ir.Int64, "[2]")
	is(t, h0, ir.Float32, "[8, 4*batch, 8]")
	is(t, ones, ir.Int64, "[3]")
	is(t, exp, ir.Float32, "[2, 1, batch, 32]")
	is(t, numel, ir.Int64, "[]")
	is(t, size, ir.Int64, "[]")
	is(t, flat, ir.Float32, "[256*batch]")
	is(t, rng, ir.Int64, "[batch]")
}

func TestInferReshapeFamily(t *testing.T) {
	b := newTG(t, 14)
	x := b.f("x", "batch", 16, 4, 4)
	flat := b.out1("Flatten", []*ir.Value{x})
	flat0 := b.out1("Flatten", []*ir.Value{x}, ir.IntAttr("axis", 0))
	flat3 := b.out1("Flatten", []*ir.Value{x}, ir.IntAttr("axis", -1))
	keep := b.out1("Reshape", []*ir.Value{x, b.ints("s1", 0, -1)})
	heads := b.out1("Reshape", []*ir.Value{x, b.ints("s2", -1, 8, 4)})
	zero := b.out1("Reshape", []*ir.Value{b.f("z", 0, 3), b.ints("s3", 0, 3)}, ir.IntAttr("allowzero", 1))
	tr := b.out1("Transpose", []*ir.Value{x}, ir.IntsAttr("perm", 0, 2, 3, 1))
	rev := b.out1("Transpose", []*ir.Value{x})
	// Unknown shape contents but known length: rank known; a 1-D target is
	// always the element count.
	dyn := b.out1("Reshape", []*ir.Value{x, b.in("dynshape", ir.Int64, 3)})
	dyn1 := b.out1("Reshape", []*ir.Value{x, b.in("dyn1", ir.Int64, 1)})
	b.infer()
	is(t, flat, ir.Float32, "[batch, 256]")
	is(t, flat0, ir.Float32, "[1, 256*batch]")
	is(t, flat3, ir.Float32, "[64*batch, 4]")
	is(t, keep, ir.Float32, "[batch, 256]")
	is(t, heads, ir.Float32, "[8*batch, 8, 4]")
	is(t, zero, ir.Float32, "[0, 3]")
	is(t, tr, ir.Float32, "[batch, 4, 4, 16]")
	is(t, rev, ir.Float32, "[4, 4, 16, batch]")
	is(t, dyn, ir.Float32, "[?, ?, ?]")
	is(t, dyn1, ir.Float32, "[256*batch]")
}

// TestInferAxesAttrVsInput: Squeeze, Unsqueeze, ReduceSum and Split take
// axes (split sizes) as attributes before opset 13 and as inputs from 13.
func TestInferAxesAttrVsInput(t *testing.T) {
	for _, opset := range []int64{11, 13} {
		b := newTG(t, opset)
		x := b.f("x", "batch", 1, 6)
		axes := func(name string, a ...int64) ([]*ir.Value, []*ir.Attribute) {
			if opset >= 13 {
				return []*ir.Value{x, b.ints(name, a...)}, nil
			}
			return []*ir.Value{x}, []*ir.Attribute{ir.IntsAttr("axes", a...)}
		}
		ins, at := axes("a1", 1)
		sq := b.out1("Squeeze", ins, at...)
		ins, at = axes("a2", 0, -1)
		unsq := b.out1("Unsqueeze", ins, at...)
		ins, at = axes("a3", -1)
		rsum := b.out1("ReduceSum", ins, append(at, ir.IntAttr("keepdims", 0))...)
		rmean := b.out1("ReduceMean", []*ir.Value{x}, ir.IntsAttr("axes", 2))
		rall := b.out1("ReduceMax", []*ir.Value{x}, ir.IntAttr("keepdims", 0))
		var split *ir.Node
		if opset >= 13 {
			split = b.node("Split", []*ir.Value{x, b.ints("sp", 2, 4)}, 2, ir.IntAttr("axis", -1))
		} else {
			split = b.node("Split", []*ir.Value{x}, 2, ir.IntAttr("axis", -1), ir.IntsAttr("split", 2, 4))
		}
		even := b.node("Split", []*ir.Value{b.f("y", "2*batch", 3)}, 2)
		b.infer()
		is(t, sq, ir.Float32, "[batch, 6]")
		is(t, unsq, ir.Float32, "[1, batch, 1, 6, 1]")
		is(t, rsum, ir.Float32, "[batch, 1]")
		is(t, rmean, ir.Float32, "[batch, 1, 1]")
		is(t, rall, ir.Float32, "[]")
		is(t, split.Outputs[0], ir.Float32, "[batch, 1, 2]")
		is(t, split.Outputs[1], ir.Float32, "[batch, 1, 4]")
		is(t, even.Outputs[1], ir.Float32, "[batch, 3]")
	}
	// noop_with_empty_axes (ReduceSum-13): empty axes leave the input as is.
	b := newTG(t, 13)
	x := b.f("x", "batch", 3)
	noop := b.out1("ReduceSum", []*ir.Value{x, b.g.AddInitializer(ir.NewInt64("none", []int64{0}, nil))}, ir.IntAttr("noop_with_empty_axes", 1))
	b.infer()
	is(t, noop, ir.Float32, "[batch, 3]")
}

func TestInferSliceGatherConcat(t *testing.T) {
	b := newTG(t, 13)
	x := b.f("x", "batch", 6, 96)
	q := b.out1("Slice", []*ir.Value{x, b.ints("st", 32), b.ints("en", 64), b.ints("ax", -1)})
	last := b.out1("Gather", []*ir.Value{x, b.scalar("m1", -1)}, ir.IntAttr("axis", 1))
	rows := b.out1("Gather", []*ir.Value{b.w("emb", 100, 16), b.in("tok", ir.Int64, "batch", "seq")})
	flip := b.out1("Slice", []*ir.Value{x, b.ints("fs", -1), b.ints("fe", -9223372036854775807), b.ints("fa", 0), b.ints("fst", -1)})
	step := b.out1("Slice", []*ir.Value{x, b.ints("ss", 0), b.ints("se", 96), b.ints("sa", 2), b.ints("sst", 5)})
	cat := b.out1("Concat", []*ir.Value{x, x}, ir.IntAttr("axis", 0))
	cat2 := b.out1("Concat", []*ir.Value{x, q}, ir.IntAttr("axis", -1))
	pad := b.out1("Pad", []*ir.Value{x, b.ints("pads", 0, 1, 2, 0, 3, 4)})
	tile := b.out1("Tile", []*ir.Value{x, b.ints("rep", 2, 1, 3)})
	b.infer()
	is(t, q, ir.Float32, "[batch, 6, 32]")
	is(t, last, ir.Float32, "[batch, 96]")
	is(t, rows, ir.Float32, "[batch, seq, 16]")
	is(t, flip, ir.Float32, "[batch, 6, 96]")
	is(t, step, ir.Float32, "[batch, 6, 20]")
	is(t, cat, ir.Float32, "[2*batch, 6, 96]")
	is(t, cat2, ir.Float32, "[batch, 6, 128]")
	is(t, pad, ir.Float32, "[batch, 10, 102]")
	is(t, tile, ir.Float32, "[2*batch, 6, 288]")
}

// TestInferSliceNegativeStepClamp pins the ONNX spec's rule where Python
// differs: "start ... is clamped into the range [0, dims[axes[i]]-1] for
// negative stepping", so x[-9:-9:-1] on 7 elements starts at 0 and ends at
// -1 (ends are clamped to [-1, dims-1]): one element.
func TestInferSliceNegativeStepClamp(t *testing.T) {
	b := newTG(t, 13)
	y := b.out1("Slice", []*ir.Value{b.f("x", 7), b.ints("s", -9), b.ints("e", -9), b.ints("a", 0), b.ints("st", -1)})
	b.infer()
	is(t, y, ir.Float32, "[1]")
}

func TestInferMisc(t *testing.T) {
	b := newTG(t, 13)
	x := b.f("x", "batch", 10)
	cast := b.out1("Cast", []*ir.Value{x}, ir.IntAttr("to", int64(ir.Float16)))
	castLike := b.out1("CastLike", []*ir.Value{x, b.in("i", ir.Int32)})
	topk := b.node("TopK", []*ir.Value{x, b.ints("k", 3)}, 2)
	arg := b.out1("ArgMax", []*ir.Value{x}, ir.IntAttr("axis", 1), ir.IntAttr("keepdims", 0))
	nz := b.out1("NonZero", []*ir.Value{x})
	cst := b.node("Constant", nil, 1, ir.IntsAttr("value_ints", 1, 2, 3)).Outputs[0]
	cstT := b.node("Constant", nil, 1, ir.TensorAttr("value", ir.NewFloat32("", []int64{2, 2}, make([]float32, 4)))).Outputs[0]
	id := b.out1("Identity", []*ir.Value{x})
	clip := b.out1("Clip", []*ir.Value{x, nil, b.g.AddInitializer(ir.NewFloat32("hi", nil, []float32{6}))})
	oh := b.out1("OneHot", []*ir.Value{b.in("lab", ir.Int64, "batch"), b.scalar("depth", 10), b.w("ohv", 2)})
	d2s := b.out1("DepthToSpace", []*ir.Value{b.f("img", "batch", 16, 3, 5)}, ir.IntAttr("blocksize", 2))
	resize := b.out1("Resize", []*ir.Value{b.f("r", "batch", 3, 8, 8), nil, b.g.AddInitializer(ir.NewFloat32("sc", []int64{4}, []float32{1, 1, 2, 0.5}))})
	b.infer()
	is(t, cast, ir.Float16, "[batch, 10]")
	is(t, castLike, ir.Int32, "[batch, 10]")
	is(t, topk.Outputs[0], ir.Float32, "[batch, 3]")
	is(t, topk.Outputs[1], ir.Int64, "[batch, 3]")
	is(t, arg, ir.Int64, "[batch]")
	is(t, nz, ir.Int64, "[2, ?]")
	is(t, cst, ir.Int64, "[3]")
	is(t, cstT, ir.Float32, "[2, 2]")
	is(t, id, ir.Float32, "[batch, 10]")
	is(t, clip, ir.Float32, "[batch, 10]")
	is(t, oh, ir.Float32, "[batch, 10]")
	is(t, d2s, ir.Float32, "[batch, 4, 6, 10]")
	is(t, resize, ir.Float32, "[batch, 3, 16, 4]")
}

// TestInferDeclaredTypes: a declared number is never overwritten (and a
// contradiction is an error); declared symbolic and unknown dims are
// refined by inference.
func TestInferDeclaredTypes(t *testing.T) {
	b := newTG(t, 13)
	x := b.f("x", "batch", 784)
	y := b.out1("Gemm", []*ir.Value{x, b.w("w", 10, 784)}, ir.IntAttr("transB", 1))
	b.g.AddOutput(y)
	y.Type = ir.TensorType(ir.Float32, dims("N", "?"))
	y.Type.Shape[0].Denotation = "DATA_BATCH"
	b.infer()
	is(t, y, ir.Float32, "[batch, 10]")
	if y.Type.Shape[0].Denotation != "DATA_BATCH" {
		t.Error("denotation lost")
	}

	b = newTG(t, 13)
	x = b.f("x", "batch", 784)
	y = b.out1("Gemm", []*ir.Value{x, b.w("w", 10, 784)}, ir.IntAttr("transB", 1))
	b.g.AddOutput(y)
	y.Type = ir.TensorType(ir.Float32, dims(1, 10)) // batch fixed to 1 by the file
	b.infer()
	is(t, y, ir.Float32, "[1, 10]")

	b = newTG(t, 13)
	x = b.f("x", "batch", 784)
	y = b.out1("Gemm", []*ir.Value{x, b.w("w", 10, 784)}, ir.IntAttr("transB", 1))
	b.g.AddOutput(y)
	y.Type = ir.TensorType(ir.Float32, dims("batch", 12))
	b.inferErr(y.Producer.Name+" (Gemm)", "declared float32 [batch, 12] but inferred float32 [batch, 10]")
	is(t, y, ir.Float32, "[batch, 12]") // the declaration stands

	// A declared symbol that provably differs from the inferred size is a
	// contradiction too: 4*batch can never be batch.
	b = newTG(t, 13)
	x = b.f("x", "batch", 8)
	y = b.out1("Reshape", []*ir.Value{x, b.ints("s", -1, 2)})
	b.g.AddOutput(y)
	y.Type = ir.TensorType(ir.Float32, dims("batch", 2))
	b.inferErr("declared float32 [batch, 2] but inferred float32 [4*batch, 2]")

	// Undeclared intermediates are recomputed: a stale type from an earlier
	// run does not count as a declaration.
	b = newTG(t, 13)
	x = b.f("x", "batch", 4)
	r := b.out1("Relu", []*ir.Value{x})
	r.Type = ir.TensorType(ir.Float32, dims(7, 7, 7))
	b.infer()
	is(t, r, ir.Float32, "[batch, 4]")
}

func TestInferUnsupportedOps(t *testing.T) {
	b := newTG(t, 13)
	x := b.f("x", "batch", 4)
	custom := b.node("FancyOp", []*ir.Value{x}, 1)
	custom.Domain = "com.example"
	after := b.out1("Relu", []*ir.Value{custom.Outputs[0]})
	einsum := b.node("NotAnOnnxOp", []*ir.Value{x}, 1)
	typed := b.out1("Relu", []*ir.Value{einsum.Outputs[0]})
	einsum.Outputs[0].Type = ir.TensorType(ir.Float32, dims("batch", 2)) // declared in value_info
	b.g.ValueInfo = append(b.g.ValueInfo, einsum.Outputs[0])
	rep, err := ir.InferShapes(b.m)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Complete() || len(rep.Unsupported) != 2 {
		t.Fatalf("report %s: want 2 unsupported nodes", rep)
	}
	ops := strings.Join(rep.UnsupportedOps(), "; ")
	if !strings.Contains(ops, "com.example.FancyOp ("+custom.Name+")") || !strings.Contains(ops, "NotAnOnnxOp") {
		t.Errorf("UnsupportedOps = %q", ops)
	}
	unresolved := map[*ir.Value]bool{}
	for _, v := range rep.Unresolved {
		unresolved[v] = true
	}
	if !unresolved[custom.Outputs[0]] || !unresolved[after] || unresolved[typed] {
		t.Errorf("unresolved = %v; want FancyOp's output and the Relu after it, not the declared one", rep.Unresolved)
	}
	is(t, typed, ir.Float32, "[batch, 2]")
	if !strings.Contains(rep.String(), "no shape inference for 2 node(s)") {
		t.Errorf("String() = %q", rep.String())
	}
	for _, op := range []string{"Conv", "LSTM", "Reshape", "Where", "LayerNormalization"} {
		found := false
		for _, s := range ir.InferredOps() {
			found = found || s == op
		}
		if !found {
			t.Errorf("InferredOps lacks %s", op)
		}
	}
}

// TestInferOpsOfIssue3 makes sure every operator the executor must run
// (issue 3) and every operator of the fixtures has a shape function.
func TestInferOpsOfIssue3(t *testing.T) {
	need := strings.Fields(`Gemm MatMul Add Sub Mul Div Pow Sqrt Neg Exp Log Abs Reciprocal Relu LeakyRelu
		Elu Selu Sigmoid Tanh Softplus HardSigmoid HardSwish Clip Erf Gelu Softmax LogSoftmax Conv
		MaxPool AveragePool GlobalAveragePool BatchNormalization LayerNormalization ReduceMean Dropout
		Flatten Reshape Transpose Concat Split Slice Gather Squeeze Unsqueeze Shape ConstantOfShape
		Constant Identity Cast Expand Where Equal ReduceSum ReduceMax Pad LSTM Range`)
	have := map[string]bool{}
	for _, op := range ir.InferredOps() {
		have[op] = true
	}
	for _, op := range need {
		if !have[op] {
			t.Errorf("no shape function for %s", op)
		}
	}
}

func TestInferEinsum(t *testing.T) {
	b := newTG(t, 13)
	q := b.f("q", "batch", 4, 8, 16)
	k := b.f("k", "batch", 4, 10, 16)
	scores := b.out1("Einsum", []*ir.Value{q, k}, ir.StringAttr("equation", "bhqd,bhkd->bhqk"))
	implicit := b.out1("Einsum", []*ir.Value{b.f("a", 3, 5), b.f("c", 5, 7)}, ir.StringAttr("equation", "ij,jk"))
	ell := b.out1("Einsum", []*ir.Value{b.f("x", "batch", 6, 16), b.w("w", 16)}, ir.StringAttr("equation", "...d,d->..."))
	trace := b.out1("Einsum", []*ir.Value{b.f("m", 4, 4)}, ir.StringAttr("equation", "ii->"))
	b.infer()
	is(t, scores, ir.Float32, "[batch, 4, 8, 10]")
	is(t, implicit, ir.Float32, "[3, 7]")
	is(t, ell, ir.Float32, "[batch, 6]")
	is(t, trace, ir.Float32, "[]")

	b = newTG(t, 13)
	n := b.node("Einsum", []*ir.Value{b.f("a", 3, 5), b.f("c", 6, 7)}, 1, ir.StringAttr("equation", "ij,jk->ik"))
	b.inferErr(n.Label(), "subscript j is 5 in one operand and 6 in another")
}

// ElemTypes gives the element types InferShapes would write, without
// writing them; an operator inference does not know leaves its outputs out.
func TestElemTypes(t *testing.T) {
	b := newTG(t, 13)
	x := b.f("x", "batch", 4)
	shape := b.out1("Shape", []*ir.Value{x})
	eq := b.out1("Equal", []*ir.Value{x, x})
	idx := b.node("TopK", []*ir.Value{x, b.ints("k", 2)}, 2).Outputs[1]
	cast := b.out1("Cast", []*ir.Value{shape}, ir.IntAttr("to", int64(ir.Float16)))
	custom := b.out1("FancyOp", []*ir.Value{x})
	types := ir.ElemTypes(b.m)
	for _, c := range []struct {
		v    *ir.Value
		want ir.DType
	}{{x, ir.Float32}, {shape, ir.Int64}, {eq, ir.Bool}, {idx, ir.Int64}, {cast, ir.Float16}} {
		if got := types[c.v]; got != c.want {
			t.Errorf("%s: %s, want %s", c.v.Name, got, c.want)
		}
	}
	if d, ok := types[custom]; ok {
		t.Errorf("FancyOp's output: %s, want no type", d)
	}
	for _, v := range []*ir.Value{shape, eq, idx, cast} {
		if v.Type != nil {
			t.Errorf("%s: ElemTypes wrote type %v into the model", v.Name, v.Type)
		}
	}
}

// shapeValues are the values of shapeArithmetic's graph the tests look at.
type shapeValues struct{ reshape, sum, custom *ir.Value }

// shapeArithmetic is a graph whose shapes need integer tensors followed
// through Shape, Gather, Unsqueeze and Concat into a Reshape, then a value
// read twice (Add of a Relu with itself) and an operator inference does
// not know (FancyOp), in opset 13.
func shapeArithmetic(t *testing.T) (*tg, shapeValues) {
	b := newTG(t, 13)
	x := b.f("x", "batch", 4, 6)
	shape := b.out1("Shape", []*ir.Value{x})
	d0 := b.out1("Gather", []*ir.Value{shape, b.scalar("i0", 0)}, ir.IntAttr("axis", 0))
	u0 := b.out1("Unsqueeze", []*ir.Value{d0, b.ints("ax", 0)})
	cat := b.out1("Concat", []*ir.Value{u0, b.ints("rest", -1)}, ir.IntAttr("axis", 0))
	r := b.out1("Reshape", []*ir.Value{x, cat})
	relu := b.out1("Relu", []*ir.Value{r})
	sum := b.out1("Add", []*ir.Value{relu, relu})
	custom := b.out1("FancyOp", []*ir.Value{sum})
	return b, shapeValues{reshape: r, sum: sum, custom: custom}
}

// EachElemType visits every node output in topological order with the
// type ElemTypes gives it, although it forgets a value's shape once its
// only reader is inferred: the shape arithmetic below (Shape, Gather,
// Concat into Reshape, a value read twice, an unknown operator, a Cast of
// a forgotten value's successor) must still come out the same.
func TestEachElemType(t *testing.T) {
	b, g := shapeArithmetic(t)
	r, sum, custom := g.reshape, g.sum, g.custom
	idx := b.node("TopK", []*ir.Value{sum, b.ints("k", 2)}, 2, ir.IntAttr("axis", -1)).Outputs[1]
	b.out1("Cast", []*ir.Value{idx}, ir.IntAttr("to", int64(ir.Float16)))
	b.m.Graph.AddOutput(custom)
	want := ir.ElemTypes(b.m)
	order, err := b.m.Graph.TopoOrder()
	if err != nil {
		t.Fatal(err)
	}
	var wantSeq []*ir.Value
	for _, n := range order {
		for _, o := range n.Outputs {
			if o != nil {
				wantSeq = append(wantSeq, o)
			}
		}
	}
	var got []*ir.Value
	ir.EachElemType(b.m, func(v *ir.Value, d ir.DType) {
		got = append(got, v)
		if w := want[v]; d != w {
			t.Errorf("%s: EachElemType %s, ElemTypes %s", v.Name, d, w)
		}
	})
	if len(got) != len(wantSeq) {
		t.Fatalf("EachElemType visited %d values, want the %d node outputs", len(got), len(wantSeq))
	}
	for i := range got {
		if got[i] != wantSeq[i] {
			t.Errorf("visit %d: %s, want %s (topological order)", i, got[i].Name, wantSeq[i].Name)
		}
	}
	if want[r] != ir.Float32 || want[idx] != ir.Int64 {
		t.Errorf("ElemTypes: Reshape %s, TopK indices %s; want float32, int64", want[r], want[idx])
	}
}

// InferNode infers one node from numbers, as the executor's planners ask:
// shapes, tracked integer contents, errors without the node's name.
func TestInferNode(t *testing.T) {
	g := ir.NewGraph("g")
	x := g.AddInput("x", nil)
	s := g.AddInput("s", nil)
	reshape := g.AddNode("Reshape", "r", []*ir.Value{x, s}, 1)
	shape := g.AddNode("Shape", "sh", []*ir.Value{x}, 1, ir.IntAttr("start", 1))
	fancy := g.AddNode("FancyOp", "f", []*ir.Value{x}, 1)
	in := func(shape []int64, ints []int64) []*ir.Operand {
		return []*ir.Operand{{Elem: ir.Float32, Shape: shape}, {Elem: ir.Int64, Shape: []int64{int64(len(ints))}, Ints: ints}}
	}
	outs, err := ir.InferNode(reshape, 13, in([]int64{2, 3, 4}, []int64{0, -1}))
	if err != nil || len(outs) != 1 || fmt.Sprint(outs[0].Shape) != "[2 12]" || outs[0].Elem != ir.Float32 {
		t.Errorf("Reshape [2 3 4] to [0 -1]: %+v, %v; want [2 12] float32", outs, err)
	}
	if _, err := ir.InferNode(reshape, 13, in([]int64{2, 3, 4}, []int64{5, -1})); err == nil || !strings.HasPrefix(err.Error(), "cannot reshape [2, 3, 4] (24 elements) to [5, -1]") {
		t.Errorf("Reshape [2 3 4] to [5 -1]: %v", err)
	}
	if _, err := ir.InferNode(reshape, 13, []*ir.Operand{{Elem: ir.Float32, Shape: []int64{2, 3}}, {Elem: ir.Int64, Shape: []int64{2}}}); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("Reshape to an unknown shape: %v, want an error", err)
	}
	outs, err = ir.InferNode(shape, 13, []*ir.Operand{{Elem: ir.Float32, Shape: []int64{2, 3, 4}}})
	if err != nil || fmt.Sprint(outs[0].Shape, outs[0].Ints) != "[2] [3 4]" || outs[0].Elem != ir.Int64 {
		t.Errorf("Shape(start=1) of [2 3 4]: %+v, %v; want [2] holding [3 4]", outs[0], err)
	}
	if _, err := ir.InferNode(fancy, 13, []*ir.Operand{{Elem: ir.Float32, Shape: []int64{1}}}); err == nil {
		t.Error("FancyOp: no error")
	}
	if x.Type != nil || reshape.Outputs[0].Type != nil {
		t.Error("InferNode wrote types into the graph")
	}
}

// RecurrentAttrs: ONNX's defaults and the direction rule, as both shape
// inference and the executor read them.
func TestRecurrentAttrs(t *testing.T) {
	for _, c := range []struct {
		op    string
		attrs []*ir.Attribute
		want  string
	}{
		{"LSTM", nil, "&{Gates:4 Directions:1 Reverse:false HiddenSize:0 BatchFirst:false}"},
		{"GRU", []*ir.Attribute{ir.StringAttr("direction", "bidirectional"), ir.IntAttr("hidden_size", 8), ir.IntAttr("layout", 1)}, "&{Gates:3 Directions:2 Reverse:false HiddenSize:8 BatchFirst:true}"},
		{"RNN", []*ir.Attribute{ir.StringAttr("direction", "reverse")}, "&{Gates:1 Directions:1 Reverse:true HiddenSize:0 BatchFirst:false}"},
		{"LSTM", []*ir.Attribute{ir.StringAttr("direction", "sideways")}, `direction "sideways" is not forward, reverse or bidirectional`},
	} {
		n := ir.NewGraph("g").AddNode(c.op, "", nil, 1, c.attrs...)
		r, err := ir.RecurrentAttrs(n)
		got := fmt.Sprintf("%+v", r)
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s %v: %s, want %s", c.op, c.attrs, got, c.want)
		}
	}
}

// ReducedAxes: given axes, all when none or empty are given, none with
// noop_with_empty_axes; KeepDims defaults to 1.
func TestReducedAxes(t *testing.T) {
	g := ir.NewGraph("g")
	plain := g.AddNode("ReduceSum", "", nil, 1)
	noop := g.AddNode("ReduceSum", "", nil, 1, ir.IntAttr("noop_with_empty_axes", 1), ir.IntAttr("keepdims", 0))
	for _, c := range []struct {
		n     *ir.Node
		axes  []int64
		given bool
		want  string
	}{
		{plain, []int64{-1, 0}, true, "[true false true]"},
		{plain, nil, false, "[true true true]"},
		{plain, []int64{}, true, "[true true true]"},
		{noop, nil, false, "[false false false]"},
		{noop, []int64{1}, true, "[false true false]"},
		{plain, []int64{1, -2}, true, "axis -2 appears twice in [1 -2]"},
		{plain, []int64{3}, true, "axis 3 is out of range for rank 3"},
	} {
		red, err := ir.ReducedAxes(c.n, 3, c.axes, c.given)
		got := fmt.Sprint(red)
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("axes %v given %v: %s, want %s", c.axes, c.given, got, c.want)
		}
	}
	if !ir.KeepDims(plain) || ir.KeepDims(noop) {
		t.Error("KeepDims: want true by default, false for keepdims=0")
	}
}

// InferNode reads float contents its caller gives (a Range whose bounds
// are computed values, not constants of the graph).
func TestInferNodeFloats(t *testing.T) {
	g := ir.NewGraph("g")
	a, b, d := g.AddInput("a", nil), g.AddInput("b", nil), g.AddInput("d", nil)
	rng := g.AddNode("Range", "r", []*ir.Value{a, b, d}, 1)
	f := func(v float64, known bool) *ir.Operand {
		o := &ir.Operand{Elem: ir.Float32, Shape: []int64{}}
		if known {
			o.Floats = []float64{v}
		}
		return o
	}
	outs, err := ir.InferNode(rng, 13, []*ir.Operand{f(0.5, true), f(3, true), f(0.75, true)})
	if err != nil || fmt.Sprint(outs[0].Shape) != "[4]" {
		t.Errorf("Range(0.5, 3, 0.75): %+v, %v; want shape [4]", outs, err)
	}
	if _, err := ir.InferNode(rng, 13, []*ir.Operand{f(0.5, true), f(3, false), f(0.75, true)}); err == nil {
		t.Error("Range with an unknown limit: no error")
	}
}

// EachType gives every node output the type InferShapes writes (shape
// arithmetic through forgotten values included), in topological order,
// and writes nothing into the model: undeclared values stay untyped and a
// declared output keeps its own TypeInfo.
func TestEachType(t *testing.T) {
	b, g := shapeArithmetic(t)
	r, sum, custom := g.reshape, g.sum, g.custom
	flat := b.out1("Flatten", []*ir.Value{sum}, ir.IntAttr("axis", 1))
	b.m.Graph.AddOutput(custom)
	b.m.Graph.AddOutput(flat)
	declared := &ir.TypeInfo{Elem: ir.Float32, Shape: ir.Shape{ir.SymDim("n"), ir.Dim{Value: -1}}}
	flat.Type = declared

	got := map[*ir.Value]string{}
	var seq []*ir.Value
	ir.EachType(b.m, func(v *ir.Value, ti *ir.TypeInfo) {
		seq = append(seq, v)
		got[v] = typeString(ti)
	})
	for _, n := range b.m.Graph.Nodes[:len(b.m.Graph.Nodes)-1] {
		if v := n.Outputs[0]; v.Type != nil {
			t.Errorf("%s: EachType wrote type %v into the model", v.Name, v.Type)
		}
	}
	if flat.Type != declared || fmt.Sprint(declared.Shape) != fmt.Sprint(ir.Shape{ir.SymDim("n"), ir.Dim{Value: -1}}) {
		t.Errorf("Flatten's declared type became %v", flat.Type)
	}
	if _, err := ir.InferShapes(b.m); err != nil {
		t.Fatal(err)
	}
	order, err := b.m.Graph.TopoOrder()
	if err != nil {
		t.Fatal(err)
	}
	var want []*ir.Value
	for _, n := range order {
		want = append(want, n.Outputs...)
	}
	if len(seq) != len(want) {
		t.Fatalf("EachType visited %d values, want the %d node outputs", len(seq), len(want))
	}
	for i, v := range want {
		if seq[i] != v {
			t.Errorf("visit %d: %s, want %s (topological order)", i, seq[i].Name, v.Name)
		}
		if w := typeString(v.Type); got[v] != w {
			t.Errorf("%s: EachType %s, InferShapes %s", v.Name, got[v], w)
		}
	}
	if got[r] != "float32[batch 24]" || got[flat] != "float32[batch 24]" || got[custom] != "none" {
		t.Errorf("Reshape %s, declared Flatten %s, FancyOp %s; want float32[batch 24] twice and none", got[r], got[flat], got[custom])
	}
}

// typeString shows what EachType and InferShapes are compared on: the
// element type and the dims.
func typeString(ti *ir.TypeInfo) string {
	if ti == nil {
		return "none"
	}
	dims := make([]string, len(ti.Shape))
	for i, d := range ti.Shape {
		dims[i] = d.String()
	}
	return fmt.Sprintf("%s[%s]", ti.Elem, strings.Join(dims, " "))
}
