package rules

import (
	"fmt"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// DropoutRate (NN301) flags Dropout with a high drop probability.
var DropoutRate = &lint.Rule{
	ID:       "NN301",
	Name:     "dropout-rate",
	Severity: lint.Warning,
	Params: []lint.Param{
		{Name: "max-rate", Default: 0.5, Doc: "largest drop probability p accepted (UMLAUT warns above 0.5)"},
	},
	Doc: doc(
		"Dropout drops more than half of the units",
		"",
		"Why: nn.Dropout(p) zeroes a fraction p of the units in training and scales the rest by",
		"1/(1−p). With p > 0.5 most of the signal is dropped at every step: gradients get very",
		"noisy, training slows down or underfits, and the 1/(1−p) scaling (5× at p = 0.8) makes",
		"train and eval activations differ in distribution. UMLAUT (CHI 2021) warns for",
		"p > 0.5; typical values are 0.2–0.3 (0.5 is the classic maximum for fully connected",
		"layers).",
		"",
		"Fix: use nn.Dropout(p=0.2)–nn.Dropout(p=0.5); for more regularization add weight decay",
		"(torch.optim.AdamW(..., weight_decay=0.01)) or data augmentation rather than a larger p.",
		"Setting: max-rate.",
	),
	Run: runDropoutRate,
}

// dropoutRatio returns a Dropout node's drop probability: the ratio input
// (opset ≥ 12), the ratio attribute (older opsets), else ONNX's default 0.5.
func dropoutRatio(n *ir.Node) (float64, bool) {
	if v := n.In(1); v != nil {
		return lint.ConstScalar(v)
	}
	if n.HasAttr("ratio") {
		return float64(n.Float("ratio", 0.5)), true
	}
	return 0.5, true
}

func runDropoutRate(p *lint.Pass) {
	max := p.Param("max-rate")
	for _, n := range p.Facts.Order {
		if n.OpType != "Dropout" {
			continue
		}
		r, ok := dropoutRatio(n)
		if !ok || r <= max {
			continue
		}
		d := lint.At(n)
		d.Message = fmt.Sprintf("Dropout drops %.0f %% of the units (p = %s > %s) and scales the rest by 1/(1−p) = %s: gradients get very noisy and training slows down or underfits (UMLAUT: p > 0.5; typical 0.2–0.3)",
			100*r, num(r), num(max), num(1/(1-r)))
		d.Fix = "Use nn.Dropout(p=0.2) to nn.Dropout(p=0.5); for more regularization add weight decay (torch.optim.AdamW(..., weight_decay=0.01)) or data augmentation."
		p.Report(d)
	}
}
