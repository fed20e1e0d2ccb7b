package rules

import (
	"fmt"
	"strings"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// DropoutBeforeBatchNorm (NN302) flags Dropout upstream of a BatchNorm:
// statically when Dropout feeds it directly, and with the variance shift
// the probe measures, through weighted layers too.
var DropoutBeforeBatchNorm = &lint.Rule{
	ID:       "NN302",
	Name:     "dropout-before-batchnorm",
	Severity: lint.Warning,
	Params: []lint.Param{
		{Name: "max-shift", Default: 1.5, Doc: "mean per-channel variance shift (Li et al. 2019) at or above which the probe's finding is a warning; below it is info"},
	},
	Doc: doc(
		"Dropout before BatchNorm (variance shift)",
		"",
		"Why: in training, BatchNorm normalizes with the statistics of the dropped-out",
		"activations and accumulates them into running_mean/running_var; at eval Dropout is",
		"the identity, so the variance BatchNorm sees differs from the one its running",
		"statistics describe (variance shift, Li et al., CVPR 2019: Understanding the Disharmony",
		"between Dropout and Batch Normalization by Variance Shift) and eval accuracy drops.",
		"Li et al. show the shift for Dropout feeding BatchNorm and for Dropout → Conv/Linear →",
		"BatchNorm: a linear layer mixes the dropped-out units but keeps the variance mismatch.",
		"NeuraLint (f006): batch norm should come before dropout.",
		"When the probe runs, it measures the shift: the same batch twice in train mode, with",
		"the model's Dropout and with every Dropout off (as eval sees it), and per channel of each",
		"BatchNorm's input max(v_drop/v_nodrop, v_nodrop/v_drop), the paper's",
		"max(real_var/moving_var, moving_var/real_var). For ReLU(N(0,1)) activations the theory",
		"gives ((σ²+μ²)/(1−p) − μ²)/σ² = 1.17 at p = 0.1, 1.37 at p = 0.2, 1.63 at p = 0.3, 2.47",
		"at p = 0.5; the probe measures 1.20–1.29 (p = 0.1 through a Linear), 1.69 (p = 0.3",
		"directly) and 2.44–2.60 (p = 0.5 through a Linear or a Conv) on the fixtures. The",
		"finding is a warning from a mean shift of 1.5 (the normalized activations are ≈ 22 %",
		"off in std at eval: p ≳ 0.25), info below. Without the probe, the rule flags a",
		"Dropout whose output reaches a BatchNormalization through reshapes, pooling or",
		"activations only (no weighted layer in between), as a warning.",
		"",
		"Fix: order blocks as nn.Linear/nn.Conv2d → nn.BatchNorm1d/2d → nn.ReLU → nn.Dropout, apply",
		"dropout only after the last BatchNorm layer, or lower p (Li et al.: the shift grows with",
		"p). Setting: max-shift.",
	),
	Run: runDropoutBeforeBatchNorm,
}

func runDropoutBeforeBatchNorm(p *lint.Pass) {
	f := p.Facts
	measuredBN := map[string]bool{}
	if p.Probe != nil {
		byLabel := map[string]*ir.Node{}
		for _, n := range f.Order {
			byLabel[n.Label()] = n
		}
		for _, s := range p.Probe.Shifts {
			measuredBN[s.Node] = true
			d := lint.Diagnostic{Node: s.Dropouts[0], Op: "Dropout", Related: append([]string{s.Node}, s.Through...)}
			via := "directly"
			if len(s.Through) > 0 {
				via = "through " + strings.Join(s.Through, ", ")
			}
			drops := make([]string, len(s.Dropouts))
			for i, name := range s.Dropouts {
				drops[i] = name
				if n := byLabel[name]; n != nil {
					if r, ok := dropoutRatio(n); ok {
						drops[i] = fmt.Sprintf("%s (p = %s)", name, num(r))
					}
				}
			}
			d.Message = fmt.Sprintf("Dropout %s reaches BatchNormalization %s %s: with dropout on and off the probe measures a variance shift of %s on average (up to %s) over its %d channels (max(v_train/v_eval, v_eval/v_train), Li et al. 2019)",
				strings.Join(drops, ", "), s.Node, via, num(s.Mean), num(s.Max), s.Channels)
			if s.Mean >= p.Param("max-shift") {
				d.Severity = lint.Warning
				d.Message += fmt.Sprintf(" ≥ %s: BatchNorm's running statistics will not match its eval inputs", num(p.Param("max-shift")))
			} else {
				d.Severity = lint.Info
				d.Message += fmt.Sprintf(" < %s: small enough to matter little", num(p.Param("max-shift")))
			}
			d.Fix = "Order the block as Linear/Conv → BatchNorm → activation → Dropout, use dropout only after the last BatchNorm, or lower the dropout rate."
			p.Report(d)
		}
	}
	for _, n := range f.Order {
		if n.OpType != "Dropout" {
			continue
		}
		pass := func(m *ir.Node) bool {
			_, act := f.Act(m)
			return f.LayerOf(m) == nil && (f.Transparent(m) || act)
		}
		bn, _ := reaches(f, n.Out(0), pass, func(m *ir.Node) bool { return m.OpType == "BatchNormalization" })
		if bn == nil || measuredBN[bn.Label()] {
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
