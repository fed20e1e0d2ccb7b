package optim

import (
	"fmt"
	"math"
	"slices"

	"github.com/nnkit/nnkit/exec"
)

// SavedState is an optimizer's complete state, as a checkpoint keeps it: the
// learning rate and, per parameter that has any, its step count and
// buffers (torch's optimizer.state_dict() by parameter name).
type SavedState struct {
	Name   string
	LR     float64
	Params []ParamState
}

// ParamState is one parameter's optimizer state.
type ParamState struct {
	Param string
	Step  float64              // Adam's step count; 0 for the others
	Slots map[string][]float32 // "exp_avg", "exp_avg_sq", "momentum_buffer", "square_avg", "grad_avg"
}

// Exporter optimizers can export their state to a checkpoint and import
// it again; every optimizer of this package is one. (SaveState is the
// in-memory copy; this is the serializable one.)
type Exporter interface {
	Optimizer
	// ExportState copies the state of params (in their order).
	ExportState(params []*exec.Param) SavedState
	// ImportState replaces the state with s, matching parameters by name.
	ImportState(params []*exec.Param, s SavedState) error
}

func (o *SGD) ExportState(params []*exec.Param) SavedState {
	s := SavedState{Name: o.Name(), LR: o.cfg.LR}
	for _, p := range params {
		if b, ok := o.buf[p]; ok {
			s.Params = append(s.Params, ParamState{Param: p.Name, Slots: map[string][]float32{"momentum_buffer": slices.Clone(b)}})
		}
	}
	return s
}

func (o *SGD) ImportState(params []*exec.Param, s SavedState) error {
	m, err := byParam(o.Name(), params, s)
	if err != nil {
		return err
	}
	o.cfg.LR = s.LR
	o.buf = map[*exec.Param][]float32{}
	for p, ps := range m {
		b, err := slot(ps, "momentum_buffer", len(p.Value), true)
		if err != nil {
			return err
		}
		o.buf[p] = b
	}
	return nil
}

func (o *Adam) ExportState(params []*exec.Param) SavedState {
	s := SavedState{Name: o.Name(), LR: o.cfg.LR}
	for _, p := range params {
		if st := o.state[p]; st != nil {
			s.Params = append(s.Params, ParamState{Param: p.Name, Step: st.step,
				Slots: map[string][]float32{"exp_avg": slices.Clone(st.m), "exp_avg_sq": slices.Clone(st.v)}})
		}
	}
	return s
}

func (o *Adam) ImportState(params []*exec.Param, s SavedState) error {
	m, err := byParam(o.Name(), params, s)
	if err != nil {
		return err
	}
	o.cfg.LR = s.LR
	o.state = map[*exec.Param]*adamState{}
	for p, ps := range m {
		st := &adamState{step: ps.Step}
		if st.m, err = slot(ps, "exp_avg", len(p.Value), true); err != nil {
			return err
		}
		if st.v, err = slot(ps, "exp_avg_sq", len(p.Value), true); err != nil {
			return err
		}
		if !(ps.Step >= 1) || ps.Step != math.Trunc(ps.Step) {
			return fmt.Errorf("optimizer state of %q: step %v", ps.Param, ps.Step)
		}
		o.state[p] = st
	}
	return nil
}

func (o *RMSprop) ExportState(params []*exec.Param) SavedState {
	s := SavedState{Name: o.Name(), LR: o.cfg.LR}
	for _, p := range params {
		st := o.state[p]
		if st == nil {
			continue
		}
		sl := map[string][]float32{"square_avg": slices.Clone(st.sq)}
		if st.gavg != nil {
			sl["grad_avg"] = slices.Clone(st.gavg)
		}
		if st.buf != nil {
			sl["momentum_buffer"] = slices.Clone(st.buf)
		}
		s.Params = append(s.Params, ParamState{Param: p.Name, Slots: sl})
	}
	return s
}

func (o *RMSprop) ImportState(params []*exec.Param, s SavedState) error {
	m, err := byParam(o.Name(), params, s)
	if err != nil {
		return err
	}
	o.cfg.LR = s.LR
	o.state = map[*exec.Param]*rmsState{}
	for p, ps := range m {
		st := &rmsState{}
		n := len(p.Value)
		if st.sq, err = slot(ps, "square_avg", n, true); err != nil {
			return err
		}
		if st.gavg, err = slot(ps, "grad_avg", n, o.cfg.Centered); err != nil {
			return err
		}
		if st.buf, err = slot(ps, "momentum_buffer", n, o.cfg.Momentum > 0); err != nil {
			return err
		}
		o.state[p] = st
	}
	return nil
}

// byParam matches saved states to params by name.
func byParam(name string, params []*exec.Param, s SavedState) (map[*exec.Param]ParamState, error) {
	if s.Name != name {
		return nil, fmt.Errorf("optimizer state is for %s, not %s", s.Name, name)
	}
	idx := map[string]*exec.Param{}
	for _, p := range params {
		idx[p.Name] = p
	}
	out := map[*exec.Param]ParamState{}
	for _, ps := range s.Params {
		p := idx[ps.Param]
		if p == nil {
			return nil, fmt.Errorf("optimizer state for %q, which is not a trained parameter", ps.Param)
		}
		out[p] = ps
	}
	return out, nil
}

// slot returns a copy of a saved buffer of n values; want says whether the
// configuration needs it.
func slot(ps ParamState, key string, n int, want bool) ([]float32, error) {
	v, ok := ps.Slots[key]
	switch {
	case !want && ok:
		return nil, fmt.Errorf("optimizer state of %q has %s, which this configuration does not use", ps.Param, key)
	case !want:
		return nil, nil
	case !ok:
		return nil, fmt.Errorf("optimizer state of %q lacks %s", ps.Param, key)
	case len(v) != n:
		return nil, fmt.Errorf("optimizer state of %q: %s has %d values, the parameter %d", ps.Param, key, len(v), n)
	}
	return slices.Clone(v), nil
}

// ScheduleState is a schedule's state (torch's scheduler.state_dict()):
// named numbers.
type ScheduleState map[string]float64

// StatefulSchedule schedules can save and restore their state; every
// schedule of this package is one.
type StatefulSchedule interface {
	Schedule
	State() ScheduleState
	SetState(ScheduleState) error
}

// The states record the current learning rate as "lr" (torch's
// _last_lr); SetState puts it back into the rate the schedule steps,
// which is the optimizer's once attached.

func (c *Constant) State() ScheduleState { return ScheduleState{"lr": c.r.LR()} }
func (c *Constant) SetState(s ScheduleState) error {
	if err := need(s, "lr"); err != nil {
		return err
	}
	c.r.SetLR(s["lr"])
	return nil
}

func (s *StepLR) State() ScheduleState {
	return ScheduleState{"epoch": float64(s.epoch), "lr": s.r.LR()}
}

func (s *StepLR) SetState(st ScheduleState) error {
	if err := need(st, "epoch", "lr"); err != nil {
		return err
	}
	s.epoch = int(st["epoch"])
	s.r.SetLR(st["lr"])
	return nil
}

func (s *Cosine) State() ScheduleState {
	return ScheduleState{"epoch": float64(s.epoch), "lr": s.r.LR()}
}

func (s *Cosine) SetState(st ScheduleState) error {
	if err := need(st, "epoch", "lr"); err != nil {
		return err
	}
	s.epoch = int(st["epoch"])
	s.r.SetLR(st["lr"])
	return nil
}

func (s *Plateau) State() ScheduleState {
	r := 0.0
	if s.reduced {
		r = 1
	}
	return ScheduleState{"lr": s.r.LR(), "best": s.best, "num_bad_epochs": float64(s.bad), "cooldown_counter": float64(s.cooldown), "reduced": r}
}

func (s *Plateau) SetState(st ScheduleState) error {
	if err := need(st, "lr", "best", "num_bad_epochs", "cooldown_counter", "reduced"); err != nil {
		return err
	}
	s.best, s.bad, s.cooldown, s.reduced = st["best"], int(st["num_bad_epochs"]), int(st["cooldown_counter"]), st["reduced"] != 0
	s.r.SetLR(st["lr"])
	return nil
}

func need(s ScheduleState, keys ...string) error {
	for _, k := range keys {
		if _, ok := s[k]; !ok {
			return fmt.Errorf("schedule state lacks %q", k)
		}
	}
	return nil
}
