package exec

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// convRef64 is a direct 2-D convolution in float64 (1-D: H = 1) with, for
// every output, the sum of |w·x| and |b| that bounds its float32 error.
func convRef64(x []float32, xs []int, w []float32, ws []int, b []float32, gh, gw geom) (y, mag []float64) {
	N, C, M := xs[0], xs[1], ws[0]
	kh, kw := gh.k, gw.k
	y = make([]float64, N*M*gh.out*gw.out)
	mag = make([]float64, len(y))
	for n := 0; n < N; n++ {
		for m := 0; m < M; m++ {
			for oh := 0; oh < gh.out; oh++ {
				for ow := 0; ow < gw.out; ow++ {
					var s, a float64
					if b != nil {
						s, a = float64(b[m]), math.Abs(float64(b[m]))
					}
					for c := 0; c < C; c++ {
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								ih, iw := oh*gh.s-gh.pb+i*gh.d, ow*gw.s-gw.pb+j*gw.d
								if ih < 0 || ih >= gh.in || iw < 0 || iw >= gw.in {
									continue
								}
								p := float64(w[((m*C+c)*kh+i)*kw+j]) * float64(x[((n*C+c)*gh.in+ih)*gw.in+iw])
								s += p
								a += math.Abs(p)
							}
						}
					}
					o := ((n*M+m)*gh.out+oh)*gw.out + ow
					y[o], mag[o] = s, a
				}
			}
		}
	}
	return y, mag
}

// Convolutions of a forward-only program (conv_infer.go: weights packed
// once, images in chunks, the normal or the transposed product, bias and a
// fused Relu/Clip in the product's epilogue) against a float64 direct
// convolution, on shapes that take every path: one image or many, chunks
// over the workers or one chunk split over them, the transposed product
// (few output pixels), 1×1 convolutions read in place, strides, pads,
// dilations, K across the GEMM's k blocks, channel counts off the
// micro-tile, kernels partly over nothing but padding; and the bits do
// not depend on the thread count.
func TestInferenceConv(t *testing.T) {
	type win struct{ s, d, pb, pe [2]int } // per spatial axis (H, W); Conv1d uses W
	one := win{s: [2]int{1, 1}, d: [2]int{1, 1}}
	pad1 := win{s: [2]int{1, 1}, d: [2]int{1, 1}, pb: [2]int{1, 1}, pe: [2]int{1, 1}}
	cases := []struct {
		name string
		x, w []int
		bias bool
		act  string // "", "Relu", "Clip", "Relu+out" (the conv output is also a graph output)
		win  win
	}{
		{"3x3 pad1 batch 1 (one image, split over workers)", []int{1, 5, 20, 20}, []int{13, 5, 3, 3}, true, "Relu", pad1},
		{"3x3 few pixels, batch 1 (transposed product)", []int{1, 32, 2, 2}, []int{37, 32, 3, 3}, true, "Relu", pad1},
		{"3x3 few pixels, no bias (transposed)", []int{1, 9, 3, 3}, []int{20, 9, 3, 3}, false, "Clip", one},
		{"3x3 on 7x7, batch 1 (transposed product by rows or by columns)", []int{1, 8, 7, 7}, []int{32, 8, 3, 3}, true, "Relu", pad1},
		{"3x3 chunks of images over workers", []int{40, 6, 4, 4}, []int{17, 6, 3, 3}, true, "", pad1},
		{"3x3 one chunk of several images", []int{7, 6, 4, 4}, []int{33, 6, 3, 3}, true, "Clip", pad1},
		{"3x3 big images, one per chunk", []int{3, 4, 17, 19}, []int{8, 4, 3, 3}, true, "Relu", pad1},
		{"K across k blocks", []int{2, 40, 6, 6}, []int{30, 40, 3, 3}, true, "Relu", pad1},
		{"1x1 in place", []int{2, 8, 16, 16}, []int{12, 8, 1, 1}, true, "Relu", one},
		{"1x1 chunked", []int{6, 8, 4, 4}, []int{12, 8, 1, 1}, false, "", one},
		{"1x1 one pixel batch 3 (transposed)", []int{3, 64, 1, 1}, []int{50, 64, 1, 1}, true, "Relu", one},
		{"1x1 stride 2", []int{3, 8, 9, 9}, []int{16, 8, 1, 1}, true, "", win{s: [2]int{2, 2}, d: [2]int{1, 1}}},
		{"7x7 stride 2 pad 3", []int{2, 3, 21, 21}, []int{16, 3, 7, 7}, false, "Relu", win{s: [2]int{2, 2}, d: [2]int{1, 1}, pb: [2]int{3, 3}, pe: [2]int{3, 3}}},
		{"7x7 stride 2 pad 3 on a big plane (one image per chunk, im2col by phases)", []int{2, 3, 40, 37}, []int{8, 3, 7, 7}, true, "Relu", win{s: [2]int{2, 2}, d: [2]int{1, 1}, pb: [2]int{3, 3}, pe: [2]int{3, 3}}},
		{"stride 3 dilation 2 along W, one image per chunk", []int{1, 2, 50, 49}, []int{5, 2, 3, 3}, false, "", win{s: [2]int{2, 3}, d: [2]int{1, 2}, pb: [2]int{1, 1}, pe: [2]int{0, 1}}},
		{"dilation, asymmetric pads", []int{2, 3, 9, 8}, []int{5, 3, 3, 2}, true, "Relu+out", win{s: [2]int{1, 1}, d: [2]int{2, 1}, pb: [2]int{2, 0}, pe: [2]int{1, 1}}},
		{"3x3 pad 1 on one pixel (taps only meeting padding left out)", []int{5, 16, 1, 1}, []int{20, 16, 3, 3}, true, "Relu", pad1},
		{"3x3 stride 2 on 2x2 (half the taps left out)", []int{2, 8, 2, 2}, []int{16, 8, 3, 3}, true, "", win{s: [2]int{2, 2}, d: [2]int{1, 1}, pb: [2]int{1, 1}, pe: [2]int{1, 1}}},
		{"5x3 pad 2 on 2 rows (rows left out)", []int{2, 3, 2, 5}, []int{4, 3, 5, 3}, false, "Relu", win{s: [2]int{1, 1}, d: [2]int{1, 1}, pb: [2]int{2, 1}, pe: [2]int{2, 1}}},
		{"empty batch", []int{0, 3, 5, 5}, []int{4, 3, 3, 3}, true, "Relu", pad1},
		{"Conv1d", []int{4, 3, 30}, []int{7, 3, 5}, true, "Relu", win{s: [2]int{1, 2}, d: [2]int{1, 1}, pb: [2]int{0, 2}, pe: [2]int{0, 2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// the geometry, in the test's own terms
			xs, ws := tc.x, tc.w
			if len(xs) == 3 {
				xs, ws = []int{xs[0], xs[1], 1, xs[2]}, []int{ws[0], ws[1], 1, ws[2]}
			}
			var g [2]geom
			for a := range g {
				g[a] = geom{in: xs[2+a], k: ws[2+a], s: tc.win.s[a], d: tc.win.d[a], pb: tc.win.pb[a], pe: tc.win.pe[a]}
				g[a].out = (g[a].in+g[a].pb+g[a].pe-g[a].d*(g[a].k-1)-1)/g[a].s + 1
			}
			var attrs []*ir.Attribute
			if len(tc.x) == 3 {
				attrs = []*ir.Attribute{ir.IntsAttr("strides", int64(tc.win.s[1])), ir.IntsAttr("dilations", int64(tc.win.d[1])),
					ir.IntsAttr("pads", int64(tc.win.pb[1]), int64(tc.win.pe[1]))}
			} else {
				attrs = []*ir.Attribute{ir.IntsAttr("strides", int64(tc.win.s[0]), int64(tc.win.s[1])),
					ir.IntsAttr("dilations", int64(tc.win.d[0]), int64(tc.win.d[1])),
					ir.IntsAttr("pads", int64(tc.win.pb[0]), int64(tc.win.pb[1]), int64(tc.win.pe[0]), int64(tc.win.pe[1]))}
			}
			b := newGB(13)
			x := b.input("x", tc.x...)
			ins := []*ir.Value{x, b.param("w", tc.w...)}
			if tc.bias {
				ins = append(ins, b.param("b", tc.w[0]))
			}
			y := b.node("Conv", ins, attrs...)
			out := y
			lo, hi := float32(-0.5), float32(0.75)
			switch tc.act {
			case "Relu", "Relu+out":
				out = b.node("Relu", []*ir.Value{y})
			case "Clip":
				out = b.node("Clip", []*ir.Value{y, b.constF(lo), b.constF(hi)})
			}
			b.out(out)
			if tc.act == "Relu+out" {
				b.out(y)
			}
			xd := make([]float32, numel(tc.x))
			for i := range xd {
				xd[i] = float32(b.rng.NormFloat64())
			}
			var first map[string][]float32
			for _, threads := range []int{1, 2, 3} {
				p, err := Compile(b.model(), Options{Inference: true, Threads: threads})
				if err != nil {
					t.Fatal(err)
				}
				res, err := p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: tc.x, F: xd}})
				if err != nil {
					t.Fatal(err)
				}
				got := map[string][]float32{}
				for k, v := range res {
					got[k] = append([]float32(nil), v.F...)
				}
				if threads > 1 {
					for k, v := range got {
						if !sameBits(v, first[k]) {
							t.Errorf("%s with %d threads: not the bits of 1 thread", k, threads)
						}
					}
					continue
				}
				first = got
				wd, bd := paramValue(p, "w"), paramValue(p, "b")
				ref, mag := convRef64(xd, xs, wd, ws, bd, g[0], g[1])
				K := ws[1] * ws[2] * ws[3]
				check := func(name string, got []float32, act func(float64) float64) {
					if len(got) != len(ref) {
						t.Fatalf("%s: %d values, want %d", name, len(got), len(ref))
					}
					bad := 0
					for i, r := range ref {
						// a float32 dot product of length K plus the bias:
						// |error| ≤ (K+2)·2⁻²⁴·Σ|terms| (Higham, Accuracy and
						// Stability of Numerical Algorithms, §3.1); the
						// activation does not increase it
						tol := float64(K+2) / (1 << 24) * mag[i]
						if d := math.Abs(float64(got[i]) - act(r)); d > tol && bad < 5 {
							t.Errorf("%s[%d] = %g, want %g (±%g)", name, i, got[i], act(r), tol)
							bad++
						}
					}
				}
				id := func(v float64) float64 { return v }
				relu := func(v float64) float64 { return max(v, 0) }
				switch tc.act {
				case "":
					check("y", got[out.Name], id)
				case "Relu":
					check("relu", got[out.Name], relu)
				case "Relu+out":
					check("relu", got[out.Name], relu)
					check("conv", got[y.Name], id)
				case "Clip":
					check("clip", got[out.Name], func(v float64) float64 { return min(max(v, float64(lo)), float64(hi)) })
				}
			}
		})
	}
}

// The fused activation's node makes no step of its own (where the CPU has
// the SIMD GEMM, which inference convolutions need), and a Relu whose input
// is also read elsewhere is not fused.
func TestInferenceFusion(t *testing.T) {
	b := newGB(13)
	x := b.input("x", 2, 3, 8, 8)
	y1 := b.node("Conv", []*ir.Value{x, b.param("w1", 4, 3, 3, 3), b.param("b1", 4)}, ir.IntsAttr("pads", 1, 1, 1, 1))
	r1 := b.node("Relu", []*ir.Value{y1})
	y2 := b.node("Conv", []*ir.Value{r1, b.param("w2", 4, 4, 3, 3)}, ir.IntsAttr("pads", 1, 1, 1, 1))
	r2 := b.node("Relu", []*ir.Value{y2})
	b.out(b.node("Add", []*ir.Value{r2, y2}))
	p, err := Compile(b.model(), Options{Inference: true})
	if err != nil {
		t.Fatal(err)
	}
	xd := make([]float32, 2*3*8*8)
	for i := range xd {
		xd[i] = float32(b.rng.NormFloat64())
	}
	if _, err := p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{2, 3, 8, 8}, F: xd}}); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, s := range p.e.last.steps {
		ops = append(ops, s.node.OpType)
	}
	want := "[Conv Conv Relu Add]"
	if !simd() { // no SIMD kernel: convolutions take the training path, unfused
		want = "[Conv Relu Conv Relu Add]"
	}
	if got := fmt.Sprint(ops); got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
}

// A forward-only program's Run allocates nothing once planned, on two
// threads (the convolutions' loops are made when the plan is built).
func TestInferenceSteadyStateAllocations(t *testing.T) {
	for _, name := range []string{"small_cnn", "resnet_narrow", "mobilenet_block", "resnet18"} {
		t.Run(name, func(t *testing.T) {
			g := loadGolden(t, name)
			file := "eval.onnx"
			if name == "resnet18" {
				file = "eval.onnx.gz"
			}
			m, err := onnxio.ReadFile(filepath.Join(g.dir, file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(m, Options{Inference: true, Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			x := g.get(t, "input")
			in := map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}
			run := func() {
				if _, err := p.Run(Eval, in); err != nil {
					t.Fatal(err)
				}
			}
			run() // plans and allocates
			if n := testing.AllocsPerRun(5, run); n > 0 {
				t.Errorf("%s: %.1f allocations per inference run, want 0", name, n)
			}
		})
	}
}

// Gemm with packed weights in a forward-only program (gemm_infer.go)
// against a float64 product, for both layouts of B and of A, alpha, beta
// and a broadcast C; the bits do not depend on the thread count.
func TestInferenceGemm(t *testing.T) {
	for _, tc := range []struct {
		m, k, n    int
		tA, tB     bool
		alpha, bet float32
	}{
		{1, 300, 70, false, true, 1, 1}, {5, 64, 33, false, false, 0.5, 2}, {3, 17, 100, true, true, 1, 0}, {40, 20, 9, true, false, 2, 1},
	} {
		name := fmt.Sprintf("%dx%dx%d tA=%v tB=%v", tc.m, tc.k, tc.n, tc.tA, tc.tB)
		b := newGB(13)
		as, bs := []int{tc.m, tc.k}, []int{tc.k, tc.n}
		if tc.tA {
			as = []int{tc.k, tc.m}
		}
		if tc.tB {
			bs = []int{tc.n, tc.k}
		}
		x := b.input("x", as...)
		w, bias := b.param("w", bs...), b.param("c", tc.n)
		b.out(b.node("Gemm", []*ir.Value{x, w, bias}, ir.IntAttr("transA", b2i(tc.tA)), ir.IntAttr("transB", b2i(tc.tB)),
			ir.FloatAttr("alpha", tc.alpha), ir.FloatAttr("beta", tc.bet)))
		xd := make([]float32, numel(as))
		for i := range xd {
			xd[i] = float32(b.rng.NormFloat64())
		}
		var first []float32
		for _, threads := range []int{1, 2, 3} {
			p, err := Compile(b.model(), Options{Inference: true, Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			res, err := p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: as, F: xd}})
			if err != nil {
				t.Fatal(err)
			}
			got := append([]float32(nil), res[p.OutputNames()[0]].F...)
			if threads > 1 {
				if !sameBits(got, first) {
					t.Errorf("%s with %d threads: not the bits of 1 thread", name, threads)
				}
				continue
			}
			first = got
			wd, cd := p.Params()[0].Value, p.Params()[1].Value
			for i := 0; i < tc.m; i++ {
				for j := 0; j < tc.n; j++ {
					var s, mag float64
					for q := 0; q < tc.k; q++ {
						av, bv := xd[i*tc.k+q], wd[q*tc.n+j]
						if tc.tA {
							av = xd[q*tc.m+i]
						}
						if tc.tB {
							bv = wd[j*tc.k+q]
						}
						s += float64(av) * float64(bv)
						mag += math.Abs(float64(av) * float64(bv))
					}
					want := float64(tc.alpha)*s + float64(tc.bet)*float64(cd[j])
					// float32 dot product of length k, plus the scaled C:
					// (k+3)·2⁻²⁴ of the magnitudes (Higham §3.1)
					tol := float64(tc.k+3) / (1 << 24) * (math.Abs(float64(tc.alpha))*mag + math.Abs(float64(tc.bet)*float64(cd[j])))
					if d := math.Abs(float64(got[i*tc.n+j]) - want); d > tol {
						t.Fatalf("%s: C[%d,%d] = %g, want %g (±%g)", name, i, j, got[i*tc.n+j], want, tol)
					}
				}
			}
		}
	}
}

// TestInferenceConvNonFiniteWeight: a weight that is ±Inf or NaN on a tap
// that meets only padding still makes the output NaN (0·Inf, as in
// PyTorch and in exec's training path, which multiplies the padding's
// zeros): the inference convolution leaves such taps out only when every
// weight is finite.
func TestInferenceConvNonFiniteWeight(t *testing.T) {
	for _, bad := range []float32{float32(math.Inf(1)), float32(math.NaN())} {
		b := newGB(13)
		x := b.input("x", 2, 4, 1, 1)
		w := make([]float32, 3*4*3*3)
		for i := range w {
			w[i] = float32(b.rng.NormFloat64())
		}
		w[0] = bad // output channel 0, input channel 0, tap (0, 0): only ever meets padding on a 1×1 plane
		y := b.node("Conv", []*ir.Value{x, b.paramData("w", []int{3, 4, 3, 3}, w)},
			ir.IntsAttr("pads", 1, 1, 1, 1))
		b.out(y)
		xd := []float32{1, 2, 3, 4, -1, 0.5, 0.25, 2}
		var outs [2][]float32
		for i, opts := range []Options{{Inference: true}, {}} {
			p, err := Compile(b.model(), opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{2, 4, 1, 1}, F: xd}})
			if err != nil {
				t.Fatal(err)
			}
			outs[i] = res[y.Name].F
		}
		for i, v := range outs[0] {
			nan, wantNaN := math.IsNaN(float64(v)), math.IsNaN(float64(outs[1][i]))
			if nan != wantNaN || i%3 == 0 && !nan {
				t.Errorf("weight %g: y[%d] = %g (inference), %g (training path); channel 0 must be NaN", bad, i, v, outs[1][i])
			}
		}
	}
}
