package rules

import (
	"fmt"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// DeepPlainStack (NN103) finds networks whose shortest gradient path
// crosses many weighted layers: deep and without skip connections.
var DeepPlainStack = &lint.Rule{
	ID:       "NN103",
	Name:     "deep-plain-stack",
	Severity: lint.Warning,
	Params: []lint.Param{
		{Name: "min-depth", Default: 30, Doc: "weighted layers on the shortest path to the output that trigger the rule (He et al. 2016: a plain 34-layer net trains worse than a plain 18-layer one)"},
	},
	Doc: doc(
		"Deep plain stack without residual connections",
		"",
		"Why: He et al. (2016) found that plain networks get worse as they get deeper, even with",
		"BatchNorm: a plain 34-layer net has higher training error than a plain 18-layer one",
		"(the degradation problem), while the same nets with identity shortcuts improve with",
		"depth. A residual connection y = x + f(x) gives the gradient a path around f.",
		"The rule computes, for every weighted layer, the fewest weighted layers a gradient path",
		"from the output back to it must cross; skip connections shorten that path. It reports",
		"when the longest of these shortest paths reaches min-depth (30). When the probe ran, the",
		"finding quotes the measured activation std and early/late relative gradients (NN601)",
		"over that path: info when both stay within 10× (healthy propagation), else a warning.",
		"",
		"Fix: add residual connections around groups of two or three layers: a block whose",
		"forward returns x + self.body(x), with an nn.Conv2d(1×1) or nn.Linear on the shortcut",
		"where the width changes (torchvision.models.resnet.BasicBlock), or make the network",
		"shallower. Setting: min-depth.",
	),
	Run: runDeepPlainStack,
}

func runDeepPlainStack(p *lint.Pass) {
	f := p.Facts
	pc := minToOutput(f, func(n *ir.Node) bool { return f.LayerOf(n) != nil })
	var worst *lint.Layer
	depth := 0
	for _, l := range f.Layers {
		c, ok := pc.at(l.Node.Out(0))
		if !ok || c == inf {
			continue
		}
		if c+1 > depth {
			worst, depth = l, c+1
		}
	}
	if worst == nil || float64(depth) < p.Param("min-depth") {
		return
	}
	var last *ir.Node
	for _, n := range pc.bestPath(worst.Node.Out(0)) {
		if f.LayerOf(n) != nil {
			last = n
		}
	}
	d := lint.At(worst.Node)
	msg := fmt.Sprintf("the shortest gradient path from %s to the output crosses %d weighted layers", worst.Node.Label(), depth)
	if last != nil {
		d.Related = []string{last.Label()}
		msg += fmt.Sprintf(" (to %s)", last.Label())
	}
	d.Message = msg + ": no residual connection shortens it, and plain networks this deep train worse than shallower ones (degradation problem)"
	d.Fix = "Add residual connections (out = x + block(x), a 1×1 conv/Linear on the shortcut where shapes change, as in torchvision's ResNet BasicBlock), or reduce the depth."
	if last != nil {
		confirm(p, &d, worst.Node, last)
	}
	p.Report(d)
}
