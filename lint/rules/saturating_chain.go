package rules

import (
	"fmt"
	"strings"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// SaturatingChain (NN101) finds chains of saturating activations that every
// gradient path crosses.
var SaturatingChain = &lint.Rule{
	ID:       "NN101",
	Name:     "saturating-chain",
	Severity: lint.Warning,
	Params: []lint.Param{
		{Name: "min-sigmoid", Default: 3, Doc: "sigmoid-like activations in series that trigger the rule (demyst: ≥ 3 Sigmoid is critical)"},
		{Name: "min-saturating", Default: 4, Doc: "saturating activations of any kind (Sigmoid, Tanh, Hardsigmoid) in series that trigger it (demyst: ≥ 4 Tanh)"},
		{Name: "error-bound", Default: 1e-3, Doc: "report an error when the gradient bound 0.25^k is below this (AUTOTRAINER's vanishing ratio, 1e-3)"},
	},
	Doc: doc(
		"Saturating activations (Sigmoid/Tanh) in series on every gradient path",
		"",
		"Why: sigmoid′(x) = σ(x)(1−σ(x)) ≤ 0.25, so a gradient that crosses k Sigmoid layers is",
		"scaled by at most 0.25^k (k = 12 → 6e-8): the first layers stop learning (vanishing",
		"gradients). tanh′ ≤ 1 gives no bound, but tanh′(x) < 0.42 once |x| > 1 and it saturates",
		"for large pre-activations. The rule counts, for the earliest weighted layer, the fewest",
		"saturating activations any gradient path from it to the output must cross, so a residual",
		"Add that bypasses part of the chain (x + f(x)) and SiLU's x·sigmoid(x) are accounted for.",
		"The gates inside LSTM/GRU operators are by design and never count.",
		"Thresholds: demyst flags ≥ 3 Sigmoid (critical) and ≥ 4 Tanh in series; the finding is an",
		"error when 0.25^k is below AUTOTRAINER's vanishing ratio 1e-3 (k ≥ 5 Sigmoid).",
		"The bound is a worst case; when the probe ran, the finding quotes the measured",
		"activation std and early/late relative gradients (NN601) over the chain's layers and",
		"becomes info when both stay within 10× (the activations did not saturate).",
		"",
		"Fix: use nn.ReLU() or nn.GELU() between layers and keep a Sigmoid only where a probability",
		"is needed (for a binary output, drop it and train with nn.BCEWithLogitsLoss). Otherwise add",
		"nn.BatchNorm1d/nn.LayerNorm after each Linear, or residual connections, so the gradient has",
		"a path that does not cross every saturating layer. Settings: min-sigmoid, min-saturating,",
		"error-bound.",
	),
	Run: runSaturatingChain,
}

// saturation returns the derivative bound of a saturating activation.
func saturation(f *lint.Facts, n *ir.Node) (bound float64, kind string, ok bool) {
	switch n.OpType {
	case "Sigmoid":
		return 0.25, "Sigmoid", true
	case "HardSigmoid":
		return float64(n.Float("alpha", 0.2)), "Hardsigmoid", true
	case "Tanh":
		return 1, "Tanh", true
	}
	return 0, "", false
}

func runSaturatingChain(p *lint.Pass) {
	f := p.Facts
	isSat := func(n *ir.Node) bool { _, _, ok := saturation(f, n); return ok }
	pc := minToOutput(f, isSat)
	var worst *lint.Layer
	worstCost := 0
	for _, l := range f.Layers {
		c, ok := pc.at(l.Node.Out(0))
		if !ok || c == inf {
			continue
		}
		if worst == nil || c > worstCost {
			worst, worstCost = l, c
		}
	}
	if worst == nil {
		return
	}
	var chain []*ir.Node
	for _, n := range pc.bestPath(worst.Node.Out(0)) {
		if isSat(n) {
			chain = append(chain, n)
		}
	}
	counts := map[string]int{}
	var order []string
	bound, sig := 1.0, 0
	for _, n := range chain {
		b, kind, _ := saturation(f, n)
		if counts[kind] == 0 {
			order = append(order, kind)
		}
		counts[kind]++
		bound *= b
		if b < 1 {
			sig++
		}
	}
	k := len(chain)
	if k == 0 {
		return
	}
	if float64(sig) < p.Param("min-sigmoid") && float64(k) < p.Param("min-saturating") {
		return
	}
	var parts []string
	for _, kind := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[kind], kind))
	}
	d := lint.At(chain[0])
	d.Related = labels(chain)
	var why string
	if sig > 0 {
		exp := fmt.Sprintf("0.25^%d", sig)
		if counts["Hardsigmoid"] > 0 {
			exp = "the product of their derivative bounds"
		}
		why = fmt.Sprintf("each Sigmoid′ ≤ 0.25, so the gradient reaching %s is scaled by at most %s = %s", worst.Name(), exp, sci(bound))
	} else {
		why = fmt.Sprintf("tanh′ ≤ 1 gives no bound, but tanh′(x) < 0.42 once |x| > 1, and the gradient reaching %s is multiplied by all %d derivatives", worst.Name(), k)
	}
	d.Message = fmt.Sprintf("%d saturating activations in series (%s) from %s to %s, not bypassed by any residual Add: %s",
		k, strings.Join(parts, ", "), chain[0].Label(), chain[k-1].Label(), why)
	d.Fix = "Use nn.ReLU()/nn.GELU() between the layers (keep Sigmoid only for an output probability, or drop it and use nn.BCEWithLogitsLoss), or add nn.BatchNorm1d/nn.LayerNorm after each Linear or residual connections."
	if sig > 0 && bound < p.Param("error-bound") {
		d.Severity = lint.Error
	}
	confirm(p, &d, chain[0], chain[k-1])
	p.Report(d)
}
