package rules

import (
	"fmt"
	"math"
	"strings"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// inf is "unreachable" in the shortest-path computations.
const inf = math.MaxInt32

// pathCosts are minToOutput's results, by value ID (lint.Facts.ValueID):
// tables as long as the graph, not maps (issue 9: a graph can have
// hundreds of thousands of values).
type pathCosts struct {
	f    *lint.Facts
	cost []int32 // -1: no path
	via  []*ir.Node
}

// at is the cost of v, and whether v has a path to an output.
func (pc *pathCosts) at(v *ir.Value) (int, bool) {
	id, ok := pc.f.ValueID(v)
	if !ok || pc.cost[id] < 0 {
		return 0, false
	}
	return int(pc.cost[id]), true
}

// minToOutput computes, for every data value, the least number of nodes
// satisfying count that a gradient path from the value to a graph output
// crosses (paths only through differentiable data edges). via records the
// consumer on that best path.
func minToOutput(f *lint.Facts, count func(*ir.Node) bool) *pathCosts {
	pc := &pathCosts{f: f, cost: make([]int32, f.NumValueIDs()), via: make([]*ir.Node, f.NumValueIDs())}
	for i := range pc.cost {
		pc.cost[i] = -1
	}
	for _, o := range f.Graph.Outputs {
		if id, ok := f.ValueID(o); ok {
			pc.cost[id] = 0
		}
	}
	for i := len(f.Order) - 1; i >= 0; i-- {
		n := f.Order[i]
		best := inf
		for _, o := range n.Outputs {
			if c, ok := pc.at(o); ok && c < best {
				best = c
			}
		}
		if best == inf {
			continue
		}
		if count(n) {
			best++
		}
		for _, s := range f.DataSlots(n) {
			id, ok := f.ValueID(n.In(s))
			if !ok {
				continue
			}
			if c := pc.cost[id]; c < 0 || best < int(c) {
				pc.cost[id] = int32(best)
				pc.via[id] = n
			}
		}
	}
	return pc
}

// bestPath follows the best path from v to a graph output, returning the
// nodes on it.
func (pc *pathCosts) bestPath(v *ir.Value) []*ir.Node {
	var path []*ir.Node
	for i := 0; v != nil && !v.IsOutput && i < 1<<20; i++ {
		id, ok := pc.f.ValueID(v)
		if !ok {
			break
		}
		n := pc.via[id]
		if n == nil {
			break
		}
		path = append(path, n)
		var next *ir.Value
		nextCost := 0
		for _, o := range n.Outputs {
			if c, ok := pc.at(o); ok && (next == nil || c < nextCost) {
				next, nextCost = o, c
			}
		}
		v = next
	}
	return path
}

// reaches walks forward from v through nodes that pass(n) accepts and
// returns the first node for which stop(n) is true (breadth-first), or nil.
// Reaching a graph output returns nil with out = true.
func reaches(f *lint.Facts, v *ir.Value, pass, stop func(*ir.Node) bool) (hit *ir.Node, out bool) {
	seen := map[*ir.Value]bool{}
	queue := []*ir.Value{v}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		if v == nil || seen[v] {
			continue
		}
		seen[v] = true
		if v.IsOutput {
			out = true
		}
		for _, u := range v.Uses {
			n := u.Node
			if n.Graph != f.Graph {
				continue
			}
			if stop(n) {
				if hit == nil {
					hit = n
				}
				continue
			}
			if pass(n) {
				for _, o := range n.Outputs {
					if f.IsData(o) {
						queue = append(queue, o)
					}
				}
			}
		}
	}
	return hit, out
}

// feedsOutput reports whether layer l's output reaches a graph output
// without passing through another weighted layer (l is an output layer).
func feedsOutput(f *lint.Facts, l *lint.Layer) bool {
	_, out := reaches(f, l.Out, func(n *ir.Node) bool { return f.LayerOf(n) == nil }, func(*ir.Node) bool { return false })
	return out
}

func shape(t *ir.Tensor) string { return ir.ShapeString(t.Dims) }

// sci formats a number in a compact scientific notation: 6.0e-08.
func sci(x float64) string { return fmt.Sprintf("%.1e", x) }

// num formats a ratio or std compactly: 3 significant digits.
func num(x float64) string {
	if x != 0 && (math.Abs(x) < 1e-3 || math.Abs(x) >= 1e5) {
		return sci(x)
	}
	return fmt.Sprintf("%.3g", x)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func labels(ns []*ir.Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Label()
	}
	return out
}

// doc joins paragraphs into a rule Doc.
func doc(lines ...string) string { return strings.Join(lines, "\n") }
