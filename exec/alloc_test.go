package exec

import (
	"path/filepath"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// A steady-state training step (Run in Train mode + Backward) must not
// allocate: every buffer is planned when the input shapes are first seen.
func TestSteadyStateAllocations(t *testing.T) {
	for _, name := range []string{"dropoutnet", "robustnet", "small_cnn", "resnet_narrow", "mobilenet_block", "transformer_encoder", "lstm_classifier", "vgg_bn"} {
		t.Run(name, func(t *testing.T) {
			g := loadGolden(t, name)
			m, err := onnxio.ReadFile(filepath.Join(g.dir, "train.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(m, Options{Seed: 1, InputGrads: true})
			if err != nil {
				t.Fatal(err)
			}
			x := g.get(t, "input")
			in := map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}
			lw := g.f32(t, "loss_weight")
			grads := map[string]*Tensor{"output": {DType: ir.Float32, Shape: g.get(t, "loss_weight").shape, F: lw}}
			step := func() {
				if _, err := p.Run(Train, in); err != nil {
					t.Fatal(err)
				}
				if err := p.Backward(grads); err != nil {
					t.Fatal(err)
				}
				p.ZeroGrad()
			}
			step() // plans and allocates
			if n := testing.AllocsPerRun(5, step); n > 0 {
				t.Errorf("%s: %.1f allocations per training step, want 0", name, n)
			}
		})
	}
}
