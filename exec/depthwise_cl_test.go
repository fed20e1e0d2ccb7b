package exec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// The float32 depthwise convolution (vector row operations on channel
// blocks, package vec's assembly where the CPU has AVX2) against the same
// graph in float64 (the generic loops, which the finite-difference tests
// check), on channel counts that leave a partial block, with stride,
// dilation and asymmetric padding, and on 1×1 and 2×2 planes.
func TestDepthwiseFloat32MatchesFloat64(t *testing.T) {
	ints := func(name string, v ...int64) *ir.Attribute { return ir.IntsAttr(name, v...) }
	for _, c := range []struct {
		name  string
		x     []int
		attrs []*ir.Attribute
	}{
		{"C20 stride2 dilation asym pads", []int{3, 20, 7, 6}, []*ir.Attribute{ints("strides", 2, 1), ints("dilations", 1, 2), ints("pads", 1, 2, 0, 1)}},
		{"C40 pad1", []int{2, 40, 9, 9}, []*ir.Attribute{ints("pads", 1, 1, 1, 1)}},
		{"C5 2x2 plane", []int{4, 5, 2, 2}, []*ir.Attribute{ints("pads", 1, 1, 1, 1)}},
		{"C33 1x1 plane", []int{2, 33, 1, 1}, []*ir.Attribute{ints("pads", 1, 1, 1, 1)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			C := c.x[1]
			b := newGB(13)
			attrs := append([]*ir.Attribute{ir.IntAttr("group", int64(C))}, c.attrs...)
			b.out(b.node("Conv", []*ir.Value{b.input("x", c.x...), b.param("w", C, 1, 3, 3), b.param("b", C)}, attrs...))
			e32, err := compileEngine[float32](b.model(), Options{InputGrads: true})
			if err != nil {
				t.Fatal(err)
			}
			e64, err := compileEngine[float64](b.model(), Options{InputGrads: true})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			x := make([]float32, numel(c.x))
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			for i, q := range e32.params {
				for j := range q.value {
					q.value[j] = float32(rng.NormFloat64())
					e64.params[i].value[j] = float64(q.value[j])
				}
			}
			p32, err := e32.planFor([][]int{c.x}, []kind{kFloat})
			if err != nil {
				t.Fatal(err)
			}
			p64, err := e64.planFor([][]int{c.x}, []kind{kFloat})
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range x {
				p32.inputs[0].f[i] = v
				p64.inputs[0].f[i] = float64(v)
			}
			if err := e32.run(p32, Train); err != nil {
				t.Fatal(err)
			}
			if err := e64.run(p64, Train); err != nil {
				t.Fatal(err)
			}
			dy := make([]float32, p32.outputs[0].size)
			for i := range dy {
				dy[i] = float32(rng.NormFloat64())
			}
			e32.zeroGrad()
			e64.zeroGrad()
			if err := e32.backward(func(_ int, g []float32) { copy(g, dy) }); err != nil {
				t.Fatal(err)
			}
			if err := e64.backward(func(_ int, g []float64) {
				for i, v := range dy {
					g[i] = float64(v)
				}
			}); err != nil {
				t.Fatal(err)
			}
			// float32 sums of at most 9 products (y, dx) or 9·N·H·W
			// products (dw, db) of unit normals: relative rounding error
			// well below 1e-5 of the tensor's largest magnitude; a wrong
			// tap, channel or block is off by O(1).
			cmp := func(what string, got []float32, want []float64) {
				var scale, worst float64
				for i := range want {
					scale = math.Max(scale, math.Abs(want[i]))
					worst = math.Max(worst, math.Abs(float64(got[i])-want[i]))
				}
				if scale == 0 || worst/scale > 1e-5 {
					t.Errorf("%s: float32 differs from float64 by %.3g relative to %.3g", what, worst/scale, scale)
				}
			}
			cmp("y", p32.outputs[0].f, p64.outputs[0].f)
			cmp("dx", p32.inputs[0].g, p64.inputs[0].g)
			for i, q := range e32.params {
				cmp("d"+q.name, q.grad, e64.params[i].grad)
			}
		})
	}
}

// The depthwise convolution's gradients (and the rest of a MobileNet
// block's) do not depend on the thread count: each channel block sums its
// weight gradient over the batch in order, whichever worker runs it.
func TestDepthwiseDeterministicAcrossThreads(t *testing.T) {
	o1, g1 := trainSteps(t, "mobilenet_block", "train.onnx", Options{Seed: 5, Threads: 1}, 1)
	for _, th := range []int{2, 3} {
		o2, g2 := trainSteps(t, "mobilenet_block", "train.onnx", Options{Seed: 5, Threads: th}, 1)
		if !sameBits(o1, o2) {
			t.Errorf("mobilenet_block: outputs differ between 1 and %d threads", th)
		}
		for i := range g1 {
			if !sameBits(g1[i], g2[i]) {
				t.Errorf("mobilenet_block: gradient %d differs between 1 and %d threads", i, th)
			}
		}
	}
}
