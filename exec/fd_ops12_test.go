package exec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// Finite-difference cases for the operators of issue 12: instance and
// group normalization, transposed convolution, Resize, GRU and RNN.

func TestFDIssue12Ops(t *testing.T) { runFD(t, fdIssue12Cases()) }

func fdIssue12Cases() []fdCase {
	ones := func(b *gb, name string, n int, v float32) *ir.Value {
		d := make([]float32, n)
		for i := range d {
			d[i] = v
		}
		c := b.g.AddNode("Constant", "", nil, 1, ir.TensorAttr("value", ir.NewFloat32(name, []int64{int64(n)}, d)))
		return c.Outputs[0]
	}
	cases := []fdCase{
		{name: "InstanceNormalization 4-D affine", build: func(b *gb) {
			b.out(b.node("InstanceNormalization", []*ir.Value{b.input("x", 2, 3, 3, 4), b.param("s", 3), b.param("bb", 3)}, ir.FloatAttr("epsilon", 1e-3)))
		}, shapes: map[string][]int{"x": {2, 3, 3, 4}}},
		{name: "InstanceNormalization 3-D", build: func(b *gb) {
			b.out(b.node("InstanceNormalization", []*ir.Value{b.input("x", 3, 2, 5), b.param("s", 2), b.param("bb", 2)}))
		}, shapes: map[string][]int{"x": {3, 2, 5}}},
		{name: "GroupNorm as exported by PyTorch (Reshape→InstanceNormalization→Reshape→Mul→Add)", build: func(b *gb) {
			const G, C = 2, 6
			x := b.input("x", -1, C, 3, 3)
			r := b.node("Reshape", []*ir.Value{x, b.ints("gshape", 0, G, -1)})
			in := b.node("InstanceNormalization", []*ir.Value{r, ones(b, "one", G, 1), ones(b, "zero", G, 0)}, ir.FloatAttr("epsilon", 1e-5))
			back := b.node("Reshape", []*ir.Value{in, b.node("Shape", []*ir.Value{x})})
			ax := b.ints("ax", 1, 2)
			w := b.node("Unsqueeze", []*ir.Value{b.param("gn.weight", C), ax})
			bias := b.node("Unsqueeze", []*ir.Value{b.param("gn.bias", C), ax})
			b.out(b.node("Add", []*ir.Value{b.node("Mul", []*ir.Value{back, w}), bias}))
		}, shapes: map[string][]int{"x": {2, 6, 3, 3}}},
	}
	ints := func(name string, v ...int64) *ir.Attribute { return ir.IntsAttr(name, v...) }
	convT := func(name string, x, w []int, bias bool, attrs ...*ir.Attribute) fdCase {
		return fdCase{name: name, build: func(b *gb) {
			ins := []*ir.Value{b.input("x", x...), b.param("w", w...)}
			if bias {
				g := int64(1)
				for _, a := range attrs {
					if a.Name == "group" {
						g = a.I
					}
				}
				ins = append(ins, b.param("b", w[1]*int(g)))
			}
			b.out(b.node("ConvTranspose", ins, attrs...))
		}, shapes: map[string][]int{"x": x}}
	}
	cases = append(cases,
		convT("ConvTranspose 2x2 stride2 (U-Net up)", []int{2, 3, 3, 3}, []int{3, 4, 2, 2}, true, ints("strides", 2, 2)),
		convT("ConvTranspose 3x3 s2 p1 output_padding1", []int{2, 2, 3, 4}, []int{2, 3, 3, 3}, true, ints("strides", 2, 2), ints("pads", 1, 1, 1, 1), ints("output_padding", 1, 1)),
		convT("ConvTranspose groups2 dilation2 asym pads", []int{1, 4, 3, 3}, []int{4, 2, 3, 2}, true, ir.IntAttr("group", 2), ints("dilations", 2, 1), ints("pads", 1, 0, 0, 1), ints("strides", 1, 2)),
		convT("ConvTranspose output_shape", []int{1, 2, 3, 3}, []int{2, 2, 3, 3}, false, ints("strides", 2, 2), ints("output_shape", 6, 5)),
		convT("ConvTranspose SAME_UPPER", []int{1, 2, 3, 2}, []int{2, 1, 3, 3}, true, ints("strides", 2, 2), ir.StringAttr("auto_pad", "SAME_UPPER")),
		convT("ConvTranspose1d", []int{2, 3, 5}, []int{3, 2, 4}, true, ints("strides", 3), ints("pads", 1, 2)),
	)
	resize := func(name string, x []int, scales []float32, sizes []int64, attrs ...*ir.Attribute) fdCase {
		return fdCase{name: name, build: func(b *gb) {
			ins := []*ir.Value{b.input("x", x...), nil, nil}
			if scales != nil {
				ins[2] = b.paramData("scales", []int{len(scales)}, scales)
			} else {
				ins = append(ins, b.ints("sizes", sizes...))
			}
			// a parameter before the Resize, so that a gradient flows
			// through it even if the input's own were skipped
			pd := make([]int, len(x)-1)
			for i := range pd {
				pd[i] = 1
			}
			pd[0] = x[1]
			ins[0] = b.node("Mul", []*ir.Value{ins[0], b.param("p", pd...)})
			b.out(b.node("Resize", ins, attrs...))
		}, shapes: map[string][]int{"x": x}}
	}
	str := ir.StringAttr
	cases = append(cases,
		resize("Resize nearest asymmetric floor ×2 (nn.Upsample)", []int{2, 3, 3, 4}, []float32{1, 1, 2, 2}, nil,
			str("mode", "nearest"), str("coordinate_transformation_mode", "asymmetric"), str("nearest_mode", "floor")),
		resize("Resize linear half_pixel ×2 (bilinear, align_corners=False)", []int{1, 2, 3, 4}, []float32{1, 1, 2, 2}, nil,
			str("mode", "linear"), str("coordinate_transformation_mode", "half_pixel")),
		resize("Resize linear align_corners sizes", []int{2, 2, 3, 4}, nil, []int64{2, 2, 5, 7},
			str("mode", "linear"), str("coordinate_transformation_mode", "align_corners")),
		resize("Resize linear pytorch_half_pixel down", []int{1, 2, 6, 5}, nil, []int64{1, 2, 4, 1},
			str("mode", "linear"), str("coordinate_transformation_mode", "pytorch_half_pixel")),
		resize("Resize cubic half_pixel ×2 (bicubic, align_corners=False)", []int{1, 2, 3, 4}, []float32{1, 1, 2, 2}, nil,
			str("mode", "cubic"), str("coordinate_transformation_mode", "half_pixel"), ir.FloatAttr("cubic_coeff_a", -0.75)),
		resize("Resize cubic align_corners sizes", []int{2, 1, 4, 3}, nil, []int64{2, 1, 7, 5},
			str("mode", "cubic"), str("coordinate_transformation_mode", "align_corners"), ir.FloatAttr("cubic_coeff_a", -0.5)),
		resize("Resize nearest half_pixel round_prefer_ceil ×1.5 1-D", []int{2, 3, 4}, []float32{1, 1, 1.5}, nil,
			str("mode", "nearest"), str("nearest_mode", "round_prefer_ceil")),
	)
	rnn := func(name, op, dir string, D, gates int, withB, withInit bool, attrs ...*ir.Attribute) fdCase {
		return fdCase{name: name, build: func(b *gb) {
			T, N, I, H := 3, 2, 4, 3
			ins := []*ir.Value{b.input("x", T, N, I), b.param("W", D, gates*H, I), b.param("R", D, gates*H, H), nil, nil, nil}
			if withB {
				ins[3] = b.param("B", D, 2*gates*H)
			}
			if withInit {
				ins[5] = b.param("h0", D, N, H)
			}
			attrs = append(attrs, ir.IntAttr("hidden_size", int64(H)), ir.StringAttr("direction", dir))
			outs := b.nodeN(op, ins, 2, attrs...)
			b.out(outs...)
		}, shapes: map[string][]int{"x": {3, 2, 4}}}
	}
	lbr := ir.IntAttr("linear_before_reset", 1)
	cases = append(cases,
		rnn("GRU forward linear_before_reset=1 (PyTorch)", "GRU", "forward", 1, 3, true, true, lbr),
		rnn("GRU bidirectional linear_before_reset=1 zero state", "GRU", "bidirectional", 2, 3, true, false, lbr),
		rnn("GRU reverse linear_before_reset=0", "GRU", "reverse", 1, 3, true, true),
		rnn("GRU bidirectional linear_before_reset=0 no bias", "GRU", "bidirectional", 2, 3, false, true),
		rnn("RNN tanh forward", "RNN", "forward", 1, 1, true, true),
		rnn("RNN relu bidirectional", "RNN", "bidirectional", 2, 1, true, true, &ir.Attribute{Name: "activations", Type: ir.AttrStrings, Strings: [][]byte{[]byte("Relu"), []byte("Relu")}}),
		rnn("GRU clip=0.7 linear_before_reset=1", "GRU", "forward", 1, 3, true, true, lbr, ir.FloatAttr("clip", 0.7)),
		rnn("GRU clip=0.7 linear_before_reset=0", "GRU", "reverse", 1, 3, true, true, ir.FloatAttr("clip", 0.7)),
		rnn("RNN tanh clip=1.5", "RNN", "reverse", 1, 1, true, true, ir.FloatAttr("clip", 1.5)),
		rnn("RNN relu clip=1.5 bidirectional", "RNN", "bidirectional", 2, 1, true, true, ir.FloatAttr("clip", 1.5), &ir.Attribute{Name: "activations", Type: ir.AttrStrings, Strings: [][]byte{[]byte("Relu"), []byte("Relu")}}),
	)
	idx := func(b *gb, name string, dims []int64, v ...int64) *ir.Value {
		return b.g.AddInitializer(ir.NewInt64(name, dims, v))
	}
	// sequence_lens (packed sequences): T = 3, batch 2
	seqCase := func(name, op, dir string, D, gates int, lens []int64, attrs ...*ir.Attribute) fdCase {
		return fdCase{name: fmt.Sprintf("%s sequence_lens %v", name, lens), build: func(b *gb) {
			T, N, I, H := 3, 2, 4, 3
			ins := []*ir.Value{b.input("x", T, N, I), b.param("W", D, gates*H, I), b.param("R", D, gates*H, H), b.param("B", D, 2*gates*H),
				idx(b, "lens", []int64{int64(N)}, lens...), b.param("h0", D, N, H)}
			nOut := 2
			if op == "LSTM" {
				ins, nOut = append(ins, b.param("c0", D, N, H)), 3
			}
			attrs = append(attrs, ir.IntAttr("hidden_size", int64(H)), ir.StringAttr("direction", dir))
			b.out(b.nodeN(op, ins, nOut, attrs...)...)
		}, shapes: map[string][]int{"x": {3, 2, 4}}}
	}
	// layout=1: batch-first X [N, T, I], states [N, D, H], Y [N, T, D, H]
	layout1 := func(name, op, dir string, D, gates int, attrs ...*ir.Attribute) fdCase {
		return fdCase{name: name + " layout=1 (opset 14)", opset: 14, build: func(b *gb) {
			T, N, I, H := 3, 2, 4, 3
			ins := []*ir.Value{b.input("x", N, T, I), b.param("W", D, gates*H, I), b.param("R", D, gates*H, H), b.param("B", D, 2*gates*H),
				nil, b.param("h0", N, D, H)}
			nOut := 2
			if op == "LSTM" {
				ins, nOut = append(ins, b.param("c0", N, D, H)), 3
			}
			attrs = append(attrs, ir.IntAttr("hidden_size", int64(H)), ir.StringAttr("direction", dir), ir.IntAttr("layout", 1))
			b.out(b.nodeN(op, ins, nOut, attrs...)...)
		}, shapes: map[string][]int{"x": {2, 3, 4}}}
	}
	peephole := func(name, dir string, D int) fdCase {
		return fdCase{name: name + " with peepholes", build: func(b *gb) {
			T, N, I, H := 3, 2, 4, 3
			ins := []*ir.Value{b.input("x", T, N, I), b.param("W", D, 4*H, I), b.param("R", D, 4*H, H), b.param("B", D, 8*H),
				nil, b.param("h0", D, N, H), b.param("c0", D, N, H), b.param("P", D, 3*H)}
			b.out(b.nodeN("LSTM", ins, 3, ir.IntAttr("hidden_size", int64(H)), ir.StringAttr("direction", dir))...)
		}, shapes: map[string][]int{"x": {3, 2, 4}}}
	}
	cases = append(cases,
		peephole("LSTM forward", "forward", 1),
		peephole("LSTM bidirectional", "bidirectional", 2),
		fdCase{name: "LSTM clip=0.8", build: func(b *gb) {
			T, N, I, H := 3, 2, 4, 3
			ins := []*ir.Value{b.input("x", T, N, I), b.param("W", 1, 4*H, I), b.param("R", 1, 4*H, H), b.param("B", 1, 8*H), nil, b.param("h0", 1, N, H), b.param("c0", 1, N, H)}
			b.out(b.nodeN("LSTM", ins, 3, ir.IntAttr("hidden_size", int64(H)), ir.FloatAttr("clip", 0.8))...)
		}, shapes: map[string][]int{"x": {3, 2, 4}}},
		layout1("LSTM bidirectional", "LSTM", "bidirectional", 2, 4),
		layout1("GRU reverse", "GRU", "reverse", 1, 3, lbr),
		layout1("RNN forward", "RNN", "forward", 1, 1),
		seqCase("LSTM bidirectional", "LSTM", "bidirectional", 2, 4, []int64{1, 3}),
		seqCase("LSTM forward", "LSTM", "forward", 1, 4, []int64{2, 0}),
		seqCase("GRU bidirectional linear_before_reset=1", "GRU", "bidirectional", 2, 3, []int64{3, 1}, lbr),
		seqCase("GRU reverse linear_before_reset=0", "GRU", "reverse", 1, 3, []int64{2, 3}),
		seqCase("RNN tanh bidirectional", "RNN", "bidirectional", 2, 1, []int64{1, 3}),
	)
	cases = append(cases,
		fdCase{name: "Mod fmod=1 (torch.fmod) broadcast", build: func(b *gb) {
			b.gen["d"] = func(r *rand.Rand) float64 { return 0.7 + r.Float64() }
			b.gen["x"] = func(r *rand.Rand) float64 { return 10 * (r.Float64() - 0.5) }
			b.out(b.node("Mod", []*ir.Value{b.input("x", 2, 3), b.input("d", 3)}, ir.IntAttr("fmod", 1)))
		}, shapes: map[string][]int{"x": {2, 3}, "d": {3}}},
		fdCase{name: "Mod fmod=0 (remainder) negative divisor", build: func(b *gb) {
			b.gen["d"] = func(r *rand.Rand) float64 { return -0.7 - r.Float64() }
			b.gen["x"] = func(r *rand.Rand) float64 { return 10 * (r.Float64() - 0.5) }
			b.out(b.node("Mod", []*ir.Value{b.input("x", 2, 3), b.input("d", 2, 1)}))
		}, shapes: map[string][]int{"x": {2, 3}, "d": {2, 1}}},
		fdCase{name: "TopK k=2 axis 1 largest", build: func(b *gb) {
			outs := b.nodeN("TopK", []*ir.Value{b.input("x", 2, 5, 3), b.ints("k", 2)}, 2, ir.IntAttr("axis", 1))
			b.out(outs[0])
		}, shapes: map[string][]int{"x": {2, 5, 3}}},
		fdCase{name: "TopK smallest, indices feed a Gather", build: func(b *gb) {
			x := b.input("x", 6)
			outs := b.nodeN("TopK", []*ir.Value{x, b.ints("k", 3)}, 2, ir.IntAttr("largest", 0))
			b.out(outs[0], b.node("Gather", []*ir.Value{b.param("table", 6, 2), outs[1]}))
		}, shapes: map[string][]int{"x": {6}}},
		fdCase{name: "ScatterElements axis 1 negative index", build: func(b *gb) {
			i := idx(b, "i", []int64{2, 2}, 2, -3, 0, 1)
			b.out(b.node("ScatterElements", []*ir.Value{b.input("x", 3, 3), i, b.input("u", 2, 2)}, ir.IntAttr("axis", 1)))
		}, shapes: map[string][]int{"x": {3, 3}, "u": {2, 2}}},
		fdCase{name: "ScatterElements reduction=add (opset 16)", opset: 16, build: func(b *gb) {
			i := idx(b, "i", []int64{3}, 1, 1, 0)
			b.out(b.node("ScatterElements", []*ir.Value{b.input("x", 4), i, b.input("u", 3)}, ir.StringAttr("reduction", "add")))
		}, shapes: map[string][]int{"x": {4}, "u": {3}}},
		fdCase{name: "ReduceProd axes [1]", build: func(b *gb) {
			b.out(b.node("ReduceProd", []*ir.Value{b.input("x", 2, 3, 2)}, ir.IntsAttr("axes", 1)))
		}, shapes: map[string][]int{"x": {2, 3, 2}}},
		fdCase{name: "Conv3d groups2 stride (2,1,2) pads dilation", build: func(b *gb) {
			b.out(b.node("Conv", []*ir.Value{b.input("x", 2, 4, 4, 3, 5), b.param("w", 6, 2, 3, 2, 3), b.param("b", 6)},
				ir.IntAttr("group", 2), ir.IntsAttr("strides", 2, 1, 2), ir.IntsAttr("pads", 1, 0, 1, 1, 1, 0), ir.IntsAttr("dilations", 1, 2, 1)))
		}, shapes: map[string][]int{"x": {2, 4, 4, 3, 5}}},
		fdCase{name: "ConvTranspose3d groups2 stride 2 pads output_padding", build: func(b *gb) {
			b.out(b.node("ConvTranspose", []*ir.Value{b.input("x", 2, 4, 2, 3, 2), b.param("w", 4, 3, 3, 2, 3), b.param("b", 6)},
				ir.IntAttr("group", 2), ir.IntsAttr("strides", 2, 1, 2), ir.IntsAttr("pads", 1, 0, 1, 0, 1, 0), ir.IntsAttr("output_padding", 1, 0, 0)))
		}, shapes: map[string][]int{"x": {2, 4, 2, 3, 2}}},
		fdCase{name: "MaxPool3d 2x2x2 ceil pads", build: func(b *gb) {
			b.out(b.node("MaxPool", []*ir.Value{b.input("x", 1, 2, 5, 4, 3)}, ir.IntsAttr("kernel_shape", 2, 2, 2),
				ir.IntsAttr("strides", 2, 2, 2), ir.IntsAttr("pads", 1, 0, 0, 0, 0, 1), ir.IntAttr("ceil_mode", 1)))
		}, shapes: map[string][]int{"x": {1, 2, 5, 4, 3}}},
		fdCase{name: "AveragePool3d count_include_pad", build: func(b *gb) {
			b.out(b.node("AveragePool", []*ir.Value{b.input("x", 2, 1, 4, 4, 4)}, ir.IntsAttr("kernel_shape", 3, 3, 2),
				ir.IntsAttr("strides", 2, 2, 2), ir.IntsAttr("pads", 1, 1, 0, 1, 1, 1), ir.IntAttr("count_include_pad", 1)))
		}, shapes: map[string][]int{"x": {2, 1, 4, 4, 4}}},
		fdCase{name: "ScatterND rows (Swin's mask), negative index", build: func(b *gb) {
			i := idx(b, "i", []int64{2, 1}, 2, -4)
			b.out(b.node("ScatterND", []*ir.Value{b.input("x", 4, 3), i, b.input("u", 2, 3)}))
		}, shapes: map[string][]int{"x": {4, 3}, "u": {2, 3}}},
		fdCase{name: "ScatterND elements reduction=add (opset 16)", opset: 16, build: func(b *gb) {
			i := idx(b, "i", []int64{3, 2}, 0, 1, 1, 2, 0, 1)
			b.out(b.node("ScatterND", []*ir.Value{b.input("x", 2, 3), i, b.input("u", 3)}, ir.StringAttr("reduction", "add")))
		}, shapes: map[string][]int{"x": {2, 3}, "u": {3}}},
	)
	return cases
}

// layout=1 is layout 0 with batch and time swapped: the same weights on
// X [N, T, I] (layout 1) and on its transpose [T, N, I] (layout 0) must
// give Y[n, t, d, h] = Y0[t, d, n, h] and Y_h[n, d, h] = Y_h0[d, n, h],
// exactly (the same kernels run on the same numbers).
func TestRNNLayout1MatchesLayout0(t *testing.T) {
	const T, N, I, H, D = 3, 2, 4, 3, 2
	for _, op := range []string{"LSTM", "GRU", "RNN"} {
		gates := map[string]int{"LSTM": 4, "GRU": 3, "RNN": 1}[op]
		run := func(layout int64) ([]float64, []float64) {
			b := newGB(14)
			xs := []int{T, N, I}
			if layout == 1 {
				xs = []int{N, T, I}
			}
			ins := []*ir.Value{b.input("x", xs...), b.param("W", D, gates*H, I), b.param("R", D, gates*H, H), b.param("B", D, 2*gates*H)}
			outs := b.nodeN(op, ins, 2, ir.IntAttr("hidden_size", H), ir.StringAttr("direction", "bidirectional"), ir.IntAttr("layout", layout))
			b.out(outs...)
			e, err := compileEngine[float64](b.model(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float64, T*N*I)
			for i := range x {
				x[i] = math.Sin(float64(i)) // x0[t][n][i]
			}
			if layout == 1 {
				xt := make([]float64, len(x))
				permute(x, []int{T, N, I}, []int{1, 0, 2}, xt, false)
				x = xt
			}
			p := feed64(t, e, xs, x)
			if err := e.run(p, Eval); err != nil {
				t.Fatal(err)
			}
			return append([]float64(nil), p.outputs[0].f...), append([]float64(nil), p.outputs[1].f...)
		}
		y0, h0 := run(0)
		y1, h1 := run(1)
		for n := 0; n < N; n++ {
			for tt := 0; tt < T; tt++ {
				for d := 0; d < D; d++ {
					for h := 0; h < H; h++ {
						if a, b := y1[((n*T+tt)*D+d)*H+h], y0[((tt*D+d)*N+n)*H+h]; a != b {
							t.Fatalf("%s: Y[%d,%d,%d,%d] = %v, layout 0 gives %v", op, n, tt, d, h, a, b)
						}
					}
				}
			}
			for d := 0; d < D; d++ {
				for h := 0; h < H; h++ {
					if a, b := h1[(n*D+d)*H+h], h0[(d*N+n)*H+h]; a != b {
						t.Fatalf("%s: Y_h[%d,%d,%d] = %v, layout 0 gives %v", op, n, d, h, a, b)
					}
				}
			}
		}
	}
}
