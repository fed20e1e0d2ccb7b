package doctor

import (
	"fmt"
	"strings"

	"github.com/nnkit/nnkit/train"
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
	Fix    string // the advice, and what fix mode does
}

// Vocabulary is the documented list of kinds, in the order the summary
// table uses.
var Vocabulary = []KindDoc{
	{NaNLoss, "the loss became NaN or infinite",
		"a training step's loss is not finite (the loop would stop with \"training diverged\").",
		"lower the learning rate tenfold and clip the gradient norm at 1.0. fix: roll back to the last good epoch, lower the LR tenfold, enable clipping."},
	{ExplodingGradients, "gradients grow without bound",
		"the total gradient norm (before clipping) is ≥ 100× the median of the run's first 20 steps for 3 consecutive steps, or ≥ 10⁴× once, or not finite.",
		"clip the gradient norm at 1.0 and lower the learning rate tenfold. fix: roll back, lower the LR tenfold, enable clipping."},
	{VanishingGradients, "early layers receive almost no gradient",
		"at 3 consecutive samples (every k steps) ‖∇W_first‖/‖∇W_last‖ < 1e-3 and ‖∇W_first‖ < 1e-4 (AUTOTRAINER's rule, on the first and last weight tensors); not reported while a ReLU layer is dead or a sigmoid/tanh layer saturated (that finding is the cause).",
		"with SGD use Adam (per-parameter step sizes keep the early layers moving); the lasting cure is in the model: ReLU instead of sigmoid/tanh, BatchNorm, residual connections. fix: switch SGD to Adam (lr 1e-3); no setting repairs the architecture."},
	{DyingReLU, "ReLU units output zero for every sample",
		"at 3 consecutive samples ≥ 70 % of a ReLU layer's units (features or channels) are zero for every sample and position of the batch (AUTOTRAINER/DeepDiagnosis threshold).",
		"lower the learning rate (large steps push units into the dead zone); in the model: LeakyReLU or BatchNorm before the ReLU. fix: re-initialize the dead units' incoming weights (Kaiming normal) and zero their biases."},
	{SaturatedActivations, "sigmoid/tanh units are saturated",
		"at 3 consecutive samples > 50 % of a sigmoid's pre-activations have |x| ≥ 5 (σ′ < 0.0066, 2.7 % of its peak), or of a tanh's |x| ≥ 2.6 (the same fraction of tanh′'s peak).",
		"normalize the inputs (mean/std for images), lower the learning rate; in the model: a smaller init or BatchNorm. fix: re-initialize the layer's incoming weights (LeCun normal for sigmoid, Glorot for tanh), biases 0."},
	{OscillatingLoss, "the loss goes up and down instead of down",
		"over ≥ 5 epochs, the epoch training or validation loss reverses direction with swings ≥ 5 % at least max(2, 0.3 × epochs) times (AUTOTRAINER's oscillation rule, on the loss) without a net improvement (the second half of the curve does not beat the first by 10 %); or the step losses of an epoch span ≥ 3× their mean while the epoch does not improve.",
		"lower the learning rate threefold or use the plateau schedule. fix: roll back, lower the LR threefold."},
	{SlowConvergence, "the loss improves, but too slowly",
		"after ≥ 3 epochs, the training loss is still above half the chance level ln C (cross-entropy; else the initial loss), improving by less than 1 % per epoch over the last 3 epochs, with train and validation accuracy gaining < 0.01 per epoch (AUTOTRAINER); not reported when another finding explains it.",
		"raise the learning rate threefold or run the LR range test. fix: raise the LR so that one step moves the weights by about 1e-2 of their norm (Adam's default on the fixtures): ×3 to ×1000 by the measured update ratio."},
	{Overfitting, "validation loss rises while training loss falls",
		"the best validation loss is ≥ 3 epochs old, the mean of the last 3 is ≥ 10 % above it, the training loss went on falling, and train accuracy exceeds validation accuracy by ≥ 5 points; silent when early stopping is on (the remedy is in place).",
		"turn on early stopping with patience 5 (more data, dropout or weight decay also help). fix: roll back to the best-validation weights and turn on early stopping (patience 5), which keeps the best weights at the end."},
	{Underfitting, "both training and validation loss stay high",
		"after ≥ 4 epochs with heavy regularization (dropout ≥ 0.5 or weight decay ≥ 1e-3), otherwise in the second half of the run, the training loss is ≥ 60 % of its initial value and improved by less than 2 % per epoch over the last 3, with train accuracy no better than validation accuracy (no generalization gap to explain it).",
		"lower dropout and weight decay when they are heavy; otherwise raise the learning rate or train longer. fix: lower dropout to 0.1 and weight decay a hundredfold."},
	{LRTooHigh, "the learning rate is too high",
		"at 3 consecutive samples (each of the first 5 steps, then every k-th) the median over layers of one step's update/weight ratio ‖Δw‖/‖w‖ is > 0.1 (DeepDiagnosis' bound) and the loss is not below the chance level ln C (cross-entropy; else the initial loss).",
		"lower the learning rate to bring one step's update to about 1e-2 of the weights (÷10 to ÷1000 by the measured ratio). fix: roll back, lower the LR so."},
	{LRTooLow, "the learning rate is too low",
		"over the first epoch's samples, even the fastest-moving layer's update/weight ratio is < 1e-5 (median; DeepDiagnosis' bound) and the loss moved by less than 1 % of its initial value.",
		"raise the learning rate tenfold or run the LR range test. fix: raise the LR toward a one-step update ratio of 1e-2 (×3 to ×1000)."},
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

// Mode is the doctor's mode: off, warn (diagnose) or fix (diagnose and
// repair).
type Mode int

const (
	Off Mode = iota
	Warn
	Fix
)

// ModeSetting is the doctor's mode as a setting named in advice (value
// "fix": fix mode does what the advice says).
const ModeSetting train.Setting = "doctor.Mode"

// LintCheck is not a setting but the static check of the model (package
// lint, with its probe) that a message points to; a front end names it
// as it runs it (nntrain: the nnlint command).
const LintCheck train.Setting = "lint.Check"

func (m Mode) String() string { return [...]string{"off", "warn", "fix"}[m] }

// ParseMode reads a mode's name (case-insensitive; "" is warn).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(s) {
	case "off":
		return Off, nil
	case "warn", "":
		return Warn, nil
	case "fix":
		return Fix, nil
	}
	return Off, fmt.Errorf("the doctor's mode is off, warn or fix, not %q", s)
}
