package export

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nnkit/nnkit/ir"
)

// Metadata keys (model metadata_props) that say which graph nnkit wrote.
const (
	// MetaGraph is "inference" on a graph converted by Inference and
	// "training" on a graph written for further training (Mark).
	MetaGraph = "nnkit.graph"
	// MetaConverted lists what Inference changed, e.g.
	// "BatchNormalization=9,Dropout=1" (empty when nothing needed it).
	MetaConverted = "nnkit.converted"
)

// Graph kinds stored under MetaGraph.
const (
	KindInference = "inference"
	KindTraining  = "training"
)

// Report lists what Inference changed, by node label and value name.
type Report struct {
	// BatchNorms switched to running statistics.
	BatchNorms []string
	// Dropouts removed (their readers read the Dropout's input).
	Dropouts []string
	// DropoutsKept: Dropouts whose mask output is read, kept in
	// inference mode.
	DropoutsKept []string
	// Nodes removed because they fed only removed values.
	Nodes []string
	// Initializers and graph inputs removed for the same reason.
	Initializers []string
	Inputs       []string
}

// Changed reports whether the graph had anything to convert.
func (r *Report) Changed() bool {
	return len(r.BatchNorms)+len(r.Dropouts)+len(r.DropoutsKept) > 0
}

func (r *Report) String() string {
	if !r.Changed() {
		return "nothing to convert (no training-mode BatchNormalization or Dropout)"
	}
	var parts []string
	add := func(n int, one, many string) {
		if n == 1 {
			parts = append(parts, "1 "+one)
		} else if n > 1 {
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(len(r.BatchNorms), "BatchNormalization now on running statistics", "BatchNormalizations now on running statistics")
	add(len(r.Dropouts), "Dropout removed", "Dropouts removed")
	add(len(r.DropoutsKept), "Dropout switched to inference mode (its mask is read)", "Dropouts switched to inference mode (their masks are read)")
	add(len(r.Nodes), "node that fed only removed values dropped", "nodes that fed only removed values dropped")
	add(len(r.Initializers), "initializer dropped", "initializers dropped")
	add(len(r.Inputs), "graph input dropped", "graph inputs dropped")
	return strings.Join(parts, ", ")
}

func (r *Report) converted() string {
	var parts []string
	if n := len(r.BatchNorms); n > 0 {
		parts = append(parts, fmt.Sprintf("BatchNormalization=%d", n))
	}
	if n := len(r.Dropouts) + len(r.DropoutsKept); n > 0 {
		parts = append(parts, fmt.Sprintf("Dropout=%d", n))
	}
	return strings.Join(parts, ",")
}

// Kind returns the MetaGraph entry of m ("" when nnkit did not label it).
func Kind(m *ir.Model) string { return meta(m.Metadata, MetaGraph) }

// Converted returns the MetaConverted entry of m.
func Converted(m *ir.Model) string { return meta(m.Metadata, MetaConverted) }

func meta(ps []ir.StringPair, key string) string {
	for _, p := range ps {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// Mark labels m as a graph of the given kind (KindTraining or KindInference),
// replacing an earlier label; a training graph carries no MetaConverted.
func Mark(m *ir.Model, kind string) {
	m.Metadata = setMeta(m.Metadata, MetaGraph, kind)
	if kind == KindTraining {
		m.Metadata = slices.DeleteFunc(slices.Clone(m.Metadata), func(p ir.StringPair) bool { return p.Key == MetaConverted })
	}
}

func setMeta(ps []ir.StringPair, key, value string) []ir.StringPair {
	out := slices.Clone(ps)
	for i, p := range out {
		if p.Key == key {
			out[i].Value = value
			return out
		}
	}
	return append(out, ir.StringPair{Key: key, Value: value})
}

// IsTraining reports whether m has a construct Inference would convert: a
// BatchNormalization computing batch statistics or a Dropout in training
// mode (opset ≥ 12: training_mode not a constant false; opset < 7:
// is_test 0). A Dropout at opset 7–11 has no mode and counts as inference.
func IsTraining(m *ir.Model) bool {
	opset := m.Opset("")
	var walk func(g *ir.Graph) bool
	walk = func(g *ir.Graph) bool {
		for _, n := range g.Nodes {
			if !n.DefaultDomain() {
				continue
			}
			switch n.OpType {
			case "BatchNormalization":
				if bnTraining(n, opset) {
					return true
				}
			case "Dropout":
				if dropoutTraining(n, opset) {
					return true
				}
			}
			for _, s := range n.Subgraphs() {
				if walk(s) {
					return true
				}
			}
		}
		return false
	}
	return walk(m.Graph)
}

func nOutputs(n *ir.Node) int {
	k := 0
	for _, o := range n.Outputs {
		if o != nil {
			k++
		}
	}
	return k
}

// bnTraining: opset ≥ 14 training_mode = 1; opset 7–13 more than one
// output; opset < 7 is_test = 0 (its default).
func bnTraining(n *ir.Node, opset int64) bool {
	switch {
	case opset >= 14:
		return n.Int("training_mode", 0) != 0 || nOutputs(n) > 1
	case opset >= 7:
		return nOutputs(n) > 1
	default:
		return n.Int("is_test", 0) == 0
	}
}

func dropoutTraining(n *ir.Node, opset int64) bool {
	switch {
	case opset >= 12:
		t := n.In(2)
		if t == nil {
			return false
		}
		if c := t.ConstTensor(); c != nil {
			if v, err := c.Int64s(); err == nil && len(v) == 1 && v[0] == 0 {
				return false
			}
		}
		return true
	case opset >= 7:
		return false
	default:
		return n.Int("is_test", 0) == 0
	}
}
