package train

import (
	"math"
	"slices"
	"testing"
)

// poison sets a weight to +Inf after step 3, so the next step's loss is
// not finite; repair puts the weights back and reports the batch handled.
type poison struct {
	saved    [][]float32
	calls    int
	repair   bool
	diverged *DivergedError
}

func (p *poison) OnStart(l *Loop) error { p.saved = snapshot(l.Model); return nil }

func (p *poison) OnStep(l *Loop, s *StepStats) error {
	if l.Step == 3 {
		l.Model.Params()[0].Value[0] = float32(math.Inf(1))
	}
	return nil
}

func (p *poison) OnDiverged(l *Loop, e *DivergedError) (bool, error) {
	p.calls++
	p.diverged = e
	if p.repair {
		restore(l.Model, p.saved)
	}
	return p.repair, nil
}

// TestDivergeHook: a DivergeHook that repairs the run lets the loop go on
// (the bad batch is dropped); one that does not leaves the divergence an
// error, as without hooks.
func TestDivergeHook(t *testing.T) {
	for _, repair := range []bool{true, false} {
		l, m := newLoop(t, 2)
		p := &poison{repair: repair}
		l.Hooks = []Hook{p}
		res, err := l.Run()
		if p.calls != 1 || p.diverged == nil || p.diverged.Step != 4 || p.diverged.Epoch != 1 {
			t.Fatalf("repair=%v: OnDiverged called %d times with %+v", repair, p.calls, p.diverged)
		}
		if !repair {
			if _, ok := err.(*DivergedError); !ok {
				t.Fatalf("no repair: error %v, want a DivergedError", err)
			}
			continue
		}
		if err != nil || len(res.Epochs) != 2 {
			t.Fatalf("repaired: error %v, %d epochs", err, len(res.Epochs))
		}
		if slices.ContainsFunc(m.w.Value, func(v float32) bool { return math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) }) {
			t.Fatal("weights not finite after the repair")
		}
		if e := res.Epochs[0]; math.IsNaN(e.TrainLoss) || math.IsInf(e.TrainLoss, 0) {
			t.Fatalf("epoch 1 train loss %v includes the dropped batch", e.TrainLoss)
		}
	}
}
