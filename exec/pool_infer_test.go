package exec

import (
	"math"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// MaxPool in a forward-only program without an indices output reduces
// values only (forwardValues); its y must be the training path's, bit for
// bit, on every geometry — windows inside the input, windows partly or
// wholly in the padding, 2×2, 3×3 and other kernels, strides, dilations,
// ceil_mode, 1-D — and on inputs with NaN, ±0 and ±Inf, at 1 and 2 threads.
func TestInferenceMaxPool(t *testing.T) {
	cases := []struct {
		name  string
		x     []int
		attrs []*ir.Attribute
	}{
		{"3x3 s2 p1 (ResNet stem)", []int{3, 5, 16, 16}, []*ir.Attribute{ir.IntsAttr("kernel_shape", 3, 3), ir.IntsAttr("strides", 2, 2), ir.IntsAttr("pads", 1, 1, 1, 1)}},
		{"3x3 s2 p1 odd plane", []int{2, 3, 7, 9}, []*ir.Attribute{ir.IntsAttr("kernel_shape", 3, 3), ir.IntsAttr("strides", 2, 2), ir.IntsAttr("pads", 1, 1, 1, 1)}},
		{"2x2 s2", []int{2, 4, 6, 6}, []*ir.Attribute{ir.IntsAttr("kernel_shape", 2, 2), ir.IntsAttr("strides", 2, 2)}},
		{"2x2 s1 ceil", []int{2, 2, 5, 5}, []*ir.Attribute{ir.IntsAttr("kernel_shape", 2, 2), ir.IntAttr("ceil_mode", 1), ir.IntsAttr("strides", 2, 2)}},
		{"3x2 dilation asymmetric pads", []int{1, 3, 9, 8}, []*ir.Attribute{ir.IntsAttr("kernel_shape", 3, 2), ir.IntsAttr("dilations", 2, 1), ir.IntsAttr("pads", 2, 0, 1, 1)}},
		{"2x2 pad 1 stride 3 (windows partly in the padding)", []int{1, 2, 3, 3}, []*ir.Attribute{ir.IntsAttr("kernel_shape", 2, 2), ir.IntsAttr("pads", 1, 1, 1, 1), ir.IntsAttr("strides", 3, 3)}},
		{"1-D", []int{2, 3, 11}, []*ir.Attribute{ir.IntsAttr("kernel_shape", 3), ir.IntsAttr("strides", 2), ir.IntsAttr("pads", 1, 1)}},
	}
	special := []float32{float32(math.NaN()), float32(math.Copysign(0, -1)), 0, float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newGB(13)
			x := b.input("x", tc.x...)
			y := b.node("MaxPool", []*ir.Value{x}, tc.attrs...)
			b.out(y)
			xd := make([]float32, numel(tc.x))
			for i := range xd {
				xd[i] = float32(b.rng.NormFloat64())
				if b.rng.IntN(8) == 0 { // ties of ±0, NaNs and infinities in some windows
					xd[i] = special[b.rng.IntN(len(special))]
				}
			}
			in := map[string]*Tensor{"x": {DType: ir.Float32, Shape: tc.x, F: xd}}
			var want []float32
			for _, o := range []Options{{Threads: 1}, {Inference: true, Threads: 1}, {Inference: true, Threads: 2}} {
				p, err := Compile(b.model(), o)
				if err != nil {
					t.Fatal(err)
				}
				res, err := p.Run(Eval, in)
				if err != nil {
					t.Fatal(err)
				}
				got := res[y.Name].F
				if want == nil {
					want = append([]float32(nil), got...)
					continue
				}
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
						t.Fatalf("inference=%v threads=%d: y[%d] = %g, training path %g", o.Inference, o.Threads, i, got[i], want[i])
					}
				}
			}
		})
	}
}
