package rules

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/nnkit/nnkit/lint"
)

// InitScale (NN203) compares each layer's weight std with the reference for
// the activation that follows and reports the cumulative effect over depth.
var InitScale = &lint.Rule{
	ID:       "NN203",
	Name:     "init-scale",
	Severity: lint.Warning,
	Params: []lint.Param{
		{Name: "info-decades", Default: 3, Doc: "|log10| of the cumulative variance factor reported as info (std off by ≈32×)"},
		{Name: "warning-decades", Default: 6, Doc: "… reported as a warning (std off by 1000×)"},
		{Name: "error-decades", Default: 12, Doc: "… reported as an error (std off by 10⁶×)"},
	},
	Doc: doc(
		"Weight scale compounds over depth: activations vanish or explode at initialization",
		"",
		"Why: a layer with fan_in inputs and weight std σ, followed by an activation, scales the",
		"variance of the signal by (σ/σ_ref)², where σ_ref is the std that preserves it",
		"(detection-criteria, after TheDeepChecker): He √(2/fan_in) before ReLU-like activations",
		"(ReLU, ReLU6, GELU, SiLU, ELU), Glorot √(2/(fan_in+fan_out)) before tanh, LeCun",
		"√(1/fan_in) before sigmoid and SELU and where nothing nonlinear follows. For a conv",
		"weight [out, in/groups, kh, kw], fan_in = in/groups·kh·kw, as torch.nn.init computes it.",
		"Between normalization layers these factors multiply. PyTorch's default init",
		"(kaiming_uniform_(a=√5): U(−1/√fan_in, 1/√fan_in), std 1/√(3·fan_in)) is 1/6 of He's",
		"variance before a ReLU: harmless in two layers, 6^-29 ≈ 3e-23 after thirty, where the",
		"input no longer reaches the output and gradients vanish with it.",
		"So severity follows the cumulative factor over a normalization-free stretch, never a",
		"single default-initialized layer: info from 10^±3, warning from 10^±6, error from",
		"10^±12. Normalization layers, Sigmoid/Softmax (bounded outputs), recurrent layers and",
		"convs with a folded BatchNorm restart the product; a residual Add sums the variances of",
		"its branches. Constant weights are NN201's business and are skipped here.",
		"When the probe ran, warnings and errors quote what it measured over the same layers",
		"(activation std in and out, early/late relative gradients, see NN601): they keep their",
		"severity when the measurement confirms the drift (beyond 100× either way) or shows a",
		"milder one (10× to 100×), and become info when both stay within 10× (healthy).",
		"",
		"Fix: initialize for the activation that follows, e.g.",
		"  for m in model.modules():",
		"      if isinstance(m, (nn.Linear, nn.Conv2d)):",
		"          nn.init.kaiming_normal_(m.weight, nonlinearity='relu'); nn.init.zeros_(m.bias)",
		"(nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain('tanh')) before tanh), or add",
		"nn.BatchNorm1d/2d or nn.LayerNorm so the scale is reset every few layers. Settings:",
		"info-decades, warning-decades, error-decades.",
	),
	Run: runInitScale,
}

type scaleState struct {
	logf  float64 // log10 of the cumulative variance factor
	depth int
	start *lint.Layer
}

type layerScale struct {
	l        *lint.Layer
	std, ref float64
	refName  string
	dflt     bool // std matches PyTorch's default init
	after    scaleState
}

func runInitScale(p *lint.Pass) {
	f := p.Facts
	// The state of every value the data reaches, by value ID.
	at := make([]scaleState, f.NumValueIDs())
	reached := make([]bool, f.NumValueIDs())
	for _, v := range f.Graph.DataInputs() {
		if id, ok := f.ValueID(v); ok {
			at[id], reached[id] = scaleState{}, true
		}
	}
	var recs []*layerScale
	for _, n := range f.Order {
		var ins []*scaleState
		for _, s := range f.DataSlots(n) {
			if id, ok := f.ValueID(n.In(s)); ok && reached[id] {
				ins = append(ins, &at[id])
			}
		}
		if len(ins) == 0 {
			continue
		}
		out := combine(ins)
		a, isAct := f.Act(n)
		l := f.LayerOf(n)
		switch {
		case f.IsNorm(n), isAct && (a.Kind == lint.ActSigmoid || a.Kind == lint.ActHardSigmoid || a.Kind == lint.ActSoftmax):
			out = scaleState{}
		case l != nil:
			r := measure(f, l)
			if r == nil {
				out = scaleState{}
				break
			}
			out.logf += 2 * math.Log10(r.std/r.ref)
			out.depth++
			if out.start == nil {
				out.start = l
			}
			r.after = out
			recs = append(recs, r)
		}
		for _, o := range n.Outputs {
			if id, ok := f.ValueID(o); ok {
				at[id], reached[id] = out, true
			}
		}
	}
	// One finding per normalization-free stretch: its most extreme layer.
	worst := map[*lint.Layer]*layerScale{}
	var starts []*lint.Layer
	for _, r := range recs {
		w, ok := worst[r.after.start]
		if !ok {
			starts = append(starts, r.after.start)
		}
		if !ok || math.Abs(r.after.logf) > math.Abs(w.after.logf) {
			worst[r.after.start] = r
		}
	}
	for _, s := range starts {
		w := worst[s]
		dec := math.Abs(w.after.logf)
		var sev lint.Severity
		switch {
		case dec >= p.Param("error-decades"):
			sev = lint.Error
		case dec >= p.Param("warning-decades"):
			sev = lint.Warning
		case dec >= p.Param("info-decades"):
			sev = lint.Info
		default:
			continue
		}
		var seg []*layerScale
		for _, r := range recs {
			if r.after.start == s && f.Position(r.l.Node) <= f.Position(w.l.Node) {
				seg = append(seg, r)
			}
		}
		d := scaleDiagnostic(w, seg, sev)
		if sev > lint.Info {
			confirm(p, &d, seg[0].l.Node, w.l.Node)
		}
		p.Report(d)
	}
}

func combine(ins []*scaleState) scaleState {
	best := *ins[0]
	for _, s := range ins[1:] {
		if s.logf > best.logf {
			best = *s
		}
	}
	if len(ins) == 1 {
		return best
	}
	// Var(a+b) = Var(a)+Var(b) for independent branches: log-sum-exp.
	sum := 0.0
	for _, s := range ins {
		sum += math.Pow(10, s.logf-best.logf)
	}
	best.logf += math.Log10(sum)
	return best
}

// measure returns the layer's weight std and its reference, or nil when the
// layer's weights say nothing about initialization.
func measure(f *lint.Facts, l *lint.Layer) *layerScale {
	if l.Folded || l.Kind == lint.Recurrent || l.FanIn <= 0 || l.Next.Kind == lint.ActNorm {
		return nil
	}
	s := f.Stats(l.Weight.Init)
	if s.N < 2 || s.Constant || s.Std == 0 || s.NaN+s.Inf > 0 {
		return nil
	}
	ref, name := lint.InitReference(l.Next, l.FanIn, l.FanOut)
	initFanIn := l.FanIn
	if l.InitFanIn > 0 {
		initFanIn = l.InitFanIn
	}
	dflt := 1 / math.Sqrt(3*float64(initFanIn))
	return &layerScale{l: l, std: s.Std, ref: ref, refName: name, dflt: math.Abs(s.Std/dflt-1) < 0.1}
}

func scaleDiagnostic(w *layerScale, seg []*layerScale, sev lint.Severity) lint.Diagnostic {
	first := seg[0]
	factor := math.Pow(10, w.after.logf)
	d := lint.At(first.l.Node)
	d.Severity = sev
	if w.l != first.l {
		d.Related = []string{w.l.Node.Label()}
	}
	dir := "shrinks"
	if w.after.logf > 0 {
		dir = "grows"
	}
	span := fmt.Sprintf("at %s", first.l.Node.Label())
	if w.after.depth > 1 {
		span = fmt.Sprintf("over %d weighted layers from %s to %s", w.after.depth, first.l.Node.Label(), w.l.Node.Label())
	}
	ratios := make([]float64, len(seg))
	allDefault := true
	refs := map[string]bool{}
	for i, r := range seg {
		ratios[i] = r.std / r.ref
		allDefault = allDefault && r.dflt
		refs[fmt.Sprintf("%s before %s", r.refName, r.l.Next.Kind)] = true
	}
	lo, hi := seg[0], seg[0]
	for _, r := range seg {
		if r.std/r.ref < lo.std/lo.ref {
			lo = r
		}
		if r.std/r.ref > hi.std/hi.ref {
			hi = r
		}
	}
	var refList []string
	for r := range refs {
		refList = append(refList, r)
	}
	sort.Strings(refList)
	per := fmt.Sprintf("weight std / reference per layer: %s× (%s, std %s) to %s× (%s, std %s)",
		num(lo.std/lo.ref), lo.l.Name(), num(lo.std), num(hi.std/hi.ref), hi.l.Name(), num(hi.std))
	if hi.std/hi.ref <= 1.1*lo.std/lo.ref {
		per = fmt.Sprintf("each layer's weight std is %s× its reference", num(math.Sqrt(lo.std/lo.ref*hi.std/hi.ref)))
		if len(seg) == 1 {
			per = fmt.Sprintf("weight %s has std %s, %s× its reference", w.l.Name(), num(w.std), num(w.std/w.ref))
		}
	}
	d.Message = fmt.Sprintf("activation variance %s by a factor of %s (std ×%s) %s with no normalization in between; %s (%s)",
		dir, sci(factor), sci(math.Sqrt(factor)), span, per, strings.Join(refList, "; "))
	if allDefault {
		d.Message += "; this is PyTorch's default init, kaiming_uniform_(a=√5) with std 1/√(3·fan_in), which keeps 1/6 of the variance per ReLU layer"
	}
	if w.after.logf < 0 {
		d.Fix = "Initialize for the activation that follows: nn.init.kaiming_normal_(m.weight, nonlinearity='relu') before ReLU, nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain('tanh')) before tanh; or add nn.BatchNorm1d/2d or nn.LayerNorm every few layers."
	} else {
		d.Fix = "The weights are too large: re-initialize with nn.init.kaiming_normal_(m.weight, nonlinearity='relu') before ReLU or nn.init.xavier_uniform_ before tanh/sigmoid (std ≈ √(2/fan_in) or √(1/fan_in)), or add normalization layers."
	}
	return d
}
