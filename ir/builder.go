package ir

import (
	"fmt"
	"slices"
)

// Builder assembles a Graph from names the way a file lists them: inputs,
// initializers and nodes in any order, node inputs referring to names that
// may be defined later or in an enclosing graph. Finish resolves the names
// and reports every structural problem at once (dangling inputs, duplicate
// definitions).
type Builder struct {
	g *Graph
	// pending lists the node inputs whose names were not defined in this
	// graph when their node was added (Finish resolves them).
	pending  []pendingInput
	children []*Builder
	errs     ErrorList
	info     []pendingInfo
	outputs  []pendingInfo
	finished bool
}

// pendingInput is input i of node n, called name, which Finish resolves.
// Most files list nodes in topological order, so that most inputs are
// resolved when their node is added and only forward references wait
// (issue 9: keeping every node's names until Finish was a tenth of a
// large graph's peak memory while reading).
type pendingInput struct {
	n    *Node
	i    int
	name string
}

type pendingInfo struct {
	name     string
	t        *TypeInfo
	extra    *ValueExtra
	isOutput bool
}

// NewBuilder starts a graph. parent is the enclosing graph's builder for a
// subgraph, nil for a top-level graph.
func NewBuilder(name string, parent *Builder) *Builder {
	b := &Builder{g: NewGraph(name)}
	if parent != nil {
		b.g.Parent = parent.g
		parent.children = append(parent.children, b)
	}
	return b
}

// Graph is the graph under construction (valid before Finish, so that a
// subgraph attribute can point at it).
func (b *Builder) Graph() *Graph { return b.g }

// Input declares a graph input with its ValueInfo details (extra may be
// nil).
func (b *Builder) Input(name string, t *TypeInfo, extra *ValueExtra) {
	if name == "" {
		b.errs.Add(fmt.Errorf("graph %q: input %d has no name", b.g.Name, len(b.g.Inputs)))
	}
	if v := b.g.values.get(name); v != nil && v.IsInput {
		b.errs.Add(fmt.Errorf("graph %q: input %q is declared twice", b.g.Name, name))
	}
	b.unproduce(b.g.values.get(name))
	v := b.g.AddInput(name, t)
	v.Extra = extra
}

// unproduce handles a graph input or initializer declared after a node
// that outputs the same name: as when it is declared first, the node loses
// that output and the name is the input's.
func (b *Builder) unproduce(v *Value) {
	if v == nil || v.Producer == nil {
		return
	}
	n := v.Producer
	b.errs.Add(fmt.Errorf("node %s (%s): output %q has the name of a graph input or initializer", n.Label(), n.OpType, v.Name))
	n.Outputs[v.ProducerIndex] = nil
	v.Producer, v.ProducerIndex = nil, 0
}

// Initializer adds an initializer tensor.
func (b *Builder) Initializer(t *Tensor) {
	if t.Name == "" {
		b.errs.Add(fmt.Errorf("graph %q: initializer %d has no name", b.g.Name, len(b.g.Initializers)))
	}
	if v := b.g.values.get(t.Name); v != nil && v.Init != nil {
		b.errs.Add(fmt.Errorf("graph %q: initializer %q is defined twice", b.g.Name, t.Name))
		return
	}
	b.unproduce(b.g.values.get(t.Name))
	b.g.AddInitializer(t)
}

// Node adds a node whose inputs and outputs are given by name ("" for an
// omitted optional one). Its outputs are defined now (n.Outputs is set; a
// name another node already produces, or a graph input's or
// initializer's, is an error and leaves that output nil); n.Inputs is
// complete after Finish, when every name of the graph is known (inputs
// named after values this graph already defines are set now: Finish
// would find the same values, since a name once defined keeps its value).
func (b *Builder) Node(n *Node, inputs, outputs []string) {
	g := b.g
	n.Graph, n.Index = g, len(g.Nodes)
	g.Nodes = append(g.Nodes, n)
	n.Outputs = make([]*Value, len(outputs))
	for i, name := range outputs {
		if name == "" {
			continue
		}
		v := g.values.get(name)
		switch {
		case v == nil:
			v = g.newValue(name)
		case v.Producer != nil:
			b.errs.Add(fmt.Errorf("node %s (%s): output %q is also produced by node %s (%s)", n.Label(), n.OpType, name, v.Producer.Label(), v.Producer.OpType))
			continue
		case v.IsInput || v.Init != nil:
			b.errs.Add(fmt.Errorf("node %s (%s): output %q has the name of a graph input or initializer", n.Label(), n.OpType, name))
			continue
		}
		v.Producer, v.ProducerIndex = n, i
		n.Outputs[i] = v
	}
	b.resolveNow(n, inputs)
}

// resolveNow sets the inputs of n that name values of this graph, and
// leaves the others to Finish.
func (b *Builder) resolveNow(n *Node, inputs []string) {
	n.Inputs = make([]*Value, len(inputs))
	for i, name := range inputs {
		if name == "" {
			continue
		}
		if v := b.g.values.get(name); v != nil {
			n.Inputs[i] = v
			continue
		}
		b.pending = append(b.pending, pendingInput{n, i, name})
	}
}

// Name returns name as a string, sharing the memory of the value of this
// graph already called so (a reader naming a node's inputs then allocates
// nothing for names defined earlier in the file).
func (b *Builder) Name(name []byte) string {
	if v := b.g.values.getBytes(name); v != nil {
		return v.Name
	}
	return string(name)
}

// Output declares a graph output by name.
func (b *Builder) Output(name string, t *TypeInfo, extra *ValueExtra) {
	b.outputs = append(b.outputs, pendingInfo{name: name, t: t, extra: extra, isOutput: true})
}

// ValueInfo records a value_info entry.
func (b *Builder) ValueInfo(name string, t *TypeInfo, extra *ValueExtra) {
	b.info = append(b.info, pendingInfo{name: name, t: t, extra: extra})
}

// Finish resolves all names, links producers and consumers, and finishes
// subgraphs. The graph is returned even when there are errors, so that a
// caller can report on it; the error is an ErrorList.
func (b *Builder) Finish() (*Graph, error) {
	if b.finished {
		return b.g, b.errs.Err()
	}
	b.finished = true
	g := b.g
	// Node outputs were defined by Node: subgraphs can now see every name
	// of this graph.
	for _, c := range b.children {
		if _, err := c.Finish(); err != nil {
			b.errs.Add(err)
		}
	}
	// Node inputs not yet resolved, in node and input order.
	for _, p := range b.pending {
		v := g.Lookup(p.name)
		if v == nil {
			b.errs.Add(fmt.Errorf("node %s (%s): input %d %q is not a graph input, an initializer or the output of any node", p.n.Label(), p.n.OpType, p.i, p.name))
			v = g.newValue(p.name) // keep the graph whole for reporting
		}
		p.n.Inputs[p.i] = v
	}
	b.pending = nil
	for _, n := range g.Nodes {
		for i, v := range n.Inputs {
			if v != nil {
				v.Uses = append(v.Uses, Use{n, i})
			}
		}
	}
	// Values read by subgraph nodes from this graph count as uses by the
	// node holding the subgraph (for topological order and liveness).
	for _, n := range g.Nodes {
		for _, sg := range n.Subgraphs() {
			for _, v := range sg.OuterReads() {
				if v.Graph == g {
					v.Uses = append(v.Uses, Use{n, -1})
				}
			}
		}
	}
	for _, o := range b.outputs {
		v := g.Lookup(o.name)
		if v == nil {
			b.errs.Add(fmt.Errorf("graph %q: output %q is not produced by any node, input or initializer", g.Name, o.name))
			v = g.newValue(o.name)
		}
		if o.t != nil {
			v.Type = o.t
		}
		v.Extra = o.extra
		g.AddOutput(v)
	}
	for _, vi := range b.info {
		v := g.values.get(vi.name)
		if v == nil {
			v = g.newValue(vi.name) // annotation of an unknown name: keep it
		}
		if vi.t != nil {
			v.Type = vi.t
		}
		v.Extra = vi.extra
		g.ValueInfo = append(g.ValueInfo, v)
	}
	return g, b.errs.Err()
}

// OuterReads returns the values of enclosing graphs that nodes of g (or of
// its own subgraphs) read.
func (g *Graph) OuterReads() []*Value {
	var out []*Value
	seen := map[*Value]bool{}
	var walk func(s *Graph)
	walk = func(s *Graph) {
		for _, n := range s.Nodes {
			for _, in := range n.Inputs {
				if in != nil && !seen[in] && !in.Graph.within(g) {
					seen[in] = true
					out = append(out, in)
				}
			}
			for _, sub := range n.Subgraphs() {
				walk(sub)
			}
		}
	}
	walk(g)
	return out
}

// within reports whether g is anc or nested inside it.
func (g *Graph) within(anc *Graph) bool {
	for s := g; s != nil; s = s.Parent {
		if s == anc {
			return true
		}
	}
	return false
}

// Grow makes room for nodes more nodes and values more values besides the
// nodes' outputs, so that a reader that knows the counts (a file lists its
// nodes) builds a large graph without regrowing its lists and name table.
func (b *Builder) Grow(nodes, values int) {
	if nodes <= 0 && values <= 0 {
		return
	}
	g := b.g
	g.Nodes = slices.Grow(g.Nodes, nodes)
	g.values.grow(nodes + values)
}
