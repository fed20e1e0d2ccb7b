package rules

import (
	"fmt"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// BiasBeforeBatchNorm (NN304) notes layer biases that a following BatchNorm
// cancels.
var BiasBeforeBatchNorm = &lint.Rule{
	ID:       "NN304",
	Name:     "bias-before-batchnorm",
	Severity: lint.Info,
	Doc: doc(
		"Bias directly before BatchNorm is redundant",
		"",
		"Why: BatchNorm (and InstanceNorm) subtracts the per-channel mean, so a per-channel bias",
		"added just before it cancels exactly: it has no effect on the output and its gradient",
		"is exactly zero, yet it costs memory and optimizer state (NeuraLint f005). BatchNorm's",
		"own bias (beta) already provides the shift. Reshapes and max/average pooling in between",
		"do not change this; an activation in between does, and is not flagged.",
		"GroupNorm is different: PyTorch exports nn.GroupNorm(G, C) as Reshape to [N, G, -1] →",
		"InstanceNormalization over G groups → Reshape back, which subtracts one mean per group of",
		"C/G channels. A per-channel bias then cancels only in its group-mean part; the",
		"differences between the channels of a group survive and get a gradient (in PyTorch",
		"≈ 1e-2 for a randomly initialized block). The rule flags GroupNorm only when G = C (an",
		"InstanceNorm), and an InstanceNormalization whose channels are the bias's.",
		"",
		"Fix: create the layer without a bias: nn.Conv2d(..., bias=False) or nn.Linear(...,",
		"bias=False) before nn.BatchNorm2d/nn.BatchNorm1d (as torchvision's ResNet does).",
	),
	Run: runBiasBeforeBatchNorm,
}

var commutesWithBias = map[string]bool{
	"Identity": true, "Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true,
	"MaxPool": true, "AveragePool": true, "GlobalAveragePool": true, "GlobalMaxPool": true,
}

func runBiasBeforeBatchNorm(p *lint.Pass) {
	f := p.Facts
	for _, l := range f.Layers {
		if l.Bias == nil || l.Kind == lint.Recurrent {
			continue
		}
		bn, _ := reaches(f, l.Out, func(n *ir.Node) bool { return commutesWithBias[n.OpType] },
			func(n *ir.Node) bool {
				return n.OpType == "BatchNormalization" ||
					n.OpType == "InstanceNormalization" && perChannel(n, l.Bias.Init.Len())
			})
		if bn == nil {
			continue
		}
		d := lint.At(l.Node)
		d.Related = []string{bn.Label()}
		d.Message = fmt.Sprintf("bias %s (%d values) is added right before %s %s, which subtracts the per-channel mean: the bias cancels out and its gradient is exactly zero (NeuraLint f005)",
			l.Bias.Name, l.Bias.Init.Len(), bn.OpType, bn.Label())
		d.Fix = "Create the layer with bias=False (nn.Conv2d(..., bias=False), nn.Linear(..., bias=False)); BatchNorm's beta provides the shift."
		p.Report(d)
	}
}

// perChannel reports whether an InstanceNormalization normalizes each of
// the layer's c channels on its own (nn.InstanceNorm2d, or GroupNorm with
// one channel per group). PyTorch's GroupNorm(G, C) export reshapes to
// [N, G, -1] first: with G < C a per-channel bias shifts the channels of a
// group differently, survives the normalization and has a real gradient.
func perChannel(n *ir.Node, c int64) bool {
	s := n.In(1)
	if s == nil {
		return false
	}
	if s.Init != nil {
		return s.Init.Len() == c
	}
	if pr := s.Producer; pr != nil && pr.OpType == "Constant" {
		if t := pr.TensorAttr("value"); t != nil {
			return t.Len() == c
		}
	}
	if sh := s.Shape(); len(sh) == 1 && sh[0].Known() {
		return sh[0].Value == c
	}
	return false
}
