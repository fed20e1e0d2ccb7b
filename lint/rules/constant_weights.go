package rules

import (
	"fmt"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// ConstantWeights (NN201) finds layers whose weights are all equal, or whose
// output units all start with the same weights.
var ConstantWeights = &lint.Rule{
	ID:       "NN201",
	Name:     "constant-weights",
	Severity: lint.Error,
	Doc: doc(
		"Constant or all-zero weights (symmetric initialization)",
		"",
		"Why: units of a layer that start with identical incoming weights compute the same",
		"output and receive the same gradient, so they stay identical forever: the layer",
		"behaves like a single unit (NeuraLint f004; TheDeepChecker: weight variance ≈ 0 means",
		"constant init). All-zero weights also block the gradient to every layer before them.",
		"The rule flags a hidden layer whose weight tensor is constant (e.g. all zeros) or whose",
		"output units (rows of the weight, filters of a conv) are all identical. The last layer",
		"before the output is exempt: its units get different gradients from different targets,",
		"and zero-initializing a classifier head is a deliberate, common choice. Biases and",
		"normalization weights are not checked (zero biases and BatchNorm's weight 1 are the",
		"PyTorch defaults). All-zero weights that end a residual branch (the layer's output",
		"reaches a residual Add through normalization or reshapes only) are info: zero-initializing",
		"the last layer of each branch is a deliberate technique (Fixup, Zhang et al. 2019;",
		"torchvision's zero_init_residual=True, whose zero BatchNorm weight an inference export",
		"folds into the Conv). The block starts as the identity, and its units get different",
		"gradients through the skip connection.",
		"",
		"Fix: initialize weights randomly, e.g. torch.nn.init.kaiming_normal_(m.weight,",
		"nonlinearity='relu') before ReLU or torch.nn.init.xavier_uniform_(m.weight) before tanh,",
		"or keep PyTorch's default (kaiming_uniform_(a=√5)); never nn.init.zeros_/constant_ on a",
		"hidden layer's weight.",
	),
	Run: runConstantWeights,
}

func runConstantWeights(p *lint.Pass) {
	f := p.Facts
	for _, l := range f.Layers {
		if feedsOutput(f, l) {
			continue
		}
		for i, w := range l.Weights {
			name := w.Name
			if i == 0 {
				name = l.Name()
			}
			s := f.Stats(w.Init)
			if s.N < 2 {
				continue
			}
			d := lint.At(l.Node)
			switch {
			case s.Constant && s.Mean == 0 && i == 0 && endsResidualBranch(f, l):
				d.Severity = lint.Info
				d.Message = fmt.Sprintf("weight %s %s is all zeros (%d values) and ends a residual branch: a zero-initialized residual block (Fixup; torchvision's zero_init_residual=True) starts as the identity; the layers before it in the branch get no gradient until this one has moved",
					name, shape(w.Init), s.N)
				d.Fix = "Nothing to do if the zero initialization is intended (zero_init_residual=True, Fixup)."
				p.Report(d)
				continue
			case s.Constant && s.Mean == 0:
				d.Message = fmt.Sprintf("weight %s %s is all zeros (%d values): every unit of the layer computes the same output and gets the same gradient, and no gradient reaches the layers before it",
					name, shape(w.Init), s.N)
			case s.Constant:
				d.Message = fmt.Sprintf("weight %s %s is constant (all %d values = %s): every unit of the layer computes the same output and gets the same gradient, so the units never differentiate",
					name, shape(w.Init), s.N, num(s.Mean))
			case l.Kind != lint.Recurrent && lint.IdenticalRows(w.Init):
				d.Message = fmt.Sprintf("all %d output units of weight %s %s have identical weights: they compute the same output and get the same gradient, so they never differentiate",
					w.Init.Dims[0], name, shape(w.Init))
			default:
				continue
			}
			d.Fix = "Initialize the weight randomly: nn.init.kaiming_normal_(m.weight, nonlinearity='relu') before ReLU, nn.init.xavier_uniform_(m.weight) before tanh, or PyTorch's default init; never zeros_/constant_ on a hidden layer."
			p.Report(d)
		}
	}
}

// endsResidualBranch reports whether l's output reaches an Add whose other
// operand is computed data (a skip connection) through normalization,
// activations and reshapes only.
func endsResidualBranch(f *lint.Facts, l *lint.Layer) bool {
	seen := map[*ir.Value]bool{}
	queue := []*ir.Value{l.Out}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		if v == nil || seen[v] {
			continue
		}
		seen[v] = true
		for _, u := range v.Uses {
			n := u.Node
			if n.Graph != f.Graph || f.LayerOf(n) != nil {
				continue
			}
			if n.OpType == "Add" || n.OpType == "Sum" {
				for j, in := range n.Inputs {
					if j != u.Index && in != nil && f.IsData(in) {
						return true
					}
				}
				continue
			}
			if _, act := f.Act(n); act || f.IsNorm(n) || f.Transparent(n) || n.OpType == "BatchNormalization" {
				queue = append(queue, n.Outputs...)
			}
		}
	}
	return false
}
