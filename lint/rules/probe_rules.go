package rules

import (
	"fmt"
	"math"
	"strings"

	"github.com/nnkit/nnkit/lint"
)

// ProbeUnavailable (NN600) says that the probe was asked for but could not
// run, and why.
var ProbeUnavailable = &lint.Rule{
	ID:       "NN600",
	Name:     "probe-unavailable",
	Severity: lint.Info,
	Doc: doc(
		"The probe could not run on this model",
		"",
		"Why: the probe (NN601–NN603) runs the model forward and backward on nnkit's executor.",
		"When the executor cannot compile the graph (an unsupported operator, see NN503) or the",
		"run fails, nnlint reports why here and the measured checks are skipped; the static",
		"rules still apply.",
		"",
		"Fix: make the model runnable (see the message; for an unsupported operator, change the",
		"PyTorch code that produces it and export again with torch.onnx.export), or turn the",
		"probe off with --probe=false (or probe: false in .nnlint.yaml) to silence this note.",
	),
	Run: func(p *lint.Pass) {
		if p.ProbeErr == nil {
			return
		}
		p.Report(lint.Diagnostic{
			Message: "the probe did not run, so vanishing/exploding gradients and dead ReLUs were not measured: " + oneLine(p.ProbeErr.Error()),
			Fix:     "Make the model runnable on nnkit's executor (see NN503), or pass --probe=false.",
		})
	},
}

// VanishingGradients (NN601) compares how fast the early and the late
// layers learn, and reports a collapsed signal, from the probe.
var VanishingGradients = &lint.Rule{
	ID:         "NN601",
	Name:       "vanishing-gradients",
	Severity:   lint.Warning,
	NeedsProbe: true,
	Params: []lint.Param{
		{Name: "max-ratio", Default: 1e-3, Doc: "early/late ratio of the median relative gradients ‖∇W‖/‖W‖ below this is vanishing (AUTOTRAINER's 1e-3, on a size-independent measure)"},
		{Name: "min-first-norm", Default: 1e-4, Doc: "‖∇W_first‖ below this as well makes it an error (AUTOTRAINER's second condition)"},
		{Name: "min-signal-std", Default: 1e-4, Doc: "std of the last layer's input on N(0,1) inputs below this is a collapsed signal"},
		{Name: "min-relative-grad", Default: 1e-4, Doc: "largest relative gradient ‖∇W‖/‖W‖ of any layer below this is a collapsed gradient"},
	},
	Doc: doc(
		"Vanishing gradients or a collapsed signal measured by the probe",
		"",
		"Why: the probe runs one forward and backward pass in train mode on seeded synthetic",
		"N(0,1) inputs and a cross-entropy loss against random labels (the loss at the start of",
		"training), and measures for every weighted layer its relative gradient ‖∇W‖/‖W‖: the",
		"fraction by which one SGD step of learning rate 1 changes the weights (the effective",
		"step size). Unlike the raw ‖∇W‖ it does not grow with the number of weights or their",
		"scale, so layers of very different size compare. The rule compares the median of the",
		"first quarter of the layers with the median of the last quarter (first and last layer",
		"for fewer than eight), so one odd layer (a small stem conv, a classifier initialized at",
		"std 0.01) does not decide. AUTOTRAINER (ICSE 2021) diagnoses vanishing gradients when the",
		"first layers learn 1000× slower than the last (ratio < 1e-3); the rule warns then, and",
		"reports an error when ‖∇W_first‖ < 1e-4 as well (AUTOTRAINER's second condition).",
		"Calibration (testdata/lint/realarch): healthy training exports of 18 torchvision and",
		"torch.nn architectures measure 0.05 to 57; the deep plain ReLU MLP 4e-6, the deep",
		"sigmoid MLP 4e-9.",
		"Absolute collapse is a finding too: when the last layer's input has std < 1e-4 on",
		"N(0,1) inputs (the output no longer depends on the input) or no layer has a relative",
		"gradient above 1e-4 (even at learning rate 1, no weight moves by 0.01 % per step):",
		"a warning for one, an error for both. All-zero gradients everywhere are an error.",
		"On an inference export (NN501) the probe measures this file's inference computation:",
		"BatchNorm folded into the convs or frozen at its running statistics. With untrained",
		"running statistics (mean 0, variance 1) that computation can collapse although the",
		"model trains fine from its training export; the rule says so, reports a ratio finding",
		"as info, and recommends linting the training export rather than architecture changes.",
		"A collapse there is a warning, and info when the file's BatchNorm statistics are the",
		"untrained defaults (running_mean 0, running_var 1, folded Conv biases exactly 0): the",
		"file then computes nothing useful, which says nothing about the model.",
		"",
		"Fix: AUTOTRAINER's repairs — replace saturating activations with nn.ReLU()/nn.GELU(), add",
		"nn.BatchNorm1d/2d or nn.LayerNorm, initialize with nn.init.kaiming_normal_(w,",
		"nonlinearity='relu'), or add residual connections. Settings: max-ratio, min-first-norm,",
		"min-signal-std, min-relative-grad.",
	),
	Run: runVanishing,
}

// ExplodingGradients (NN602) flags activations or gradients that grow by
// orders of magnitude, and NaN/Inf, in the probe.
var ExplodingGradients = &lint.Rule{
	ID:         "NN602",
	Name:       "exploding",
	Severity:   lint.Warning,
	NeedsProbe: true,
	Params: []lint.Param{
		{Name: "max-activation-growth", Default: 1e3, Doc: "largest layer-output std over the input std accepted (three orders of magnitude)"},
		{Name: "max-grad-ratio", Default: 100, Doc: "largest early/late ratio of the median relative gradients ‖∇W‖/‖W‖ accepted (calibrated on real architectures: healthy ≤ 57, deep plain BatchNorm stack 205)"},
		{Name: "max-relative-grad", Default: 1e4, Doc: "largest relative gradient ‖∇W‖/‖W‖ of any layer accepted"},
	},
	Doc: doc(
		"Exploding activations or gradients measured by the probe",
		"",
		"Why: if activations grow by orders of magnitude from the input to the output, or the",
		"early layers' gradients are much larger than the late ones', one SGD step at a normal",
		"learning rate moves the early weights far too much and training diverges to NaN. The",
		"probe measures both on seeded N(0,1) inputs (std 1); NaN or Inf in any activation or",
		"gradient is an error (AUTOTRAINER). Thresholds: a layer output with std above 1e3 (three",
		"orders of magnitude over the input; an error above 1e6); an early/late ratio of the",
		"median relative gradients ‖∇W‖/‖W‖ (see NN601) above 100; and any layer whose relative",
		"gradient exceeds 1e4 (one step at learning rate 1e-3 would change it by 10× its norm).",
		"AUTOTRAINER's raw ‖∇W_first‖/‖∇W_last‖ > 70 came from small Keras nets and misfires on",
		"real ones: MNASNet at 32×32 measures 142 and trains. On the relative, quartile-median",
		"measure healthy training exports (testdata/lint/realarch: ResNet-18/34/50, ResNeXt-50,",
		"DenseNet-121, GoogLeNet, MobileNetV2/V3, MNASNet, ShuffleNet, RegNet, EfficientNet,",
		"ConvNeXt, SqueezeNet, ViT, a transformer, an LSTM) stay at or below 57; the deep plain",
		"BatchNorm stack fixture measures 205, the exploding gradients at initialization of deep",
		"plain BatchNorm networks (Yang et al., ICLR 2019: a mean-field theory of batch",
		"normalization), which residual connections prevent. On an inference export (NN501) the",
		"ratio finding describes this file's folded computation and is reported as info.",
		"",
		"Fix: AUTOTRAINER's repairs — clip gradients (torch.nn.utils.clip_grad_norm_(",
		"model.parameters(), 1.0)), add nn.BatchNorm1d/2d or nn.LayerNorm, lower the learning",
		"rate, and re-initialize oversized weights (nn.init.kaiming_normal_ / xavier_uniform_).",
		"Settings: max-activation-growth, max-grad-ratio, max-relative-grad.",
	),
	Run: runExploding,
}

// DeadReLU (NN603) flags rectifiers most of whose units never fire on the
// probe batch.
var DeadReLU = &lint.Rule{
	ID:         "NN603",
	Name:       "dead-relu",
	Severity:   lint.Warning,
	NeedsProbe: true,
	Params: []lint.Param{
		{Name: "min-dead-fraction", Default: 0.7, Doc: "fraction of never-active units that flags a layer (AUTOTRAINER, DeepDiagnosis: 70 %)"},
		{Name: "max-chance", Default: 0.01, Doc: "the dead count must be this unlikely for units that are each dead with probability ½ (small layers)"},
	},
	Doc: doc(
		"Dead ReLUs measured by the probe",
		"",
		"Why: a ReLU unit whose pre-activation is negative for every input outputs 0 and passes",
		"no gradient, so it never recovers. The probe counts, per ReLU (ReLU6 included), the",
		"units — features of a Linear output, channels of a Conv output — that are never",
		"positive for any sample or position of its batch. A layer is flagged when at least",
		"70 % of its units are dead (AUTOTRAINER's dying-ReLU threshold 0.7; DeepDiagnosis: 70 %",
		"of outputs ≤ 0). Typical causes: large negative biases, oversized weights, a too-high",
		"learning rate in an earlier run.",
		"In a small layer 70 % happens by chance: with a zero bias and symmetric weights, a unit",
		"whose inputs are alike for every sample (a squeeze-and-excitation block's pooled",
		"channels) is dead with probability ½, and 6 of MobileNetV3's 8 such units are dead at",
		"initialization 14 % of the time. So the count must also be unlikely under that",
		"worst case: P(X ≥ dead) < 1 % for X ~ Binomial(units, ½) — all 7 of 7 or 8 of 8, 10 of",
		"12, while layers of 32 units and more are decided by the 70 % alone.",
		"",
		"Fix: nn.LeakyReLU(0.01) or nn.ELU(), nn.BatchNorm before the ReLU, re-initialize with",
		"nn.init.kaiming_normal_(w, nonlinearity='relu') and zero biases; lower the learning rate",
		"if training killed them. Settings: min-dead-fraction, max-chance.",
	),
	Run: runDeadReLU,
}

// measured returns the probe's layers with a finite relative gradient.
func measured(r *lint.ProbeReport) []lint.ProbeLayer {
	var out []lint.ProbeLayer
	for _, l := range r.Layers {
		if g := l.RelGrad(); !math.IsNaN(g) && !math.IsInf(g, 0) {
			out = append(out, l)
		}
	}
	return out
}

// inference reports whether the pass's model is an inference export, and
// the sentence that says what the probe measured on it.
func inference(p *lint.Pass) (bool, string) {
	ev := p.Facts.ClassifyExport()
	if ev.Mode != lint.InferenceExport {
		return false, ""
	}
	return true, "measured on this inference export, i.e. this file's eval computation (BatchNorm folded or frozen at its running statistics, Dropout removed), not on the model as it trains"
}

// untrainedStats reports whether every BatchNorm of an inference export
// still has the statistics it was constructed with: running_mean 0 and
// running_var 1 where BatchNormalization nodes remain, and a folded bias
// of exactly 0 (beta − mean·gamma/√(var+ε) with beta = mean = 0) on every
// Conv a BatchNorm was folded into. There must be at least one.
func untrainedStats(f *lint.Facts) bool {
	seen := false
	for _, l := range f.Layers {
		if !l.Folded {
			continue
		}
		if l.Bias == nil {
			return false
		}
		s := f.Stats(l.Bias.Init)
		if s.N == 0 || s.Min != 0 || s.Max != 0 {
			return false
		}
		seen = true
	}
	for _, n := range f.Order {
		if n.OpType != "BatchNormalization" {
			continue
		}
		mean, vr := n.In(3), n.In(4)
		if mean == nil || vr == nil || mean.Init == nil || vr.Init == nil {
			return false
		}
		ms, vs := f.Stats(mean.Init), f.Stats(vr.Init)
		if ms.Min != 0 || ms.Max != 0 || vs.Min != 1 || vs.Max != 1 {
			return false
		}
		seen = true
	}
	return seen
}

const inferenceFix = "Lint the training export of the model (torch.onnx.export(model.train(), x, f, training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)); if this file holds trained weights, check that its BatchNorm running statistics were trained too."

func runVanishing(p *lint.Pass) {
	r := p.Probe
	if len(r.Layers) < 2 {
		return
	}
	first, last := r.Layers[0], r.Layers[len(r.Layers)-1]
	inf, what := inference(p)
	d := lint.Diagnostic{Node: first.Node, Op: first.Op, Related: []string{last.Node}}
	d.Fix = "Use nn.ReLU()/nn.GELU() instead of saturating activations, add nn.BatchNorm1d/2d or nn.LayerNorm, initialize with nn.init.kaiming_normal_(w, nonlinearity='relu'), or add residual connections."
	if hasNorm(p.Facts) {
		// Do not recommend what the model already has.
		d.Fix = "The model already normalizes: check the layers between its normalizations — use nn.ReLU()/nn.GELU() instead of saturating activations, initialize with nn.init.kaiming_normal_(w, nonlinearity='relu'), or add residual connections around the slow stretch."
	}
	allZero := true
	for _, l := range r.Layers {
		allZero = allZero && l.GradNorm == 0
	}
	if allZero {
		d.Severity = lint.Error
		d.Message = fmt.Sprintf("every weight gradient is exactly 0 on the probe batch (from %s to %s): nothing can learn", first.Param, last.Param)
		if inf {
			d.Message += " (" + what + ")"
			d.Fix = inferenceFix
		}
		p.Report(d)
		return
	}

	// Absolute collapse.
	ls := measured(r)
	var top lint.ProbeLayer
	maxRel := -1.0
	for _, l := range ls {
		if g := l.RelGrad(); g > maxRel {
			maxRel, top = g, l
		}
	}
	sigLow := last.InStd < p.Param("min-signal-std") && !math.IsNaN(last.InStd)
	gradLow := maxRel >= 0 && maxRel < p.Param("min-relative-grad")
	if sigLow || gradLow {
		c := lint.Diagnostic{Node: last.Node, Op: last.Op, Severity: lint.Warning}
		var parts []string
		if sigLow {
			parts = append(parts, fmt.Sprintf("the input of the last layer %s has std %s on N(0,1) inputs (< %s): the output hardly depends on the input", last.Node, sci(last.InStd), sci(p.Param("min-signal-std"))))
		}
		if gradLow {
			parts = append(parts, fmt.Sprintf("the largest relative gradient ‖∇W‖/‖W‖ of any layer is %s (%s, < %s): even at learning rate 1 no weight moves by 0.01 %% per step", sci(maxRel), top.Param, sci(p.Param("min-relative-grad"))))
		} else if maxRel >= 0 {
			parts = append(parts, fmt.Sprintf("the largest relative gradient is %s (%s)", sci(maxRel), top.Param))
		}
		c.Message = "the signal collapses: " + strings.Join(parts, "; ")
		c.Fix = d.Fix
		if sigLow && gradLow {
			c.Severity = lint.Error
		}
		if inf {
			c.Severity = lint.Warning
			c.Message += " (" + what + ")"
			if untrainedStats(p.Facts) {
				// The collapse is real for this file, and says nothing
				// about the model: its BatchNorm never saw data.
				c.Severity = lint.Info
				c.Message += "; its BatchNorm running statistics are the untrained defaults (running_mean 0 and running_var 1, folded Conv biases exactly 0), which do not normalize anything, so the model may well train from its training export"
			}
			c.Fix = inferenceFix
		}
		p.Report(c)
		return
	}

	early, late, ok := lint.GradFlow(ls)
	if !ok || late == 0 {
		return
	}
	ratio := early / late
	if math.IsNaN(ratio) || ratio >= p.Param("max-ratio") {
		return
	}
	a, b := ls[0], ls[len(ls)-1]
	slower := "the early layers get no gradient at all"
	if ratio > 0 {
		slower = fmt.Sprintf("the early layers learn %s× slower than the late ones", num(1/ratio))
	}
	d = lint.Diagnostic{Node: a.Node, Op: a.Op, Related: []string{b.Node}, Fix: d.Fix}
	d.Message = fmt.Sprintf("median relative gradient ‖∇W‖/‖W‖ of the early vs the late layers = %s / %s = %s < %s on the probe batch (from %s to %s): %s (vanishing gradients; AUTOTRAINER)",
		sci(early), sci(late), sci(ratio), sci(p.Param("max-ratio")), a.Param, b.Param, slower)
	if a.GradNorm < p.Param("min-first-norm") {
		d.Severity = lint.Error
		d.Message += fmt.Sprintf(", and ‖∇%s‖ = %s < %s", a.Param, sci(a.GradNorm), sci(p.Param("min-first-norm")))
	}
	if inf {
		d.Severity = lint.Info
		d.Message += " (" + what + ")"
		d.Fix = inferenceFix
	}
	p.Report(d)
}

func runExploding(p *lint.Pass) {
	r := p.Probe
	inf, what := inference(p)
	if len(r.NonFinite) > 0 {
		d := lint.Diagnostic{Node: r.NonFinite[0], Severity: lint.Error, Related: r.NonFinite[1:]}
		d.Message = fmt.Sprintf("NaN or Inf in %s of the probe's forward/backward pass, first at %s: training diverges at the first step", plural(len(r.NonFinite), "tensor", "tensors"), r.NonFinite[0])
		d.Fix = "Find the overflowing layer (check weights with torch.isfinite), re-initialize oversized weights, add normalization, and clip gradients with torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)."
		p.Report(d)
		return
	}
	grew := false
	var worst *lint.ProbeLayer
	for i := range r.Layers {
		l := &r.Layers[i]
		if worst == nil || l.OutStd > worst.OutStd {
			worst = l
		}
	}
	if worst != nil && worst.OutStd > p.Param("max-activation-growth") {
		d := lint.Diagnostic{Node: worst.Node, Op: worst.Op}
		d.Message = fmt.Sprintf("the output of %s has std %s on N(0,1) inputs (std 1): activations grow by %s orders of magnitude, and a normal learning rate will diverge (exploding)",
			worst.Node, sci(worst.OutStd), num(math.Log10(worst.OutStd)))
		d.Fix = "Re-initialize oversized weights (nn.init.kaiming_normal_ / xavier_uniform_), add nn.BatchNorm1d/2d or nn.LayerNorm, and clip gradients with torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)."
		if hasNorm(p.Facts) {
			d.Fix = "Re-initialize oversized weights (nn.init.kaiming_normal_ / xavier_uniform_), look for a constant gain between the normalization layers, and clip gradients with torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)."
		}
		if worst.OutStd > p.Param("max-activation-growth")*p.Param("max-activation-growth") {
			d.Severity = lint.Error
		}
		if inf {
			d.Message += " (" + what + ")"
		}
		p.Report(d)
		grew = true
	}
	ls := measured(r)
	var top lint.ProbeLayer
	maxRel := -1.0
	for _, l := range ls {
		if g := l.RelGrad(); g > maxRel {
			maxRel, top = g, l
		}
	}
	// Weight gradients scale with the layer's input: after exploding
	// activations (reported above) large ones are the same fault.
	if maxRel > p.Param("max-relative-grad") && !grew {
		d := lint.Diagnostic{Node: top.Node, Op: top.Op}
		d.Message = fmt.Sprintf("‖∇%s‖/‖%s‖ = %s / %s = %s > %s on the probe batch: one SGD step at learning rate 1e-3 changes the weights by %s× their norm (exploding gradients)",
			top.Param, top.Param, sci(top.GradNorm), sci(top.WeightNorm), sci(maxRel), sci(p.Param("max-relative-grad")), num(maxRel*1e-3))
		d.Fix = "Clip gradients with torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0), lower the learning rate, re-initialize oversized weights, and add normalization layers."
		if hasNorm(p.Facts) {
			d.Fix = "Clip gradients with torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0), lower the learning rate, and re-initialize oversized weights."
		}
		if inf {
			d.Message += " (" + what + ")"
		}
		p.Report(d)
	}
	early, late, ok := lint.GradFlow(ls)
	if !ok || late == 0 {
		return
	}
	if ratio := early / late; ratio > p.Param("max-grad-ratio") {
		a, b := ls[0], ls[len(ls)-1]
		d := lint.Diagnostic{Node: a.Node, Op: a.Op, Related: []string{b.Node}}
		d.Message = fmt.Sprintf("median relative gradient ‖∇W‖/‖W‖ of the early vs the late layers = %s / %s = %s > %s on the probe batch (from %s to %s): the early layers' steps are %s× the late layers' (exploding gradients)",
			sci(early), sci(late), sci(ratio), num(p.Param("max-grad-ratio")), a.Param, b.Param, num(ratio))
		d.Fix = "Add residual connections (deep plain BatchNorm stacks explode at initialization), clip gradients with torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0), lower the learning rate, and re-initialize oversized weights."
		if inf {
			d.Severity = lint.Info
			d.Message += " (" + what + ")"
			d.Fix = inferenceFix
		}
		p.Report(d)
	}
}

func runDeadReLU(p *lint.Pass) {
	min := p.Param("min-dead-fraction")
	for _, r := range p.Probe.ReLUs {
		if r.Units == 0 || r.DeadFraction() < min || binomialTail(r.Units, r.Dead) >= p.Param("max-chance") {
			continue
		}
		d := lint.Diagnostic{Node: r.Node, Op: r.Op}
		d.Message = fmt.Sprintf("%d of %d units (%.0f %%) never fire over the probe batch of %d (threshold %.0f %%; AUTOTRAINER/DeepDiagnosis): they output 0 and pass no gradient",
			r.Dead, r.Units, 100*r.DeadFraction(), p.Probe.Batch, 100*min)
		d.Fix = "Use nn.LeakyReLU(0.01) or nn.ELU(), add BatchNorm before the ReLU, re-initialize with nn.init.kaiming_normal_(w, nonlinearity='relu') and zero biases."
		p.Report(d)
	}
}

// oneLine folds a multi-line error message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.ReplaceAll(s, ":\n", ": "), "\n", "; ")), " ")
}

// binomialTail is P(X ≥ k) for X ~ Binomial(n, ½).
func binomialTail(n, k int) float64 {
	if k <= 0 {
		return 1
	}
	lgN, _ := math.Lgamma(float64(n + 1))
	sum := 0.0
	for i := k; i <= n; i++ {
		a, _ := math.Lgamma(float64(i + 1))
		b, _ := math.Lgamma(float64(n - i + 1))
		sum += math.Exp(lgN - a - b - float64(n)*math.Ln2)
	}
	return sum
}

// hasNorm reports whether the model normalizes anywhere (BatchNorm,
// LayerNorm, GroupNorm/InstanceNorm, a decomposed LayerNorm, or a
// BatchNorm folded into a Conv), so that fixes do not recommend adding it.
func hasNorm(f *lint.Facts) bool {
	for _, n := range f.Order {
		if f.IsNorm(n) {
			return true
		}
	}
	for _, l := range f.Layers {
		if l.Folded {
			return true
		}
	}
	return false
}
