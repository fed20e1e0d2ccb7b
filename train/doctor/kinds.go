package doctor

import (
	"fmt"
	"strings"
)

// Kind is one diagnosis of the fixed vocabulary. The strings are stable:
// they are the "kind" field of the JSON log's diagnosis and repair events.
type Kind string

const (
	NaNLoss              Kind = "nan-loss"
	ExplodingGradients   Kind = "exploding-gradients"
	VanishingGradients   Kind = "vanishing-gradients"
	DyingReLU            Kind = "dying-relu"
	SaturatedActivations Kind = "saturated-activations"
	OscillatingLoss      Kind = "oscillating-loss"
	SlowConvergence      Kind = "slow-convergence"
	Overfitting          Kind = "overfitting"
	Underfitting         Kind = "underfitting"
	LRTooHigh            Kind = "lr-too-high"
	LRTooLow             Kind = "lr-too-low"
)

// KindDoc documents one kind: what is measured, the thresholds, and the
// remedies of warn mode (advice) and fix mode (what is applied).
type KindDoc struct {
	Kind   Kind
	Title  string
	Signal string // what triggers it, with the thresholds
	Fix    string // the advice, and what --doctor fix does
}

// Vocabulary is the documented list of kinds, in the order the summary
// table uses.
var Vocabulary = []KindDoc{
	{NaNLoss, "the loss became NaN or infinite",
		"a training step's loss is not finite (the loop would stop with \"training diverged\").",
		"lower --lr tenfold and add --clip-norm 1.0. fix: roll back to the last good epoch, lower the LR tenfold, enable clipping."},
	{ExplodingGradients, "gradients grow without bound",
		"the total gradient norm (before clipping) is ≥ 100× the median of the run's first 20 steps for 3 consecutive steps, or ≥ 10⁴× once, or not finite.",
		"add --clip-norm 1.0 and lower --lr tenfold. fix: roll back, lower the LR tenfold, enable clipping."},
	{VanishingGradients, "early layers receive almost no gradient",
		"at 3 consecutive samples (every k steps) ‖∇W_first‖/‖∇W_last‖ < 1e-3 and ‖∇W_first‖ < 1e-4 (AUTOTRAINER's rule, on the first and last weight tensors).",
		"with SGD use --optimizer adam (per-parameter step sizes keep the early layers moving); in the model: ReLU instead of sigmoid/tanh, BatchNorm, residual connections. fix: switch SGD to Adam (lr 1e-3), or raise Adam's LR threefold."},
	{DyingReLU, "ReLU units output zero for every sample",
		"at 3 consecutive samples ≥ 70 % of a ReLU layer's units (features or channels) are zero for every sample and position of the batch (AUTOTRAINER/DeepDiagnosis threshold).",
		"lower --lr (large steps push units into the dead zone); in the model: LeakyReLU or BatchNorm before the ReLU. fix: re-initialize the dead units' incoming weights (Kaiming normal) and zero their biases."},
	{SaturatedActivations, "sigmoid/tanh units are saturated",
		"at 3 consecutive samples > 50 % of a sigmoid's pre-activations have |x| ≥ 5 (σ′ < 0.0066, 2.7 % of its peak), or of a tanh's |x| ≥ 2.6 (the same fraction of tanh′'s peak).",
		"normalize the inputs (--mean/--std for images), lower --lr; in the model: a smaller init or BatchNorm. fix: re-initialize the layer's incoming weights (LeCun normal for sigmoid, Glorot for tanh), biases 0."},
	{OscillatingLoss, "the loss goes up and down instead of down",
		"over ≥ 5 epochs, the epoch training loss reverses direction with a swing ≥ 5 % at least max(2, 0.3 × epochs) times (AUTOTRAINER's oscillation rule applied to the loss), or the step losses of an epoch swing by ≥ 3× their mean while the epoch does not improve.",
		"lower --lr threefold or use --scheduler plateau. fix: roll back, lower the LR threefold."},
	{SlowConvergence, "the loss improves, but too slowly",
		"after ≥ 3 epochs, training loss still above half its initial value, improving by less than 1 % per epoch over the last 3 epochs, train and validation accuracy gaining < 0.01 per epoch (AUTOTRAINER), while updates are of normal size (else lr-too-low).",
		"raise --lr threefold or run --lr-find. fix: raise the LR threefold."},
	{Overfitting, "validation loss rises while training loss falls",
		"the validation loss is ≥ 10 % above its best for ≥ 3 epochs while the training loss went on falling, and train accuracy exceeds validation accuracy by ≥ 5 points.",
		"add --early-stopping 5, --weight-decay 1e-4 or more --dropout. fix: roll back to the best-validation epoch, enable early stopping, add weight decay."},
	{Underfitting, "both training and validation loss stay high",
		"after ≥ 4 epochs and half the run, the training loss is ≥ 60 % of its initial value and improved by less than 2 % per epoch over the last 3, with train accuracy no better than validation accuracy (no generalization gap to explain it).",
		"lower --dropout and --weight-decay when they are heavy; otherwise raise --lr or train longer. fix: lower dropout to 0.1 and weight decay tenfold."},
	{LRTooHigh, "the learning rate is too high",
		"at 3 consecutive samples the median update/weight ratio ‖Δw‖/‖w‖ of one step is > 0.1 (DeepDiagnosis' bound) and the loss is not below its initial value.",
		"lower --lr tenfold. fix: roll back, lower the LR tenfold."},
	{LRTooLow, "the learning rate is too low",
		"over the first epoch the median update/weight ratio is < 1e-5 (DeepDiagnosis' bound) and the loss moved by less than 1 % of its initial value.",
		"raise --lr tenfold or run --lr-find. fix: raise the LR tenfold."},
}

// Doc returns the documentation of k.
func Doc(k Kind) (KindDoc, bool) {
	for _, d := range Vocabulary {
		if d.Kind == k {
			return d, true
		}
	}
	return KindDoc{}, false
}

// Mode is --doctor: off, warn (diagnose) or fix (diagnose and repair).
type Mode int

const (
	Off Mode = iota
	Warn
	Fix
)

func (m Mode) String() string { return [...]string{"off", "warn", "fix"}[m] }

// ParseMode reads --doctor's value.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(s) {
	case "off":
		return Off, nil
	case "warn", "":
		return Warn, nil
	case "fix":
		return Fix, nil
	}
	return Off, fmt.Errorf("--doctor wants off, warn or fix, got %q", s)
}
