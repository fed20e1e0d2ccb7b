package optim

import (
	"slices"

	"github.com/nnkit/nnkit/exec"
)

// State is a copy of an optimizer's internal state — SGD's momentum
// buffers, Adam's step counts and moments, RMSprop's averages — and its
// learning rate, taken by SaveState. Restore puts it back, as often as
// needed: rolling a run back to a known good point needs the optimizer as
// it was then, not only the weights.
type State struct {
	lr      float64
	restore func()
}

// SaveState copies o's state. It reports false for an optimizer it does
// not know (one implemented outside this package).
func SaveState(o Optimizer) (State, bool) {
	s := State{lr: o.LR()}
	switch o := o.(type) {
	case *SGD:
		buf := cloneMap(o.buf, func(b []float32) []float32 { return slices.Clone(b) })
		s.restore = func() { o.buf = cloneMap(buf, func(b []float32) []float32 { return slices.Clone(b) }) }
	case *Adam:
		st := cloneMap(o.state, cloneAdam)
		s.restore = func() { o.state = cloneMap(st, cloneAdam) }
	case *RMSprop:
		st := cloneMap(o.state, cloneRMS)
		s.restore = func() { o.state = cloneMap(st, cloneRMS) }
	default:
		return s, false
	}
	return s, true
}

// Restore puts the saved state and learning rate back into the optimizer
// it was taken from.
func (s State) Restore(o Optimizer) {
	if s.restore != nil {
		s.restore()
	}
	o.SetLR(s.lr)
}

// LR is the learning rate at the time of the copy.
func (s State) LR() float64 { return s.lr }

func cloneMap[V any](m map[*exec.Param]V, clone func(V) V) map[*exec.Param]V {
	c := make(map[*exec.Param]V, len(m))
	for k, v := range m {
		c[k] = clone(v)
	}
	return c
}

func cloneAdam(s *adamState) *adamState {
	return &adamState{step: s.step, m: slices.Clone(s.m), v: slices.Clone(s.v)}
}

func cloneRMS(s *rmsState) *rmsState {
	return &rmsState{sq: slices.Clone(s.sq), gavg: slices.Clone(s.gavg), buf: slices.Clone(s.buf)}
}
