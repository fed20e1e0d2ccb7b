package doctor

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nnkit/nnkit/train"
)

// Thresholds (see Vocabulary for where each comes from).
const (
	baseSteps      = 20   // steps whose median gradient norm is the baseline
	explodeFactor  = 100  // sustained: gradient norm ≥ 100× baseline ...
	explodeSteps   = 3    // ... for 3 consecutive steps
	explodeOnce    = 1e4  // or ≥ 10⁴× baseline once
	vanishRatio    = 1e-3 // ‖∇W_first‖/‖∇W_last‖ (AUTOTRAINER)
	vanishAbs      = 1e-4 // ‖∇W_first‖ (AUTOTRAINER)
	deadFrac       = 0.7  // dead ReLU units (AUTOTRAINER, DeepDiagnosis)
	satFrac        = 0.5  // saturated pre-activations (DeepDiagnosis)
	sustain        = 3    // consecutive samples before a sampled condition counts
	ratioHigh      = 0.1  // update/weight ratio bounds (DeepDiagnosis)
	ratioLow       = 1e-5 //
	targetRatio    = 1e-2 // what LR repairs aim at
	overfitRise    = 0.10 // validation loss above its best by 10 % ...
	overfitEpochs  = 3    // ... for 3 epochs
	overfitGap     = 0.05 // train acc − val acc
	slowGain       = 0.01 // per-epoch relative loss gain and accuracy gain (AUTOTRAINER)
	underfitLevel  = 0.6  // training loss still ≥ 60 % of the initial loss
	underfitGain   = 0.02 // relative loss gain per epoch
	oscSwing       = 0.05 // relative swing of a reversal of the epoch loss
	oscStepsFactor = 3    // step losses of an epoch spanning ≥ 3× their mean
	earlySteps     = 5    // the update ratio is also sampled at each of the first steps
)

func (d *Doctor) checkExploding(l *train.Loop, s *train.StepStats) error {
	norm := s.GradNorm
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		ev := map[string]any{"grad_norm": norm, "loss": s.Loss, "lr": l.Opt.LR(), "baseline_grad_norm": d.baseline}
		return d.explode(l, ev, fmt.Sprintf("the gradient norm is %v (loss %.4g)", norm, s.Loss))
	}
	d.lastGrad = norm
	if len(d.baseNorms) < baseSteps {
		d.baseNorms = append(d.baseNorms, norm)
		if len(d.baseNorms) >= 5 {
			d.baseline = median(d.baseNorms)
		}
		if len(d.baseNorms) <= 5 {
			return nil
		}
	}
	if d.baseline <= 0 {
		return nil
	}
	r := norm / d.baseline
	if r >= explodeFactor {
		d.bigSteps++
	} else {
		d.bigSteps = 0
	}
	if d.bigSteps >= explodeSteps || r >= explodeOnce {
		ev := map[string]any{"grad_norm": norm, "baseline_grad_norm": d.baseline, "ratio": r, "loss": s.Loss, "lr": l.Opt.LR()}
		d.bigSteps = 0
		return d.explode(l, ev, fmt.Sprintf("gradient norm %s (median of the first %d steps: %s, %s×)",
			g(norm), len(d.baseNorms), g(d.baseline), g(r)))
	}
	return nil
}

func (d *Doctor) explode(l *train.Loop, ev map[string]any, msg string) error {
	msg += d.initNote(l, ev)
	if err := d.diagnose(l, ExplodingGradients, "", l.Step, ev, msg, d.lowerLRAdvice(l, 10, true)); err != nil {
		return err
	}
	d.queue(ExplodingGradients, nil)
	return nil
}

func (d *Doctor) copyWeights(dst [][]float32) [][]float32 {
	if len(dst) != len(d.layers) {
		dst = make([][]float32, len(d.layers))
	}
	for i, ly := range d.layers {
		dst[i] = append(dst[i][:0], ly.weight.Value...)
	}
	return dst
}

// sample reads the per-layer and activation statistics.
func (d *Doctor) sample(l *train.Loop, s *train.StepStats) error {
	if d.values != nil {
		if err := d.sampleActs(l, s); err != nil {
			return err
		}
	}
	if len(d.layers) > 0 {
		return d.sampleLayers(l, s)
	}
	return nil
}

// updateRatio measures one step's update/weight ratio per layer.
func (d *Doctor) updateRatio(l *train.Loop, s *train.StepStats) error {
	if len(d.prevW) != len(d.layers) || len(d.layers) == 0 {
		return nil
	}
	var ratios []float64
	for i, ly := range d.layers {
		if w := norm(d.prevW[i]); w > 0 {
			ratios = append(ratios, diffNorm(ly.weight.Value, d.prevW[i])/w)
		}
	}
	if len(ratios) == 0 {
		return nil
	}
	r := median(ratios)
	if l.Epoch == 1 {
		d.ratioMax = append(d.ratioMax, slices.Max(ratios))
	}
	d.ratioHist = append(d.ratioHist, slices.Max(ratios))
	if len(d.ratioHist) > 5 {
		d.ratioHist = d.ratioHist[1:]
	}
	if r > ratioHigh && s.Loss >= d.refLoss() {
		d.highRatio++
	} else {
		d.highRatio = 0
	}
	if d.highRatio < sustain {
		return nil
	}
	ev := map[string]any{"update_ratio": r, "loss": s.Loss, "reference_loss": d.refLoss(), "lr": l.Opt.LR()}
	msg := fmt.Sprintf("one step changes the weights by %s of their norm (median over layers; healthy ≤ 0.1) and the loss %.4g is not below %s",
		g(r), s.Loss, d.refName())
	d.highRatio = 0
	d.highFactor = highFactor(r)
	if err := d.diagnose(l, LRTooHigh, "", l.Step, ev, msg, d.lowerLRAdvice(l, 1/d.highFactor, false)); err != nil {
		return err
	}
	d.queue(LRTooHigh, nil)
	return nil
}

func (d *Doctor) sampleLayers(l *train.Loop, s *train.StepStats) error {
	// Vanishing gradients: first against last weight layer.
	first, last := d.layers[0], d.layers[len(d.layers)-1]
	if first == last || first.weight.Grad == nil || last.weight.Grad == nil {
		return nil
	}
	gf, gl := norm(first.weight.Grad), norm(last.weight.Grad)
	ratio := gf / gl
	if gl > 0 && ratio < vanishRatio && gf < vanishAbs && !d.actTrouble() {
		d.vanishRun++
		d.lastVanish = map[string]any{"grad_norm_first": gf, "grad_norm_last": gl, "ratio": ratio, "first_layer": first.name, "last_layer": last.name}
	} else {
		d.vanishRun = 0
	}
	if d.vanishRun >= sustain {
		d.vanishRun = 0
		msg := fmt.Sprintf("gradient norm of %s is %s, %s× that of %s (%s); AUTOTRAINER's bound is 1e-3",
			first.name, g(gf), g(ratio), last.name, g(gl))
		if err := d.diagnose(l, VanishingGradients, first.name, l.Step, d.lastVanish, msg, d.vanishAdvice(l)); err != nil {
			return err
		}
		d.queue(VanishingGradients, nil)
	}
	return nil
}

func (d *Doctor) sampleActs(l *train.Loop, s *train.StepStats) error {
	var dead, sat []*actSite
	for _, a := range d.acts {
		t := d.values.Value(a.value)
		if t == nil {
			continue
		}
		bad := false
		if a.op == "Relu" {
			a.last, a.units = deadUnits(t)
			bad = a.last >= deadFrac
		} else {
			a.last = saturated(t, satLimit(a.op))
			bad = a.last > satFrac
		}
		a.batch = t.Shape[0]
		if !bad {
			a.runs = 0
			continue
		}
		a.runs++
		if a.runs >= sustain {
			if a.op == "Relu" {
				dead = append(dead, a)
			} else {
				sat = append(sat, a)
			}
		}
	}
	if len(dead) > 0 {
		w := worst(dead)
		ev := map[string]any{"dead_fraction": w.last, "units": w.units, "batch": w.batch, "lr": l.Opt.LR(), "layers": names(dead)}
		msg := fmt.Sprintf("%.0f%% of the %d units of %s output 0 for every sample of the batch, %d samples in a row (threshold 70%%)",
			100*w.last, w.units, w.node, sustain)
		if len(dead) > 1 {
			msg += fmt.Sprintf("; %d ReLU layers affected: %s", len(dead), strings.Join(names(dead), ", "))
		}
		fix := train.Say("lower ", train.SettingLR, fmt.Sprintf(" from %s to %s; in the model, use LeakyReLU or BatchNorm before the ReLU; ", lrs(l.Opt.LR()), lrs(l.Opt.LR()/10)),
			fixMode, " re-initializes the dead units")
		if err := d.diagnose(l, DyingReLU, w.layer, l.Step, ev, msg, fix); err != nil {
			return err
		}
		for _, a := range dead {
			if a.runs == sustain {
				d.queue(DyingReLU, a)
			}
		}
	}
	if len(sat) > 0 {
		w := worst(sat)
		ev := map[string]any{"saturated_fraction": w.last, "limit": float64(satLimit(w.op)), "op": w.op, "layers": names(sat)}
		msg := fmt.Sprintf("%.0f%% of the inputs of %s (%s) have |x| ≥ %g, where its derivative is < 3%% of its peak (threshold 50%%)",
			100*w.last, w.node, w.op, satLimit(w.op))
		if len(sat) > 1 {
			msg += fmt.Sprintf("; %d layers affected: %s", len(sat), strings.Join(names(sat), ", "))
		}
		fix := train.Say("lower ", train.SettingLR, ", normalize the inputs (", train.SettingNormalize, " for images), and re-export with a smaller init or BatchNorm before the activation; ",
			fixMode, " re-initializes the layers")
		if err := d.diagnose(l, SaturatedActivations, w.layer, l.Step, ev, msg, fix); err != nil {
			return err
		}
		for _, a := range sat {
			if a.runs == sustain {
				d.queue(SaturatedActivations, a)
			}
		}
	}
	return nil
}

func worst(as []*actSite) *actSite {
	w := as[0]
	for _, a := range as[1:] {
		if a.last > w.last {
			w = a
		}
	}
	return w
}

func names(as []*actSite) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.layer
	}
	return out
}

// lrs formats a learning rate for advice (3 significant digits).
func lrs(f float64) string { return strconv.FormatFloat(f, 'g', 3, 64) }

// epochRules checks the curves after an epoch.
func (d *Doctor) epochRules(l *train.Loop, e *train.EpochStats) error {
	n := len(d.epochs)
	lr := l.Opt.LR()
	if n == 1 && len(d.ratioMax) > 0 {
		r := median(d.ratioMax)
		moved := math.Abs(d.initLoss-e.TrainLoss) / d.initLoss
		if r < ratioLow && moved < 0.01 {
			ev := map[string]any{"update_ratio": r, "initial_loss": d.initLoss, "train_loss": e.TrainLoss, "lr": lr}
			msg := fmt.Sprintf("one step changes even the fastest-moving layer's weights by only %s of their norm (median over epoch 1; healthy ≥ 1e-5) and epoch 1 moved the loss by %.2g%% (%.4g → %.4g)",
				g(r), 100*moved, d.initLoss, e.TrainLoss)
			if err := d.diagnose(l, LRTooLow, "", 0, ev, msg, raiseLRAdvice(lr, 10)); err != nil {
				return err
			}
			d.queue(LRTooLow, nil)
		}
	}
	if err := d.oscillation(l, e); err != nil {
		return err
	}
	if n >= 3 && !d.causeKnown() {
		if err := d.slow(l, e); err != nil {
			return err
		}
	}
	if err := d.overfit(l, e); err != nil {
		return err
	}
	return d.underfit(l, e)
}

// gain is the mean relative improvement per epoch of the training loss
// over the last k epochs.
func (d *Doctor) gain(k int) float64 {
	n := len(d.epochLoss)
	k = min(k, n-1)
	if k < 1 {
		return math.NaN()
	}
	a, b := d.epochLoss[n-1-k], d.epochLoss[n-1]
	return (a - b) / a / float64(k)
}

func accGain(ep []train.EpochStats, k int, val bool) float64 {
	n := len(ep)
	best := math.Inf(-1)
	for i := n - k; i < n; i++ {
		a, b := ep[i-1].TrainAcc, ep[i].TrainAcc
		if val {
			a, b = ep[i-1].ValAcc, ep[i].ValAcc
		}
		if math.IsNaN(a) || math.IsNaN(b) {
			return math.NaN()
		}
		best = max(best, b-a)
	}
	return best
}

func (d *Doctor) slow(l *train.Loop, e *train.EpochStats) error {
	n := len(d.epochs)
	lr := l.Opt.LR()
	gain := d.gain(3)
	level := e.TrainLoss / d.refLoss()
	if !(gain > 0 && gain < slowGain && level > 0.5) {
		return nil
	}
	ta, va := accGain(d.epochs, min(3, n-1), false), accGain(d.epochs, min(3, n-1), true)
	if ta >= slowGain || va >= slowGain {
		return nil
	}
	if d.regularized() {
		return nil // underfitting's business
	}
	ev := map[string]any{"loss_gain_per_epoch": gain, "train_loss": e.TrainLoss, "reference_loss": d.refLoss(), "best_train_acc_gain": ta, "lr": lr, "max_update_ratio": median(d.ratioHist)}
	if !math.IsNaN(va) {
		ev["best_val_acc_gain"] = va
	}
	msg := fmt.Sprintf("the training loss fell by only %.2g%% per epoch over the last 3 epochs and is still %.0f%% of %s (%.4g)",
		100*gain, 100*level, d.refName(), e.TrainLoss)
	if !math.IsNaN(ta) {
		msg += fmt.Sprintf("; accuracy gains < 0.01 per epoch")
	}
	if err := d.diagnose(l, SlowConvergence, "", 0, ev, msg, raiseLRAdvice(lr, 3)); err != nil {
		return err
	}
	d.queue(SlowConvergence, nil)
	return nil
}

// regularized reports heavy dropout or weight decay.
func (d *Doctor) regularized() bool {
	wd := d.set.Optimizer.WeightDecay
	if d.set.Optimizer.Name == "adamw" {
		wd *= d.set.Optimizer.LR * 100 // decoupled: comparable to coupled wd·lr·100
	}
	return d.dropout >= 0.5 || wd >= 1e-3
}

func (d *Doctor) oscillation(l *train.Loop, e *train.EpochStats) error {
	n := len(d.epochLoss)
	lr := l.Opt.LR()
	// Within the epoch: step losses spanning several times their mean
	// while the epoch got worse.
	if n >= 2 && d.stepsInEp >= 10 && e.TrainLoss > 0 && d.epochLoss[n-2] <= e.TrainLoss &&
		(d.epochMax-d.epochMin) >= oscStepsFactor*e.TrainLoss && e.TrainLoss > 0.1*d.refLoss() {
		ev := map[string]any{"step_loss_min": d.epochMin, "step_loss_max": d.epochMax, "epoch_loss": e.TrainLoss, "previous_epoch_loss": d.epochLoss[n-2], "lr": lr}
		msg := fmt.Sprintf("step losses of epoch %d ranged from %.4g to %.4g around a mean of %.4g, and the epoch did not improve on the previous one (%.4g)",
			e.Epoch, d.epochMin, d.epochMax, e.TrainLoss, d.epochLoss[n-2])
		return d.oscillating(l, ev, msg, lr)
	}
	if n < 5 || d.byKey[string(Overfitting)] != nil { // a model that overfits has a noisy validation curve
		return nil
	}
	val := make([]float64, 0, n)
	for _, x := range d.epochs {
		val = append(val, x.ValLoss)
	}
	for _, c := range []struct {
		name  string
		curve []float64
	}{{"training", d.epochLoss}, {"validation", val}} {
		rev, ok := reversals(c.curve, d.cfg.Published)
		if !ok {
			continue
		}
		ev := map[string]any{"curve": c.name + " loss", "reversals": rev, "epochs": n, "lr": lr}
		msg := fmt.Sprintf("the epoch %s loss changed direction by ≥ 5%% %d times in %d epochs without a net improvement", c.name, rev, n)
		return d.oscillating(l, ev, msg, lr)
	}
	return nil
}

// reversals counts the direction changes of a loss curve with swings of ≥
// oscSwing on both sides, and reports whether they make an oscillation:
// at least max(2, 0.3·epochs) of them (AUTOTRAINER counts 0.2·epochs of
// accuracy swings ≥ 0.03), and no clear downward trend (the second half of
// the curve does not beat the first by 10 %).
func reversals(c []float64, published bool) (int, bool) {
	n := len(c)
	for _, v := range c {
		if math.IsNaN(v) {
			return 0, false
		}
	}
	rev := 0
	for i := 1; i+1 < n; i++ {
		a, b, x := c[i-1], c[i], c[i+1]
		if (b-a)*(x-b) < 0 && math.Abs(b-a) >= oscSwing*a && math.Abs(x-b) >= oscSwing*b {
			rev++
		}
	}
	if published { // AUTOTRAINER: 0.2·epochs reversals, no trend test
		return rev, rev >= max(1, int(math.Ceil(0.2*float64(n))))
	}
	if rev < max(2, int(math.Ceil(0.3*float64(n)))) {
		return rev, false
	}
	h := n / 2
	return rev, !(slices.Min(c[h:]) < 0.9*slices.Min(c[:h]))
}

func (d *Doctor) oscillating(l *train.Loop, ev map[string]any, msg string, lr float64) error {
	if d.active[ExplodingGradients] || d.active[NaNLoss] {
		return nil // the same trouble, already reported
	}
	fix := train.Say("lower ", train.SettingLR, fmt.Sprintf(" from %s to %s or add ", lrs(lr), lrs(lr/3)), train.Change{Setting: train.SettingSchedule, Value: "plateau"})
	if err := d.diagnose(l, OscillatingLoss, "", 0, ev, msg, fix); err != nil {
		return err
	}
	d.queue(OscillatingLoss, nil)
	return nil
}

func (d *Doctor) overfit(l *train.Loop, e *train.EpochStats) error {
	n := len(d.epochs)
	if math.IsNaN(e.ValLoss) || n < overfitEpochs+1 || d.active[OscillatingLoss] || d.set.EarlyStopping > 0 || d.earlyOn {
		// (With early stopping on, the remedy is already in place.)
		return nil
	}
	best, bi := math.Inf(1), 0
	for i, x := range d.epochs {
		if x.ValLoss < best {
			best, bi = x.ValLoss, i
		}
	}
	since := n - 1 - bi
	if since < overfitEpochs {
		return nil
	}
	// The mean of the last epochs, not every epoch: validation loss on a
	// small set is noisy.
	recent := 0.0
	for _, x := range d.epochs[n-overfitEpochs:] {
		recent += x.ValLoss / overfitEpochs
	}
	if recent < best*(1+overfitRise) || !(e.TrainLoss < d.epochs[bi].TrainLoss) {
		return nil
	}
	gap := e.TrainAcc - e.ValAcc
	if !math.IsNaN(gap) && gap < overfitGap {
		return nil
	}
	ev := map[string]any{"best_val_loss": best, "best_epoch": d.epochs[bi].Epoch, "val_loss": e.ValLoss,
		"train_loss": e.TrainLoss, "train_loss_at_best": d.epochs[bi].TrainLoss}
	msg := fmt.Sprintf("validation loss %.4g is %.0f%% above its best %.4g (epoch %d) while training loss fell from %.4g to %.4g",
		e.ValLoss, 100*(e.ValLoss/best-1), best, d.epochs[bi].Epoch, d.epochs[bi].TrainLoss, e.TrainLoss)
	if !math.IsNaN(gap) {
		ev["train_acc"], ev["val_acc"] = e.TrainAcc, e.ValAcc
		msg += fmt.Sprintf("; train accuracy %.3f vs validation %.3f", e.TrainAcc, e.ValAcc)
	}
	fix := train.Say("add ", train.Change{Setting: train.SettingEarlyStopping, Value: "5"}, " (keeps the best epoch's weights)")
	if d.dropout < 0.3 {
		fix = append(fix, train.Say("; more data, more dropout (", train.Change{Setting: train.SettingDropout, Value: "0.3"},
			fmt.Sprintf(" if the model has Dropout; now %g) or ", d.dropout), train.SettingWeightDecay, " also help")...)
	}
	if err := d.diagnose(l, Overfitting, "", 0, ev, msg, fix); err != nil {
		return err
	}
	d.queue(Overfitting, nil)
	return nil
}

func (d *Doctor) underfit(l *train.Loop, e *train.EpochStats) error {
	n := len(d.epochs)
	// Heavy regularization explains a high, flat loss from epoch 4 on;
	// without it, only in the second half of the run (deep nets often sit
	// near chance level for a few epochs before they take off).
	if n < 4 || !d.cfg.Published && !d.regularized() && 2*n < l.Epochs {
		return nil
	}
	level := e.TrainLoss / d.refLoss()
	gain := d.gain(3)
	if level < underfitLevel || gain >= underfitGain {
		return nil
	}
	if !math.IsNaN(e.ValAcc) && e.TrainAcc-e.ValAcc > overfitGap {
		return nil // a generalization gap: not underfitting
	}
	if !d.regularized() && d.causeKnown() {
		return nil // the cause is already reported
	}
	ev := map[string]any{"train_loss": e.TrainLoss, "reference_loss": d.refLoss(), "loss_gain_per_epoch": gain, "dropout": d.dropout, "weight_decay": d.set.Optimizer.WeightDecay}
	msg := fmt.Sprintf("after %d epochs the training loss %.4g is still %.0f%% of %s and improves by %.2g%% per epoch",
		n, e.TrainLoss, 100*level, d.refName(), 100*gain)
	if !math.IsNaN(e.TrainAcc) {
		ev["train_acc"] = e.TrainAcc
		msg += fmt.Sprintf("; train accuracy %.3f", e.TrainAcc)
		if !math.IsNaN(e.ValAcc) {
			ev["val_acc"] = e.ValAcc
			msg += fmt.Sprintf(", validation %.3f", e.ValAcc)
		}
	}
	var fix train.Text
	wd := d.set.Optimizer.WeightDecay
	lowerDropout := train.Say("lower ", train.SettingDropout, fmt.Sprintf(" from %g to 0.1", d.dropout))
	lowerWD := train.Say(train.SettingWeightDecay, fmt.Sprintf(" from %g to %g", wd, wd/100))
	switch {
	case d.dropout >= 0.5 && wd >= 1e-3:
		fix = append(append(lowerDropout, train.Part{Text: " and "}), lowerWD...)
	case d.dropout >= 0.5:
		fix = lowerDropout
	case d.regularized():
		fix = append(train.Say("lower "), lowerWD...)
	default:
		fix = train.Say("raise ", train.SettingLR, fmt.Sprintf(" from %s to %s and train longer (", lrs(l.Opt.LR()), lrs(3*l.Opt.LR())),
			train.SettingEpochs, "); if that does not help the model is too small for the data")
	}
	if err := d.diagnose(l, Underfitting, "", 0, ev, msg, fix); err != nil {
		return err
	}
	d.queue(Underfitting, nil)
	return nil
}

// fixMode names the doctor's fix mode in advice.
var fixMode = train.Change{Setting: ModeSetting, Value: "fix"}

// lowerLRAdvice: lower the LR by f, and add clipping when asked.
func (d *Doctor) lowerLRAdvice(l *train.Loop, f float64, clip bool) train.Text {
	lr := l.Opt.LR()
	s := train.Say("lower ", train.SettingLR, fmt.Sprintf(" from %s to %s", lrs(lr), lrs(lr/f)))
	if clip {
		if l.ClipNorm == 0 {
			s = append(train.Say("add ", train.Change{Setting: train.SettingClipNorm, Value: "1.0"}, " and "), s...)
		} else {
			s = append(s, train.Say(" (", train.Change{Setting: train.SettingClipNorm, Value: fmt.Sprintf("%g", l.ClipNorm)}, " is already on)")...)
		}
	}
	return s
}

// raiseLRAdvice: raise the LR by f.
func raiseLRAdvice(lr, f float64) train.Text {
	return train.Say("raise ", train.SettingLR, fmt.Sprintf(" from %s to %s (or run ", lrs(lr), lrs(lr*f)), train.SettingFindLR, ")")
}

func (d *Doctor) vanishAdvice(l *train.Loop) train.Text {
	s := "the lasting cure is in the model: ReLU instead of sigmoid/tanh, BatchNorm, or residual connections (then re-export)"
	if l.Opt.Name() == "sgd" {
		return train.Say("use ", train.Change{Setting: train.SettingOptimizer, Value: "adam"}, " ", train.Change{Setting: train.SettingLR, Value: "0.001"},
			" (per-parameter step sizes keep the early layers learning); "+s)
	}
	return train.Say("raise ", train.SettingLR, fmt.Sprintf(" from %s to %s; ", lrs(l.Opt.LR()), lrs(3*l.Opt.LR()))+s)
}

// causeKnown: a diagnosis that explains a high, flat loss (since the last
// repair: a repaired cause explains nothing any more).
func (d *Doctor) causeKnown() bool {
	if d.cfg.Published {
		return false
	}
	for _, k := range []Kind{NaNLoss, ExplodingGradients, VanishingGradients, DyingReLU, SaturatedActivations, OscillatingLoss, SlowConvergence, LRTooHigh, LRTooLow} {
		if d.active[k] {
			return true
		}
	}
	return false
}

// actTrouble: some activation layer is dead or saturated right now (then
// a vanishing gradient is its consequence, not a separate finding).
func (d *Doctor) actTrouble() bool {
	if d.cfg.Published {
		return false
	}
	for _, a := range d.acts {
		if a.runs > 0 {
			return true
		}
	}
	return false
}

// refLoss is the loss a model that has learned nothing has: ln(classes)
// for cross-entropy (uniform predictions), or the run's initial loss when
// that is lower or the loss is not cross-entropy.
func (d *Doctor) refLoss() float64 {
	if d.cfg.Published {
		return d.initLoss
	}
	if d.lnC < d.initLoss {
		return d.lnC
	}
	return d.initLoss
}

func (d *Doctor) refName() string {
	if !d.cfg.Published && d.lnC < d.initLoss {
		return fmt.Sprintf("chance level ln C = %.4g", d.lnC)
	}
	return fmt.Sprintf("the initial loss %.4g", d.initLoss)
}

// highFactor is the LR factor that brings a too-large update ratio r to
// targetRatio: between 1/1000 and 1/10.
func highFactor(r float64) float64 { return min(max(targetRatio/r, 1e-3), 0.1) }

// initNote: a first loss far above chance level points at the
// initialization or the input scale, whatever diverges later (the
// criteria's "initial loss of a C-class classifier should be about ln C").
func (d *Doctor) initNote(l *train.Loop, ev map[string]any) string {
	if math.IsNaN(d.lnC) || len(d.firstLoss) == 0 || !(d.firstLoss[0] > 10*d.lnC) {
		return ""
	}
	ev["first_loss"] = d.firstLoss[0]
	return l.Say(train.Say(fmt.Sprintf("; the first step's loss %.3g was already %.3g× chance level ln C = %.4g: check the initialization and the input scale (",
		d.firstLoss[0], d.firstLoss[0]/d.lnC, d.lnC), LintCheck, ")"))
}
