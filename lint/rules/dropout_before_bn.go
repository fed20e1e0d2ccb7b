package rules

import (
	"fmt"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// DropoutBeforeBatchNorm (NN302) flags Dropout feeding a BatchNorm with no
// weighted layer in between.
var DropoutBeforeBatchNorm = &lint.Rule{
	ID:       "NN302",
	Name:     "dropout-before-batchnorm",
	Severity: lint.Warning,
	Doc: doc(
		"Dropout directly before BatchNorm (variance shift)",
		"",
		"Why: in training, BatchNorm normalizes with the statistics of the dropped-out",
		"activations and accumulates them into running_mean/running_var; at eval Dropout is",
		"the identity, so the variance BatchNorm sees differs from the one its running",
		"statistics describe (variance shift, Li et al., CVPR 2019) and eval accuracy drops.",
		"NeuraLint (f006): batch norm should come before dropout. The rule flags a Dropout whose",
		"output reaches a BatchNormalization through reshapes, pooling or activations only (no",
		"weighted layer in between).",
		"",
		"Fix: order blocks as nn.Linear/nn.Conv2d → nn.BatchNorm1d/2d → nn.ReLU → nn.Dropout, or",
		"apply dropout only after the last BatchNorm layer.",
	),
	Run: runDropoutBeforeBatchNorm,
}

func runDropoutBeforeBatchNorm(p *lint.Pass) {
	f := p.Facts
	for _, n := range f.Order {
		if n.OpType != "Dropout" {
			continue
		}
		pass := func(m *ir.Node) bool {
			_, act := f.Act(m)
			return f.LayerOf(m) == nil && (f.Transparent(m) || act)
		}
		bn, _ := reaches(f, n.Out(0), pass, func(m *ir.Node) bool { return m.OpType == "BatchNormalization" })
		if bn == nil {
			continue
		}
		d := lint.At(n)
		d.Related = []string{bn.Label()}
		r, _ := dropoutRatio(n)
		d.Message = fmt.Sprintf("Dropout (p = %s) feeds BatchNormalization %s with no weighted layer in between: BatchNorm's running statistics are computed on dropped-out activations, so at eval, without dropout, the variance no longer matches (variance shift; NeuraLint f006)",
			num(r), bn.Label())
		d.Fix = "Order the block as Linear/Conv → BatchNorm → activation → Dropout, or use dropout only after the last BatchNorm."
		p.Report(d)
	}
}
