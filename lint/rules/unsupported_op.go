package rules

import (
	"fmt"
	"strings"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// UnsupportedOp (NN503) lists operators nnkit's executor cannot run.
var UnsupportedOp = &lint.Rule{
	ID:       "NN503",
	Name:     "unsupported-op",
	Severity: lint.Info,
	Doc: doc(
		"Operator not supported by nnkit's executor",
		"",
		"Why: nntrain fine-tunes, and nnlint's probe measures, a model by running it on nnkit's",
		"CPU executor, which implements the operators PyTorch 1.13–2.x exports for common",
		"models (forward and backward). A model using any other operator, an operator from a",
		"non-default domain, or control flow (If/Loop/Scan) can be linted statically but not",
		"probed or trained by nnkit.",
		"Supported: "+strings.Join(executorOps, ", ")+".",
		"",
		"Fix: re-export with operators the executor supports: rewrite the PyTorch code that",
		"produced the operator (e.g. torch.einsum as matmul/transpose), try another",
		"opset_version, or keep that part of the model outside the exported graph.",
	),
	Run: runUnsupportedOp,
}

func runUnsupportedOp(p *lint.Pass) {
	byOp := map[string][]*ir.Node{}
	var ops []string
	for _, n := range p.Facts.Order {
		if executes(n) {
			continue
		}
		key := n.OpType
		if !n.DefaultDomain() {
			key = n.Domain + "::" + n.OpType
		}
		if byOp[key] == nil {
			ops = append(ops, key)
		}
		byOp[key] = append(byOp[key], n)
	}
	for _, op := range ops {
		ns := byOp[op]
		d := lint.At(ns[0])
		d.Related = labels(ns[1:])
		d.Message = fmt.Sprintf("nnkit's executor does not support %s (%s): nntrain cannot fine-tune this model and nnlint's probe cannot run it",
			op, plural(len(ns), "node", "nodes"))
		d.Fix = "Re-export using supported operators (rewrite the PyTorch code that produces it, or try another opset_version); `nnlint explain NN503` lists them."
		p.Report(d)
	}
}

var executorOpSet = func() map[string]bool {
	m := make(map[string]bool, len(executorOps))
	for _, op := range executorOps {
		m[op] = true
	}
	return m
}()

// executes reports whether the executor has n's operator (exec.Supports:
// a default-domain operator of its table). Compiling can still refuse a
// node for its attribute values.
func executes(n *ir.Node) bool {
	return executorOpSet[n.OpType] && n.DefaultDomain()
}
