package rules

import (
	"fmt"

	"github.com/nnkit/nnkit/lint"
)

// DeepNoNorm (NN102) finds long runs of weighted layers with no
// normalization between them.
var DeepNoNorm = &lint.Rule{
	ID:       "NN102",
	Name:     "deep-no-normalization",
	Severity: lint.Warning,
	Params: []lint.Param{
		{Name: "min-layers", Default: 10, Doc: "weighted layers in series without normalization that trigger the rule"},
	},
	Doc: doc(
		"Deep stack of weighted layers without normalization",
		"",
		"Why: without BatchNorm, LayerNorm, GroupNorm or InstanceNorm nothing re-centres and",
		"re-scales the activations, so any mismatch between the initialization and the",
		"activation compounds layer after layer: activations and gradients shrink or grow",
		"geometrically with depth, and the usable learning rate gets small. Normalization layers",
		"make the scale of each layer's input independent of the weights before it.",
		"The rule measures the longest path of weighted layers (Linear/Gemm, MatMul with a weight,",
		"Conv, LSTM/GRU) with no normalization between them. PyTorch's decomposed LayerNorm",
		"(ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div) counts as normalization, and so does",
		"a BatchNorm that an inference export folded into a Conv.",
		"Depth without normalization is a hypothesis about the scale: when the probe ran, the",
		"finding quotes what it measured over the stretch (activation std in and out, early/late",
		"relative gradients, see NN601): it stays a warning when the measurement confirms it (a",
		"change beyond 100× either way) or shows a milder drift (10× to 100×), and becomes info",
		"when propagation measured healthy (both within 10×: SqueezeNet's 18 unnormalized",
		"layers, for instance). Healthy torchvision training exports measure within 57× (ResNeXt-50).",
		"",
		"Fix: add nn.BatchNorm1d/nn.BatchNorm2d after each Linear/Conv (before the activation), or",
		"nn.LayerNorm for sequence models, and create those layers with bias=False. If the model",
		"must stay normalization-free, initialize it for its depth (e.g. Fixup, or",
		"nn.init.kaiming_normal_(w, nonlinearity='relu')). Setting: min-layers.",
	),
	Run: runDeepNoNorm,
}

func runDeepNoNorm(p *lint.Pass) {
	f := p.Facts
	type run struct {
		n     int
		start *lint.Layer
	}
	at := make([]run, f.NumValueIDs()) // by value ID
	var best run
	var end *lint.Layer
	for _, n := range f.Order {
		var in run
		for _, s := range f.DataSlots(n) {
			if id, ok := f.ValueID(n.In(s)); ok && at[id].n > in.n {
				in = at[id]
			}
		}
		out := in
		l := f.LayerOf(n)
		switch {
		case f.IsNorm(n) || l != nil && l.Folded:
			out = run{}
		case l != nil:
			out = run{in.n + 1, in.start}
			if out.start == nil {
				out.start = l
			}
			if out.n > best.n {
				best, end = out, l
			}
		}
		for _, o := range n.Outputs {
			if id, ok := f.ValueID(o); ok {
				at[id] = out
			}
		}
	}
	if best.n == 0 || float64(best.n) < p.Param("min-layers") {
		return
	}
	d := lint.At(best.start.Node)
	d.Related = []string{end.Node.Label()}
	d.Message = fmt.Sprintf("%d weighted layers in series from %s to %s with no BatchNorm, LayerNorm, GroupNorm or InstanceNorm between them: scale errors compound over the whole depth",
		best.n, best.start.Node.Label(), end.Node.Label())
	d.Fix = "Add nn.BatchNorm1d/nn.BatchNorm2d (or nn.LayerNorm) after each Linear/Conv, before the activation, and create those layers with bias=False."
	confirm(p, &d, best.start.Node, end.Node)
	p.Report(d)
}
