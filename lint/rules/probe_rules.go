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

// VanishingGradients (NN601) compares the weight-gradient norms of the
// first and last layers measured by the probe.
var VanishingGradients = &lint.Rule{
	ID:         "NN601",
	Name:       "vanishing-gradients",
	Severity:   lint.Warning,
	NeedsProbe: true,
	Params: []lint.Param{
		{Name: "max-ratio", Default: 1e-3, Doc: "‖∇W_first‖/‖∇W_last‖ below this is vanishing (AUTOTRAINER)"},
		{Name: "min-first-norm", Default: 1e-4, Doc: "‖∇W_first‖ below this as well makes it an error (AUTOTRAINER's second condition)"},
	},
	Doc: doc(
		"Vanishing gradients measured by the probe",
		"",
		"Why: the probe runs one forward and backward pass in train mode on seeded synthetic",
		"N(0,1) inputs and a cross-entropy loss against random labels (the loss at the start of",
		"training), and compares the L2 norms of the loss gradient with respect to the first and",
		"the last layer's weights. AUTOTRAINER (ICSE 2021) diagnoses vanishing gradients when",
		"‖∇W_first‖/‖∇W_last‖ < 1e-3 and ‖∇W_first‖ < 1e-4: the first layers then learn",
		"thousands of times slower than the last. The rule warns on the ratio alone and reports",
		"an error when both conditions hold. All-zero gradients everywhere are an error too.",
		"",
		"Fix: AUTOTRAINER's repairs — replace saturating activations with nn.ReLU()/nn.GELU(), add",
		"nn.BatchNorm1d/2d or nn.LayerNorm, initialize with nn.init.kaiming_normal_(w,",
		"nonlinearity='relu'), or add residual connections. Settings: max-ratio, min-first-norm.",
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
		{Name: "max-grad-ratio", Default: 70, Doc: "largest ‖∇W_first‖/‖∇W_last‖ accepted (AUTOTRAINER: > 70 is exploding)"},
	},
	Doc: doc(
		"Exploding activations or gradients measured by the probe",
		"",
		"Why: if activations grow by orders of magnitude from the input to the output, or the",
		"first layer's weight gradient is much larger than the last layer's, one",
		"SGD step at a normal learning rate moves the early weights far too much and training",
		"diverges to NaN. The probe measures both on seeded N(0,1) inputs (std 1); NaN or Inf in",
		"any activation or gradient is an error (AUTOTRAINER). Thresholds: a layer output with",
		"std above 1e3 (three orders of magnitude over the input; an error above 1e6), and",
		"AUTOTRAINER's exploding criterion ‖∇W_first‖/‖∇W_last‖ > 70 (the healthy fixtures,",
		"ResNet-18 and MobileNetV2 included, measure below 10). Deep plain BatchNorm networks",
		"explode gradients at initialization this way (Yang et al., ICLR 2019: a mean-field",
		"theory of batch normalization), which residual connections prevent.",
		"",
		"Fix: AUTOTRAINER's repairs — clip gradients (torch.nn.utils.clip_grad_norm_(",
		"model.parameters(), 1.0)), add nn.BatchNorm1d/2d or nn.LayerNorm, lower the learning",
		"rate, and re-initialize oversized weights (nn.init.kaiming_normal_ / xavier_uniform_).",
		"Settings: max-activation-growth, max-grad-ratio.",
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
		"",
		"Fix: nn.LeakyReLU(0.01) or nn.ELU(), nn.BatchNorm before the ReLU, re-initialize with",
		"nn.init.kaiming_normal_(w, nonlinearity='relu') and zero biases; lower the learning rate",
		"if training killed them. Setting: min-dead-fraction.",
	),
	Run: runDeadReLU,
}

// gradEnds returns the first and last probed layers with a gradient.
func gradEnds(r *lint.ProbeReport) (first, last *lint.ProbeLayer) {
	for i := range r.Layers {
		l := &r.Layers[i]
		if first == nil {
			first = l
		}
		last = l
	}
	return first, last
}

func runVanishing(p *lint.Pass) {
	first, last := gradEnds(p.Probe)
	if first == nil || first == last {
		return
	}
	d := lint.Diagnostic{Node: first.Node, Op: first.Op, Related: []string{last.Node}}
	d.Fix = "Use nn.ReLU()/nn.GELU() instead of saturating activations, add nn.BatchNorm1d/2d or nn.LayerNorm, initialize with nn.init.kaiming_normal_(w, nonlinearity='relu'), or add residual connections."
	if first.GradNorm == 0 && last.GradNorm == 0 {
		d.Severity = lint.Error
		d.Message = fmt.Sprintf("every weight gradient is exactly 0 on the probe batch (from %s to %s): nothing can learn", first.Param, last.Param)
		p.Report(d)
		return
	}
	ratio := first.GradNorm / last.GradNorm
	if math.IsNaN(ratio) || ratio >= p.Param("max-ratio") {
		return
	}
	d.Message = fmt.Sprintf("‖∇%s‖ / ‖∇%s‖ = %s / %s = %s < %s on the probe batch: the first layer learns %s× slower than the last (vanishing gradients; AUTOTRAINER)",
		first.Param, last.Param, sci(first.GradNorm), sci(last.GradNorm), sci(ratio), sci(p.Param("max-ratio")), num(1/ratio))
	if first.GradNorm < p.Param("min-first-norm") {
		d.Severity = lint.Error
		d.Message += fmt.Sprintf(", and ‖∇%s‖ < %s", first.Param, sci(p.Param("min-first-norm")))
	}
	p.Report(d)
}

func runExploding(p *lint.Pass) {
	r := p.Probe
	if len(r.NonFinite) > 0 {
		d := lint.Diagnostic{Node: r.NonFinite[0], Severity: lint.Error, Related: r.NonFinite[1:]}
		d.Message = fmt.Sprintf("NaN or Inf in %s of the probe's forward/backward pass, first at %s: training diverges at the first step", plural(len(r.NonFinite), "tensor", "tensors"), r.NonFinite[0])
		d.Fix = "Find the overflowing layer (check weights with torch.isfinite), re-initialize oversized weights, add normalization, and clip gradients with torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)."
		p.Report(d)
		return
	}
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
		if worst.OutStd > p.Param("max-activation-growth")*p.Param("max-activation-growth") {
			d.Severity = lint.Error
		}
		p.Report(d)
	}
	first, last := gradEnds(r)
	if first == nil || first == last || last.GradNorm == 0 {
		return
	}
	if ratio := first.GradNorm / last.GradNorm; ratio > p.Param("max-grad-ratio") {
		d := lint.Diagnostic{Node: first.Node, Op: first.Op, Related: []string{last.Node}}
		d.Message = fmt.Sprintf("‖∇%s‖ / ‖∇%s‖ = %s / %s = %s > %s on the probe batch: the first layer's gradient is %s× the last's (exploding gradients; AUTOTRAINER: > 70)",
			first.Param, last.Param, sci(first.GradNorm), sci(last.GradNorm), sci(ratio), num(p.Param("max-grad-ratio")), num(ratio))
		d.Fix = "Clip gradients with torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0), add normalization layers, lower the learning rate, and re-initialize oversized weights."
		p.Report(d)
	}
}

func runDeadReLU(p *lint.Pass) {
	min := p.Param("min-dead-fraction")
	for _, r := range p.Probe.ReLUs {
		if r.Units == 0 || r.DeadFraction() < min {
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
