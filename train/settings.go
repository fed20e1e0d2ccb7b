package train

import (
	"fmt"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/train/optim"
)

// OptimizerSettings select and configure an optimizer (PyTorch's
// hyperparameters; OptimizerDefaults fills in its defaults).
type OptimizerSettings struct {
	Name        string // sgd, adam, adamw, rmsprop
	LR          float64
	Momentum    float64
	Dampening   float64
	Nesterov    bool
	WeightDecay float64
	Betas       [2]float64
	Eps         float64
	Alpha       float64
	Centered    bool
}

// OptimizerDefaults returns PyTorch's defaults for an optimizer. SGD has no
// default learning rate in torch 1.13; this takes 1e-3, PyTorch's default
// since 2.2.
func OptimizerDefaults(name string) (OptimizerSettings, error) {
	s := OptimizerSettings{Name: name, Betas: [2]float64{0.9, 0.999}, Eps: 1e-8, Alpha: 0.99}
	switch name {
	case "sgd":
		s.LR = 1e-3
	case "adam":
		s.LR = 1e-3
	case "adamw":
		s.LR, s.WeightDecay = 1e-3, 1e-2
	case "rmsprop":
		s.LR = 1e-2
	default:
		return s, fmt.Errorf("unknown optimizer %q (want sgd, adam, adamw or rmsprop)", name)
	}
	return s, nil
}

// NewOptimizer builds the optimizer s describes. Options that the chosen
// optimizer does not have are an error rather than silently ignored.
func NewOptimizer(s OptimizerSettings) (optim.Optimizer, error) {
	switch s.Name {
	case "sgd":
		return optim.NewSGD(optim.SGDConfig{LR: s.LR, Momentum: s.Momentum, Dampening: s.Dampening, WeightDecay: s.WeightDecay, Nesterov: s.Nesterov})
	case "adam":
		return optim.NewAdam(optim.AdamConfig{LR: s.LR, Betas: s.Betas, Eps: s.Eps, WeightDecay: s.WeightDecay})
	case "adamw":
		return optim.NewAdamW(optim.AdamConfig{LR: s.LR, Betas: s.Betas, Eps: s.Eps, WeightDecay: s.WeightDecay})
	case "rmsprop":
		return optim.NewRMSprop(optim.RMSpropConfig{LR: s.LR, Alpha: s.Alpha, Eps: s.Eps, WeightDecay: s.WeightDecay, Momentum: s.Momentum, Centered: s.Centered})
	}
	return nil, fmt.Errorf("unknown optimizer %q (want sgd, adam, adamw or rmsprop)", s.Name)
}

// ScheduleSettings select and configure a learning-rate schedule.
type ScheduleSettings struct {
	Name      string // none, step, cosine, plateau
	StepSize  int
	Gamma     float64
	TMax      int
	EtaMin    float64
	Plateau   optim.PlateauConfig
	HasValSet bool // plateau watches the validation loss
}

// NewSchedule builds the schedule s describes, starting at lr0 (nil for
// "none"). Loop.Run attaches it to the loop's optimizer, whose learning
// rate it then steps.
func NewSchedule(s ScheduleSettings, lr0 float64) (optim.Schedule, error) {
	var (
		sched optim.Schedule
		err   error
	)
	switch s.Name {
	case "", "none":
		return nil, nil
	case "step":
		if s.StepSize < 1 {
			return nil, &SetupError{StepSizeMissing, "PyTorch's StepLR has no default"}
		}
		sched, err = optim.NewStepLR(lr0, s.StepSize, s.Gamma)
	case "cosine":
		sched, err = optim.NewCosine(lr0, s.TMax, s.EtaMin)
	case "plateau":
		if !s.HasValSet {
			return nil, &SetupError{PlateauNeedsVal, "watches the validation loss"}
		}
		sched, err = optim.NewPlateau(lr0, s.Plateau)
	default:
		return nil, fmt.Errorf("unknown scheduler %q (want none, step, cosine or plateau)", s.Name)
	}
	if err != nil {
		return nil, err
	}
	return sched, nil
}

// BatchNormInputs lists the data inputs of the model's BatchNormalization
// nodes (for Loop.BatchNormInputs).
func BatchNormInputs(m *ir.Model) []string {
	var names []string
	for _, n := range m.Graph.Nodes {
		if n.OpType == "BatchNormalization" && n.In(0) != nil {
			names = append(names, n.In(0).Name)
		}
	}
	return names
}
