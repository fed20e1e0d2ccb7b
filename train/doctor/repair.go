package doctor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/train"
	"github.com/nnkit/nnkit/train/optim"
)

// state is a point the run can be rolled back to.
type state struct {
	epoch  int
	values [][]float32 // parameters then buffers (BatchNorm statistics)
	opt    optim.Optimizer
	ost    optim.State
	hasOpt bool
}

func save(l *train.Loop, epoch int) *state {
	s := &state{epoch: epoch, opt: l.Opt}
	for _, p := range append(slices.Clone(l.Model.Params()), l.Model.Buffers()...) {
		s.values = append(s.values, slices.Clone(p.Value))
	}
	s.ost, s.hasOpt = optim.SaveState(l.Opt)
	return s
}

// restore puts the weights, statistics and optimizer state back; the
// learning rate stays what it is now.
func (s *state) restore(l *train.Loop) {
	for i, p := range append(slices.Clone(l.Model.Params()), l.Model.Buffers()...) {
		copy(p.Value, s.values[i])
	}
	if s.hasOpt && s.opt == l.Opt {
		lr := l.Opt.LR()
		s.ost.Restore(l.Opt)
		l.Opt.SetLR(lr)
	}
}

func (d *Doctor) queue(k Kind, a *actSite) {
	if d.cfg.Mode == Fix {
		d.pending = append(d.pending, pendingRepair{k, a})
	}
}

func (d *Doctor) canRepair(k Kind) bool {
	return len(d.repairs) < d.cfg.MaxRepairs && d.attempts[k] < 2
}

func (d *Doctor) runPending(l *train.Loop) error {
	p := d.pending
	d.pending = nil
	done := map[Kind]bool{}
	for _, r := range p {
		if done[r.kind] || !d.canRepair(r.kind) {
			continue
		}
		done[r.kind] = true
		if r.layer != nil { // activation kinds: all the flagged layers in one repair
			var sites []*actSite
			for _, q := range p {
				if q.kind == r.kind && q.layer != nil && !slices.Contains(sites, q.layer) {
					sites = append(sites, q.layer)
				}
			}
			if err := d.reinit(l, r.kind, sites); err != nil {
				return err
			}
			continue
		}
		if err := d.repair(l, r); err != nil {
			return err
		}
	}
	return nil
}

// reinit re-initializes the flagged activation layers and logs one repair.
func (d *Doctor) reinit(l *train.Loop, k Kind, sites []*actSite) error {
	var done []string
	for _, a := range sites {
		var what string
		if k == DyingReLU {
			what = d.reinitDead(a)
		} else {
			what = d.reinitLayer(a)
		}
		if what != "" {
			done = append(done, what)
		}
	}
	if len(done) == 0 {
		return nil
	}
	d.forget()
	return d.logRepair(l, k, -1, "re-initialized "+join(done), nil)
}

func (d *Doctor) repair(l *train.Loop, r pendingRepair) error {
	switch r.kind {
	case ExplodingGradients:
		return d.repairLR(l, r.kind, 0.1, true)
	case LRTooHigh:
		return d.repairLR(l, r.kind, d.highFactor, false)
	case OscillatingLoss:
		return d.repairLR(l, r.kind, 1.0/3, false)
	case LRTooLow, SlowConvergence:
		// Aim at a healthy update size: one step moving the fastest
		// layer's weights by about 1e-2 of their norm (Adam at its
		// default LR on the fixtures), at least ×3, at most ×1000. The
		// fastest layer, not the median: with vanishing gradients the
		// median would ask for a rate that blows up the last layers.
		f := 10.0
		if r := median(d.ratioHist); r > 0 {
			f = min(max(targetRatio/r, 3), 1000)
		}
		return d.raiseLR(l, r.kind, f)
	case VanishingGradients:
		if l.Opt.Name() != "sgd" {
			return nil // no setting repairs the architecture; the advice says what to change
		}
		s := d.set.Optimizer
		s2, _ := train.OptimizerDefaults("adam")
		s2.WeightDecay = s.WeightDecay
		o, err := train.NewOptimizer(s2)
		if err != nil {
			return err
		}
		l.Opt = o
		d.set.Optimizer = s2
		d.resetSchedule(l)
		return d.logRepair(l, r.kind, -1, fmt.Sprintf("switched the optimizer from sgd (lr %g) to adam (lr %g)", s.LR, s2.LR),
			[]train.Change{{Setting: train.SettingOptimizer, Value: "adam"}, {Setting: train.SettingLR, Value: fmt.Sprintf("%g", s2.LR)}})
	case Overfitting:
		// Back to the best-validation weights, and early stopping from
		// there (it restores the best weights at the end).
		from := -1
		if d.best != nil {
			d.best.restore(l)
			from = d.best.epoch
		}
		if d.set.EarlyStopping > 0 || d.earlyOn {
			return nil
		}
		d.earlyOn = true
		es := &train.EarlyStopping{Patience: 5, Best: math.Inf(1)}
		l.Hooks = append(l.Hooks, es)
		d.forget()
		return d.logRepair(l, r.kind, from, "turned on early stopping (patience 5)", []train.Change{{Setting: train.SettingEarlyStopping, Value: "5"}})
	case Underfitting:
		var actions []string
		var changes []train.Change
		if dm, ok := l.Model.(interface{ SetDropout(bool, float32) }); ok && d.dropout > 0.1 {
			dm.SetDropout(true, 0.1)
			actions = append(actions, fmt.Sprintf("dropout %g → 0.1", d.dropout))
			changes = append(changes, train.Change{Setting: train.SettingDropout, Value: "0.1"})
			d.dropout, d.set.Dropout, d.set.DropoutSet = 0.1, 0.1, true
		}
		if wd := d.set.Optimizer.WeightDecay; wd >= 1e-4 {
			s := d.set.Optimizer
			s.WeightDecay, s.LR = wd/100, l.Opt.LR()
			o, err := train.NewOptimizer(s)
			if err != nil {
				return err
			}
			l.Opt, d.set.Optimizer = o, s
			actions = append(actions, fmt.Sprintf("weight decay %g → %g (optimizer state restarted)", wd, s.WeightDecay))
			changes = append(changes, train.Change{Setting: train.SettingWeightDecay, Value: fmt.Sprintf("%g", s.WeightDecay)})
		}
		if len(actions) == 0 {
			return d.raiseLR(l, r.kind, 3)
		}
		d.forget()
		return d.logRepair(l, r.kind, -1, "lowered regularization: "+join(actions), changes)
	}
	return nil
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// forget drops the curve history, so that rules judge the run after a
// repair on its own.
func (d *Doctor) forget() {
	d.epochs, d.epochLoss = nil, nil
	d.highRatio, d.vanishRun, d.bigSteps = 0, 0, 0
	d.ratioHist = nil
	clear(d.active)
	for _, a := range d.acts {
		a.runs = 0
	}
}

// repairLR rolls back to the last good state and multiplies the learning
// rate by f, enabling clipping when asked.
func (d *Doctor) repairLR(l *train.Loop, k Kind, f float64, clip bool) error {
	lr := l.Opt.LR()
	from := -1
	if d.good != nil {
		d.good.restore(l)
		from = d.good.epoch
	}
	l.Opt.SetLR(lr * f)
	d.set.Optimizer.LR = lr * f
	d.resetSchedule(l)
	action := fmt.Sprintf("lr %s → %s", lrs(lr), lrs(lr*f))
	changes := []train.Change{{Setting: train.SettingLR, Value: lrs(lr * f)}}
	if clip && l.ClipNorm == 0 {
		l.ClipNorm = 1
		action += ", clip-norm 1.0"
		changes = append(changes, train.Change{Setting: train.SettingClipNorm, Value: "1"})
	}
	d.forget()
	return d.logRepair(l, k, from, action, changes)
}

func (d *Doctor) raiseLR(l *train.Loop, k Kind, f float64) error {
	lr := l.Opt.LR()
	l.Opt.SetLR(lr * f)
	d.set.Optimizer.LR = lr * f
	d.resetSchedule(l)
	d.forget()
	return d.logRepair(l, k, -1, fmt.Sprintf("lr %s → %s", lrs(lr), lrs(lr*f)), []train.Change{{Setting: train.SettingLR, Value: lrs(lr * f)}})
}

// resetSchedule restarts the schedule from the new learning rate.
func (d *Doctor) resetSchedule(l *train.Loop) {
	if l.Sched == nil {
		return
	}
	if s, err := train.NewSchedule(d.set.Schedule, l.Opt.LR()); err == nil && s != nil {
		s.Attach(l.Opt)
		l.Sched = s
	}
}

func (d *Doctor) logRepair(l *train.Loop, k Kind, from int, action string, changes []train.Change) error {
	d.attempts[k]++
	r := Repair{Kind: k, Epoch: l.Epoch, Step: l.Step, Action: action, Changes: changes, Rollback: from}
	d.repairs = append(d.repairs, r)
	msg := "doctor fix: " + string(k) + ": "
	if from >= 0 {
		if from == 0 {
			msg += "rolled back to the initial weights, "
		} else {
			msg += fmt.Sprintf("rolled back to the end of epoch %d, ", from)
		}
	}
	msg += action
	fields := map[string]any{"kind": string(k), "action": action, "step": l.Step, "attempt": d.attempts[k]}
	if from >= 0 {
		fields["rollback_epoch"] = from
	}
	if len(changes) > 0 {
		fields["flags"] = changesText(changes, l.Name) // the settings, as the loop words them
	}
	return l.Emit(train.Event{Name: "repair", Message: msg, Fields: fields})
}

func (d *Doctor) normal() float64 {
	if d.rngSrc == nil {
		d.rngSrc = rand.New(rand.NewPCG(d.rng, 0x5eed))
	}
	return d.rngSrc.NormFloat64()
}

// unitSlices returns, for each output unit of w, the indices of its
// incoming weights, and the fan-in.
func unitSlices(w *exec.Param, axis int) (units int, fanIn int, idx func(u int) []int) {
	shape := w.Shape
	units = shape[axis]
	total := len(w.Value)
	fanIn = total / units
	if axis == 0 {
		return units, fanIn, func(u int) []int {
			out := make([]int, fanIn)
			for i := range out {
				out[i] = u*fanIn + i
			}
			return out
		}
	}
	// axis 1 of a [in, out] matrix
	return units, fanIn, func(u int) []int {
		out := make([]int, fanIn)
		for i := range out {
			out[i] = i*units + u
		}
		return out
	}
}

// reinitDead gives the dead units of a ReLU layer fresh incoming weights
// (Kaiming normal, std √(2/fan_in)) and zero biases; behind a BatchNorm it
// resets the units' BN scale to 1 and shift to 0.
func (d *Doctor) reinitDead(a *actSite) string {
	if a == nil || a.w == nil || d.values == nil {
		return ""
	}
	t := d.values.Value(a.value)
	if t == nil || len(t.Shape) < 2 {
		return ""
	}
	dead := deadMask(t)
	n := 0
	if a.bn {
		for u, isDead := range dead {
			if isDead && u < len(a.w.Value) {
				a.w.Value[u] = 1
				if a.b != nil {
					a.b.Value[u] = 0
				}
				n++
			}
		}
	} else {
		units, fanIn, idx := unitSlices(a.w, a.unitAxis)
		if units != len(dead) {
			return ""
		}
		std := math.Sqrt(2 / float64(fanIn))
		for u, isDead := range dead {
			if !isDead {
				continue
			}
			for _, i := range idx(u) {
				a.w.Value[i] = float32(std * d.normal())
			}
			if a.b != nil && u < len(a.b.Value) {
				a.b.Value[u] = 0
			}
			n++
		}
	}
	if n == 0 {
		return ""
	}
	how := "Kaiming normal incoming weights, zero bias"
	if a.bn {
		how = "BatchNorm scale 1, shift 0"
	}
	return fmt.Sprintf("%d dead units of %s (%s)", n, a.layer, how)
}

// reinitLayer re-initializes a saturated layer's incoming weights: LeCun
// normal (std √(1/fan_in)) before a sigmoid, Glorot normal before a tanh;
// biases 0.
func (d *Doctor) reinitLayer(a *actSite) string {
	if a == nil || a.w == nil || a.bn {
		return ""
	}
	units, fanIn, _ := unitSlices(a.w, a.unitAxis)
	std := math.Sqrt(1 / float64(fanIn))
	init := "LeCun"
	if a.op == "Tanh" {
		std = math.Sqrt(2 / float64(fanIn+units))
		init = "Glorot"
	}
	for i := range a.w.Value {
		a.w.Value[i] = float32(std * d.normal())
	}
	if a.b != nil {
		clear(a.b.Value)
	}
	return fmt.Sprintf("%s (%s normal, std %.3g, zero bias)", a.layer, init, std)
}
