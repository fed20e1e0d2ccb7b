package rules

import (
	"fmt"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// DropoutBeforeOutput (NN303) flags Dropout applied to the model's output.
var DropoutBeforeOutput = &lint.Rule{
	ID:       "NN303",
	Name:     "dropout-before-output",
	Severity: lint.Warning,
	Doc: doc(
		"Dropout directly before the output",
		"",
		"Why: a Dropout whose output reaches the model output with no weighted layer after it",
		"randomly zeroes a fraction p of the logits (and scales the others by 1/(1−p)) at every",
		"training step. The loss then trains against corrupted predictions — a dropped class",
		"logit of 0 is not \"no evidence\" — and no later layer can learn to compensate.",
		"Dropout regularizes hidden representations; it belongs before the last layer.",
		"",
		"Fix: move the dropout before the classifier: nn.Sequential(..., nn.Dropout(p),",
		"nn.Linear(hidden, num_classes)), or remove it.",
	),
	Run: runDropoutBeforeOutput,
}

func runDropoutBeforeOutput(p *lint.Pass) {
	f := p.Facts
	for _, n := range f.Order {
		if n.OpType != "Dropout" {
			continue
		}
		pass := func(m *ir.Node) bool {
			_, act := f.Act(m)
			return f.LayerOf(m) == nil && (f.Transparent(m) || act)
		}
		_, out := reaches(f, n.Out(0), pass, func(*ir.Node) bool { return false })
		if !out {
			continue
		}
		r, _ := dropoutRatio(n)
		d := lint.At(n)
		d.Message = fmt.Sprintf("Dropout (p = %s) is applied to the model output with no weighted layer after it: in training it zeroes %.0f %% of the output values and scales the rest by %s, so the loss sees corrupted predictions",
			num(r), 100*r, num(1/(1-r)))
		d.Fix = "Move the dropout before the last layer (..., nn.Dropout(p), nn.Linear(hidden, num_classes)) or remove it."
		p.Report(d)
	}
}
