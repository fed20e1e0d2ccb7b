package rules

import (
	"fmt"

	"github.com/nnkit/nnkit/lint"
)

// NonFiniteWeights (NN202) finds NaN or Inf in initializers.
var NonFiniteWeights = &lint.Rule{
	ID:       "NN202",
	Name:     "non-finite-weights",
	Severity: lint.Error,
	Doc: doc(
		"NaN or Inf in weights, biases or buffers",
		"",
		"Why: one NaN or Inf in a parameter or a BatchNorm running statistic turns every output",
		"it touches into NaN, and the loss and all gradients with it (AUTOTRAINER counts NaN/Inf",
		"in weights as exploding). It usually means the model was exported after training had",
		"already diverged, or a checkpoint was corrupted.",
		"",
		"Fix: find where the state went non-finite: [n for n, t in model.state_dict().items() if",
		"not torch.isfinite(t).all()]. Reload the last good checkpoint or reinitialize those",
		"tensors; against divergence, lower the learning rate and clip gradients",
		"(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)); with mixed precision use",
		"torch.cuda.amp.GradScaler.",
	),
	Run: runNonFiniteWeights,
}

func runNonFiniteWeights(p *lint.Pass) {
	f := p.Facts
	for _, v := range f.Graph.Initializers {
		if !v.Init.DType.IsFloat() {
			continue
		}
		s := f.Stats(v.Init)
		if s.NaN == 0 && s.Inf == 0 {
			continue
		}
		d := lint.AtValue(v)
		d.Message = fmt.Sprintf("%s %s %s holds %d NaN and %d Inf values (of %d): every output it touches becomes NaN",
			v.Role(), v.Name, shape(v.Init), s.NaN, s.Inf, v.Init.Len())
		d.Fix = "Reload a good checkpoint or reinitialize the tensor; against divergence lower the learning rate and use torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)."
		p.Report(d)
	}
	for _, n := range f.Order {
		if n.OpType != "Constant" {
			continue
		}
		t := n.TensorAttr("value")
		if t == nil || !t.DType.IsFloat() {
			continue
		}
		if s := f.Stats(t); s.NaN+s.Inf > 0 {
			d := lint.At(n)
			d.Message = fmt.Sprintf("constant %s holds %d NaN and %d Inf values (of %d)", shape(t), s.NaN, s.Inf, t.Len())
			d.Fix = "Find the tensor the exporter folded into this constant and make it finite."
			p.Report(d)
		}
	}
}
