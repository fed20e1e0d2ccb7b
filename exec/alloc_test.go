package exec

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

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

// The worker pool must stay open while the engine can still use it, even
// after the Program that owns it became unreachable (a Program's last use
// inside a long Backward, as in the lint probe).
func TestPoolOutlivesProgram(t *testing.T) {
	g := loadGolden(t, "small_cnn")
	x := g.get(t, "input")
	step := func() func() error {
		m, err := onnxio.ReadFile(filepath.Join(g.dir, "train.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile(m, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		e := p.e
		if _, err := p.Run(Train, map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}); err != nil {
			t.Fatal(err)
		}
		return func() error { return e.backward(func(int, []float32) {}) }
	}()
	for range 3 {
		runtime.GC() // the Program is garbage now; its cleanups run
		time.Sleep(10 * time.Millisecond)
	}
	if err := step(); err != nil { // would send on a closed channel
		t.Fatal(err)
	}
}
