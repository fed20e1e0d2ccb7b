package optim

import (
	"fmt"
	"math"
)

// Schedule sets the learning rate epoch by epoch, like a torch.optim
// lr_scheduler stepped once per epoch after validation.
type Schedule interface {
	// Step ends an epoch: metric is that epoch's validation loss (only
	// ReduceLROnPlateau reads it). It returns the learning rate for the
	// next epoch.
	Step(metric float64) float64
}

// Constant keeps the learning rate (--scheduler none).
type Constant struct{ LR float64 }

func (c Constant) Step(float64) float64 { return c.LR }

// StepLR is torch.optim.lr_scheduler.StepLR: the learning rate is
// multiplied by Gamma every StepSize epochs (lr₀·γ^⌊epoch/step_size⌋),
// computed recursively like PyTorch's get_lr so the float64 values agree
// bit for bit.
type StepLR struct {
	stepSize int
	gamma    float64
	epoch    int
	lr       float64
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
	return &StepLR{stepSize: stepSize, gamma: gamma, lr: lr0}, nil
}

func (s *StepLR) Step(float64) float64 {
	s.epoch++
	if s.epoch%s.stepSize == 0 {
		s.lr *= s.gamma
	}
	return s.lr
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
	tMax   int
	etaMin float64
	base   float64
	epoch  int
	lr     float64
}

// NewCosine starts at lr0; T_max has no default, eta_min defaults to 0.
func NewCosine(lr0 float64, tMax int, etaMin float64) (*Cosine, error) {
	if tMax < 1 {
		return nil, fmt.Errorf("T_max must be ≥ 1, got %d", tMax)
	}
	return &Cosine{tMax: tMax, etaMin: etaMin, base: lr0, lr: lr0}, nil
}

func (s *Cosine) Step(float64) float64 {
	s.epoch++
	t, T := float64(s.epoch), float64(s.tMax)
	if (s.epoch-1-s.tMax)%(2*s.tMax) == 0 {
		s.lr = s.lr + (s.base-s.etaMin)*(1-math.Cos(math.Pi/T))/2
	} else {
		s.lr = (1+math.Cos(math.Pi*t/T))/(1+math.Cos(math.Pi*(t-1)/T))*(s.lr-s.etaMin) + s.etaMin
	}
	return s.lr
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
	cfg      PlateauConfig
	lr       float64
	best     float64
	bad      int
	cooldown int
	// Reduced reports whether the last Step lowered the learning rate.
	Reduced bool
}

// NewPlateau starts at lr0.
func NewPlateau(lr0 float64, c PlateauConfig) (*Plateau, error) {
	if !(c.Factor < 1) || c.Factor < 0 {
		return nil, fmt.Errorf("factor should be < 1.0 (and ≥ 0), got %v", c.Factor)
	}
	if c.Patience < 0 || c.Cooldown < 0 {
		return nil, fmt.Errorf("patience and cooldown must be ≥ 0 (got %d, %d)", c.Patience, c.Cooldown)
	}
	return &Plateau{cfg: c, lr: lr0, best: math.Inf(1)}, nil
}

func (s *Plateau) Step(metric float64) float64 {
	s.Reduced = false
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
	if s.bad > s.cfg.Patience {
		newLR := math.Max(s.lr*s.cfg.Factor, s.cfg.MinLR)
		if s.lr-newLR > s.cfg.Eps {
			s.lr = newLR
			s.Reduced = true
		}
		s.cooldown = s.cfg.Cooldown
		s.bad = 0
	}
	return s.lr
}

// Config returns the plateau settings.
func (s *Plateau) Config() PlateauConfig { return s.cfg }
