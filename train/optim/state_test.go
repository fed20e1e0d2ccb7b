package optim

import (
	"slices"
	"testing"

	"github.com/nnkit/nnkit/exec"
)

// TestStateRestore: after SaveState, more steps, and Restore, the next step
// gives exactly what it gave right after the save — for every optimizer
// with state.
func TestStateRestore(t *testing.T) {
	mk := []func() Optimizer{
		func() Optimizer { o, _ := NewSGD(SGDConfig{LR: 0.1, Momentum: 0.9}); return o },
		func() Optimizer { o, _ := NewAdam(DefaultAdam); return o },
		func() Optimizer {
			o, _ := NewRMSprop(RMSpropConfig{LR: 0.01, Alpha: 0.99, Eps: 1e-8, Momentum: 0.5, Centered: true})
			return o
		},
	}
	for _, f := range mk {
		o := f()
		p := &exec.Param{Name: "w", Value: []float32{1, -2, 3}, Grad: []float32{0.5, 0.25, -1}}
		ps := []*exec.Param{p}
		o.Step(ps)
		saved, ok := SaveState(o)
		if !ok {
			t.Fatalf("%s: no state", o.Name())
		}
		w := slices.Clone(p.Value)
		o.Step(ps)
		want := slices.Clone(p.Value)
		o.SetLR(5)
		o.Step(ps)
		o.Step(ps)
		saved.Restore(o)
		copy(p.Value, w)
		o.Step(ps)
		if !slices.Equal(p.Value, want) {
			t.Errorf("%s: step after Restore gives %v, want %v", o.Name(), p.Value, want)
		}
		if o.LR() != saved.LR() {
			t.Errorf("%s: lr %v after Restore, want %v", o.Name(), o.LR(), saved.LR())
		}
	}
}
