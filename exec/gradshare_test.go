package exec

import (
	"slices"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// gradFloats is the number of gradient elements a plan's activations own
// (shared buffers counted once; parameters' gradients not counted).
func gradFloats[T Float](p *plan[T]) int {
	seen := map[*T]bool{}
	n := 0
	for _, t := range p.vals {
		if t.state || len(t.g) == 0 || seen[&t.g[:1][0]] {
			continue
		}
		seen[&t.g[:1][0]] = true
		n += cap(t.g)
	}
	return n
}

// Activations' gradient buffers are shared between values whose lifetimes
// in backward do not overlap (ensureGrads). Against a program that keeps a
// buffer per value (Options.Keep naming every value), the outputs and
// every parameter gradient after three steps are the same bits, on real
// architectures with branches (ResNet's skip connections, MobileNet's
// inverted residuals, a U-Net's concatenations, attention), and the
// shared program needs less gradient memory.
func TestSharedGradientBuffersSameBits(t *testing.T) {
	all := func(string) bool { return true }
	for _, c := range []struct{ name, file string }{
		{"vgg_bn", "train.onnx"}, {"resnet18", "train.onnx.gz"}, {"mobilenet_v2", "train.onnx.gz"},
		{"unet_tiny", "train.onnx"}, {"transformer_encoder", "train.onnx"}, {"lstm_classifier", "train.onnx"},
		{"dropoutnet", "train.onnx"},
	} {
		o1, g1, p1 := trainStepsProg(t, c.name, c.file, Options{Seed: 5}, 3)
		o2, g2, p2 := trainStepsProg(t, c.name, c.file, Options{Seed: 5, Keep: all}, 3)
		if !sameBits(o1, o2) {
			t.Errorf("%s: outputs differ with shared gradient buffers", c.name)
		}
		for i := range g1 {
			if !sameBits(g1[i], g2[i]) {
				t.Errorf("%s: gradient of %s differs with shared gradient buffers", c.name, p1.Params()[i].Name)
			}
		}
		shared, own := gradFloats(p1.e.last), gradFloats(p2.e.last)
		t.Logf("%s: activation gradients %d floats shared, %d with a buffer each", c.name, shared, own)
		if shared >= own {
			t.Errorf("%s: shared gradient buffers hold %d floats, no fewer than one buffer per value (%d)", c.name, shared, own)
		}
	}
}

// An intermediate gradient is readable with Grad only when Options.Keep
// names the value; the others' buffers are reused during Backward.
func TestGradOfIntermediateNeedsKeep(t *testing.T) {
	b := newGB(13)
	x := b.input("x", 2, 2)
	h := b.node("Relu", []*ir.Value{x})
	h2 := b.node("Neg", []*ir.Value{h})
	y := b.node("Mul", []*ir.Value{h2, b.paramData("w", []int{2}, []float32{3, 4})})
	b.out(y)
	in := map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{2, 2}, F: []float32{1, -1, 2, 3}}}
	seed := map[string]*Tensor{y.Name: {DType: ir.Float32, Shape: []int{2, 2}, F: []float32{1, 1, 1, 1}}}
	for _, keep := range []bool{false, true} {
		o := Options{InputGrads: true}
		if keep {
			o.Keep = func(n string) bool { return n == h.Name }
		}
		p, _ := run32(t, b.model(), Train, o, in)
		if err := p.Backward(seed); err != nil {
			t.Fatal(err)
		}
		g := p.Grad(h.Name)
		switch {
		case keep && (g == nil || !equalF(g.F, []float32{-3, -4, -3, -4})):
			t.Errorf("kept: Grad(relu) = %v, want [-3 -4 -3 -4]", g)
		case !keep && g != nil:
			t.Errorf("not kept: Grad(relu) = %v, want nil", g.F)
		}
		if g := p.Grad(y.Name); g == nil || !equalF(g.F, []float32{1, 1, 1, 1}) {
			t.Errorf("keep=%v: Grad(output) = %v", keep, g)
		}
		if g := p.Params()[0].Grad; !equalF(g, []float32{-3, -3}) {
			t.Errorf("keep=%v: dw = %v, want [-3 -3]", keep, g)
		}
	}
}

// A Relu after a BatchNormalization writes over the BatchNorm's output in
// a training program without Options.Keep (reluInPlace): the outputs and
// gradients above (TestSharedGradientBuffersSameBits, against Keep, which
// turns it off) are the same bits; here, it happens on VGG and ResNet, the
// overwritten values are no longer offered by Value, and Keep brings them
// back.
func TestReluInPlaceAfterBatchNorm(t *testing.T) {
	for _, c := range []struct{ name, file string }{{"vgg_bn", "train.onnx"}, {"resnet18", "train.onnx.gz"}} {
		_, _, p := trainStepsProg(t, c.name, c.file, Options{Seed: 5}, 1)
		var bnOut string
		n := 0
		for _, s := range p.e.last.steps {
			if s.node.OpType == "Relu" && s.in[0].clobbered {
				if &s.in[0].f[0] != &s.out[0].f[0] {
					t.Errorf("%s: %s is marked overwritten but has storage of its own", c.name, s.node.Label())
				}
				bnOut = s.node.Inputs[0].Name
				n++
			}
		}
		if n == 0 {
			t.Fatalf("%s: no Relu runs in place", c.name)
		}
		if p.Value(bnOut) != nil {
			t.Errorf("%s: Value(%s) offers a value a Relu overwrote", c.name, bnOut)
		}
		_, _, pk := trainStepsProg(t, c.name, c.file, Options{Seed: 5, Keep: func(s string) bool { return s == bnOut }}, 1)
		if v := pk.Value(bnOut); v == nil || !slices.ContainsFunc(v.F, func(x float32) bool { return x < 0 }) {
			t.Errorf("%s: with Keep, Value(%s) is not the BatchNorm's output (negative values included)", c.name, bnOut)
		}
	}
}
