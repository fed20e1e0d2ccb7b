package rules

import (
	"fmt"

	"github.com/nnkit/nnkit/lint"
)

// UnusedInitializer (NN502) lists initializers no node reads.
var UnusedInitializer = &lint.Rule{
	ID:       "NN502",
	Name:     "unused-initializer",
	Severity: lint.Info,
	Doc: doc(
		"Initializer not used by any node",
		"",
		"Why: an initializer that no node reads is dead weight: it makes the file bigger and,",
		"when fine-tuning, gets optimizer state but never a gradient. It usually comes from a",
		"module defined in __init__ but never called in forward(), or from a graph edited by",
		"hand.",
		"",
		"Fix: remove the unused module or parameter from the PyTorch model before exporting",
		"(or delete the initializer from the graph).",
	),
	Run: runUnusedInitializer,
}

func runUnusedInitializer(p *lint.Pass) {
	for _, v := range p.Graph.Initializers {
		if len(v.Uses) > 0 || v.IsOutput {
			continue
		}
		d := lint.AtValue(v)
		d.Message = fmt.Sprintf("initializer %s %s (%d values) is not used by any node", v.Name, shape(v.Init), v.Init.Len())
		d.Fix = "Remove the module or parameter that forward() never uses before exporting."
		p.Report(d)
	}
}
