package optim

import (
	"fmt"
	"math"
)

// Rate holds a current learning rate. An Optimizer is one: it owns the
// rate its steps use.
type Rate interface {
	LR() float64
	SetLR(lr float64)
}

// Schedule sets the learning rate epoch by epoch, like a torch.optim
// lr_scheduler stepped once per epoch after validation. As a torch
// scheduler reads and writes its optimizer's param_groups, a schedule
// attached to an optimizer steps the optimizer's own rate: the optimizer
// is the one owner of the current learning rate and nothing copies it. A
// schedule not attached steps a rate of its own, starting at the lr0 it
// was made with.
type Schedule interface {
	// Step ends an epoch: metric is that epoch's validation loss (only
	// ReduceLROnPlateau reads it). It sets the learning rate for the next
	// epoch and returns it.
	Step(metric float64) float64
	// Attach makes the schedule step r's rate from now on (r's current
	// rate is the schedule's current rate).
	Attach(r Rate)
}

// Reducer is a Schedule that lowers the rate in reaction to the metric
// (ReduceLROnPlateau) rather than on a timetable; the training loop
// reports every reduction.
type Reducer interface {
	Schedule
	// Reduced reports whether the last Step lowered the rate, which it
	// does after more than patience epochs without improvement.
	Reduced() (ok bool, patience int)
}

// ownRate is a schedule's rate until it is attached to an optimizer.
type ownRate struct{ lr float64 }

func (r *ownRate) LR() float64      { return r.lr }
func (r *ownRate) SetLR(lr float64) { r.lr = lr }

// rate is the part every schedule shares: where its learning rate lives.
type rate struct{ r Rate }

func newRate(lr0 float64) rate { return rate{&ownRate{lr0}} }

func (s *rate) Attach(r Rate) { s.r = r }

// Constant keeps the learning rate: no schedule.
type Constant struct{ rate }

// NewConstant starts at lr0.
func NewConstant(lr0 float64) *Constant { return &Constant{newRate(lr0)} }

func (c *Constant) Step(float64) float64 { return c.r.LR() }

// StepLR is torch.optim.lr_scheduler.StepLR: the learning rate is
// multiplied by Gamma every StepSize epochs (lr₀·γ^⌊epoch/step_size⌋),
// computed recursively like PyTorch's get_lr so the float64 values agree
// bit for bit.
type StepLR struct {
	rate
	stepSize int
	gamma    float64
	epoch    int
}

// NewStepLR starts at lr0. PyTorch's default gamma is 0.1; step_size has no
// default.
func NewStepLR(lr0 float64, stepSize int, gamma float64) (*StepLR, error) {
	if stepSize < 1 {
		return nil, fmt.Errorf("step size must be ≥ 1, got %d", stepSize)
	}
	if math.IsNaN(gamma) || gamma < 0 {
		return nil, fmt.Errorf("gamma must be ≥ 0, got %v", gamma)
	}
	return &StepLR{rate: newRate(lr0), stepSize: stepSize, gamma: gamma}, nil
}

func (s *StepLR) Step(float64) float64 {
	s.epoch++
	if s.epoch%s.stepSize == 0 {
		s.r.SetLR(s.r.LR() * s.gamma)
	}
	return s.r.LR()
}

// Cosine is torch.optim.lr_scheduler.CosineAnnealingLR with PyTorch's
// recursive get_lr (torch 1.13):
//
//	t = 0:                          lr
//	(t − 1 − T) mod 2T = 0:         lr + (lr₀ − η_min)(1 − cos(π/T))/2
//	otherwise:                      (1 + cos(πt/T)) / (1 + cos(π(t−1)/T)) · (lr − η_min) + η_min
//
// It equals the closed form η_min + (lr₀ − η_min)(1 + cos(πt/T))/2 up to
// float64 rounding; there are no restarts, so past T the rate rises again.
type Cosine struct {
	rate
	tMax   int
	etaMin float64
	base   float64
	epoch  int
}

// NewCosine starts at lr0; T_max has no default, eta_min defaults to 0.
func NewCosine(lr0 float64, tMax int, etaMin float64) (*Cosine, error) {
	if tMax < 1 {
		return nil, fmt.Errorf("T_max must be ≥ 1, got %d", tMax)
	}
	return &Cosine{rate: newRate(lr0), tMax: tMax, etaMin: etaMin, base: lr0}, nil
}

func (s *Cosine) Step(float64) float64 {
	s.epoch++
	t, T := float64(s.epoch), float64(s.tMax)
	lr := s.r.LR()
	if (s.epoch-1-s.tMax)%(2*s.tMax) == 0 {
		lr = lr + (s.base-s.etaMin)*(1-math.Cos(math.Pi/T))/2
	} else {
		lr = (1+math.Cos(math.Pi*t/T))/(1+math.Cos(math.Pi*(t-1)/T))*(lr-s.etaMin) + s.etaMin
	}
	s.r.SetLR(lr)
	return lr
}

// PlateauConfig holds ReduceLROnPlateau's settings (mode 'min',
// threshold_mode 'rel'). PyTorch's defaults: DefaultPlateau.
type PlateauConfig struct {
	Factor    float64 // default 0.1; must be < 1
	Patience  int     // default 10
	Threshold float64 // default 1e-4 (relative)
	Cooldown  int     // default 0
	MinLR     float64 // default 0
	Eps       float64 // default 1e-8: smaller changes are skipped
}

// DefaultPlateau is PyTorch's default configuration.
var DefaultPlateau = PlateauConfig{Factor: 0.1, Patience: 10, Threshold: 1e-4, Eps: 1e-8}

// Plateau is torch.optim.lr_scheduler.ReduceLROnPlateau(mode='min',
// threshold_mode='rel'): a metric is better when metric < best·(1 −
// threshold); after more than Patience bad epochs lr ← max(lr·factor,
// min_lr) unless that changes it by no more than eps; then Cooldown epochs
// are ignored.
type Plateau struct {
	rate
	cfg      PlateauConfig
	best     float64
	bad      int
	cooldown int
	reduced  bool // the last Step lowered the learning rate
}

// NewPlateau starts at lr0.
func NewPlateau(lr0 float64, c PlateauConfig) (*Plateau, error) {
	if !(c.Factor < 1) || c.Factor < 0 {
		return nil, fmt.Errorf("factor should be < 1.0 (and ≥ 0), got %v", c.Factor)
	}
	if c.Patience < 0 || c.Cooldown < 0 {
		return nil, fmt.Errorf("patience and cooldown must be ≥ 0 (got %d, %d)", c.Patience, c.Cooldown)
	}
	return &Plateau{rate: newRate(lr0), cfg: c, best: math.Inf(1)}, nil
}

func (s *Plateau) Step(metric float64) float64 {
	s.reduced = false
	if metric < s.best*(1-s.cfg.Threshold) {
		s.best = metric
		s.bad = 0
	} else {
		s.bad++
	}
	if s.cooldown > 0 {
		s.cooldown--
		s.bad = 0 // bad epochs in cooldown are ignored
	}
	if lr := s.r.LR(); s.bad > s.cfg.Patience {
		newLR := math.Max(lr*s.cfg.Factor, s.cfg.MinLR)
		if lr-newLR > s.cfg.Eps {
			s.r.SetLR(newLR)
			s.reduced = true
		}
		s.cooldown = s.cfg.Cooldown
		s.bad = 0
	}
	return s.r.LR()
}

// Reduced reports whether the last Step lowered the learning rate, and
// the patience after which it does.
func (s *Plateau) Reduced() (bool, int) { return s.reduced, s.cfg.Patience }

// Config returns the plateau settings.
func (s *Plateau) Config() PlateauConfig { return s.cfg }
