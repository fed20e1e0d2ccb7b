package rules

import (
	"fmt"

	"github.com/nnkit/nnkit/lint"
)

// OutputActivation (NN401) flags probabilities at the output of a model
// that will be trained with a loss that expects logits.
var OutputActivation = &lint.Rule{
	ID:       "NN401",
	Name:     "output-activation",
	Severity: lint.Warning,
	Doc: doc(
		"Softmax/Sigmoid at the output: the training loss expects logits (double softmax)",
		"",
		"Why: nn.CrossEntropyLoss applies log-softmax itself and nn.BCEWithLogitsLoss applies",
		"the sigmoid itself (in a numerically stable form, max(x,0) − x·y + log(1+e^(−|x|))).",
		"Fed probabilities, CrossEntropyLoss computes softmax(softmax(x)): the outputs are",
		"squeezed into [0, 1], the loss can no longer approach 0 and its gradients shrink, so",
		"training stalls (double softmax; NeuraLint f008/f012/f017, UMLAUT). BCELoss on a",
		"Sigmoid output instead loses precision where the sigmoid saturates.",
		"Softmax and Sigmoid outputs are warnings. A LogSoftmax output is reported as info: it is",
		"right for nn.NLLLoss, and harmless under CrossEntropyLoss because log-softmax is",
		"idempotent (log_softmax(log_softmax(x)) = log_softmax(x)).",
		"",
		"Fix: return logits from forward() and train with nn.CrossEntropyLoss (multi-class) or",
		"nn.BCEWithLogitsLoss (binary/multi-label); apply torch.softmax/torch.sigmoid only at",
		"inference, or export a separate inference wrapper.",
	),
	Run: runOutputActivation,
}

var outputPassThrough = map[string]bool{
	"Identity": true, "Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true,
	"Transpose": true, "Cast": true,
}

func runOutputActivation(p *lint.Pass) {
	for _, o := range p.Graph.Outputs {
		n := o.Producer
		for n != nil && outputPassThrough[n.OpType] && n.In(0) != nil {
			n = n.In(0).Producer
		}
		if n == nil {
			continue
		}
		d := lint.At(n)
		switch n.OpType {
		case "Softmax":
			d.Message = fmt.Sprintf("graph output %q comes from Softmax: nn.CrossEntropyLoss applies log-softmax itself, so training on these probabilities applies softmax twice — the loss cannot approach 0 and its gradients shrink (double softmax)", o.Name)
			d.Fix = "Return logits (drop the final nn.Softmax) and train with nn.CrossEntropyLoss; apply torch.softmax only at inference."
		case "Sigmoid":
			if p.Facts.IsSiLU(n) {
				continue
			}
			d.Message = fmt.Sprintf("graph output %q comes from Sigmoid: nn.BCEWithLogitsLoss expects logits and applies the sigmoid itself in a stable form; BCELoss on sigmoid outputs loses precision where they saturate", o.Name)
			d.Fix = "Return logits (drop the final nn.Sigmoid) and train with nn.BCEWithLogitsLoss; apply torch.sigmoid only at inference."
		case "LogSoftmax":
			d.Severity = lint.Info
			d.Message = fmt.Sprintf("graph output %q comes from LogSoftmax: right for nn.NLLLoss, and harmless under nn.CrossEntropyLoss (log-softmax is idempotent), but the model does not output logits", o.Name)
			d.Fix = "Train with nn.NLLLoss, or drop the LogSoftmax and use nn.CrossEntropyLoss on logits."
		default:
			continue
		}
		p.Report(d)
	}
}
