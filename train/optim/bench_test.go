package optim

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nnkit/nnkit/exec"
)

// Optimizer steps and clip_grad_norm_ over parameter sets the size of
// RobustNet-784 (0.54 M) and ResNet-18 (11.2 M). Issue 13's profile of the
// float64-emulating scalar Adam: 5.2 ms and 106 ms; PyTorch 1.13's Adam
// 2.0–2.6 ms and 31–42 ms, clip_grad_norm_ 5 ms on ResNet-18.
func BenchmarkStep(b *testing.B) {
	sets := []struct {
		name   string
		shapes []int
	}{
		{"robustnet", []int{784 * 512, 512, 512, 512, 512 * 256, 256, 256, 256, 256 * 10, 10}},
		{"resnet18", []int{2359296, 2359296, 2359296, 1179648, 589824, 589824, 589824, 294912, 147456, 147456, 147456, 131072, 73728, 36864, 36864, 36864, 36864, 32768, 9408, 8192, 5130}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range sets {
		var ps []*exec.Param
		for _, n := range s.shapes {
			p := &exec.Param{Name: "p", Shape: []int{n}, Value: make([]float32, n), Grad: make([]float32, n)}
			for i := range p.Value {
				p.Value[i], p.Grad[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()*1e-3)
			}
			ps = append(ps, p)
		}
		adam, _ := NewAdam(DefaultAdam)
		adamw, _ := NewAdamW(DefaultAdamW)
		sgd, _ := NewSGD(SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4})
		rms, _ := NewRMSprop(DefaultRMSprop)
		for _, o := range []Optimizer{adam, adamw, sgd, rms} {
			b.Run(fmt.Sprintf("%s/%s", s.name, o.Name()), func(b *testing.B) {
				for b.Loop() {
					o.Step(ps)
				}
			})
		}
		b.Run(s.name+"/clipnorm", func(b *testing.B) {
			for b.Loop() {
				ClipGradNorm(ps, 1e9) // norm only: the gradients stay as they are
			}
		})
	}
}
