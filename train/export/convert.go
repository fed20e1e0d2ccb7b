package export

import (
	"fmt"
	"slices"

	"github.com/nnkit/nnkit/ir"
)

// Inference returns m as an inference graph (see the package doc) and what
// changed. m is not modified: the result is a new graph sharing m's tensors,
// so values written into m's initializers later (exec's WriteBack) show in
// it too. The error names the node when a training-only value is read by
// the rest of the graph (a BatchNormalization's running-mean output used as
// a graph output, say), which has no inference equivalent.
func Inference(m *ir.Model) (*ir.Model, *Report, error) {
	if m == nil || m.Graph == nil {
		return nil, nil, fmt.Errorf("the model has no graph")
	}
	c := &converter{opset: m.Opset(""), rename: map[string]string{}, rep: &Report{}}
	// Pass 1: decide every node's fate, in every graph, before rebuilding:
	// a subgraph may read a renamed value, and files need not be in
	// topological order.
	root := c.plan(m.Graph)
	if len(c.errs) > 0 {
		return nil, nil, c.errs.Err()
	}
	// Pass 2: drop what fed only removed values.
	c.prune(root)
	// Pass 3: rebuild.
	b := c.emit(root, nil)
	g, err := b.Finish()
	if err != nil {
		return nil, nil, fmt.Errorf("rebuilding the inference graph: %w", err)
	}
	out := *m
	out.Graph = g
	out.Metadata = setMeta(m.Metadata, MetaGraph, KindInference)
	out.Metadata = setMeta(out.Metadata, MetaConverted, c.rep.converted())
	return &out, c.rep, nil
}

type converter struct {
	opset  int64
	rename map[string]string // Dropout output → its input
	rep    *Report
	errs   ir.ErrorList
}

// pgraph is a graph being converted: its nodes with their new inputs and
// outputs by name (the way a file lists them).
type pgraph struct {
	src   *ir.Graph
	nodes []*pnode
	// names the nodes of this graph and its subgraphs read from enclosing
	// graphs, and the initializers and inputs to drop, filled by prune
	outer                map[string]bool
	dropInit, dropInputs map[string]bool
}

type pnode struct {
	src      *ir.Node
	opType   string
	attrs    []*ir.Attribute
	inputs   []string
	outputs  []string
	subs     map[*ir.Graph]*pgraph
	removed  bool
	liveSrc  bool // some output was read in the original graph
	identity bool // a removed Dropout replaced by Identity
}

func name(v *ir.Value) string {
	if v == nil {
		return ""
	}
	return v.Name
}

func names(vs []*ir.Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = name(v)
	}
	return out
}

func (c *converter) errorf(n *ir.Node, format string, a ...any) {
	c.errs.Add(fmt.Errorf("node %s (%s): %s", n.Label(), n.OpType, fmt.Sprintf(format, a...)))
}

// readElsewhere reports whether v is a graph output or read by a node
// (subgraph reads included).
func readElsewhere(v *ir.Value) bool {
	return v != nil && (v.IsOutput || len(v.Uses) > 0)
}

func (c *converter) plan(g *ir.Graph) *pgraph {
	pg := &pgraph{src: g}
	for _, n := range g.Nodes {
		p := &pnode{src: n, opType: n.OpType, attrs: slices.Clone(n.Attrs), inputs: names(n.Inputs), outputs: names(n.Outputs)}
		for _, o := range n.Outputs {
			if readElsewhere(o) {
				p.liveSrc = true
			}
		}
		for _, s := range n.Subgraphs() {
			if p.subs == nil {
				p.subs = map[*ir.Graph]*pgraph{}
			}
			p.subs[s] = c.plan(s)
		}
		pg.nodes = append(pg.nodes, p)
		if !n.DefaultDomain() {
			continue
		}
		switch n.OpType {
		case "BatchNormalization":
			if bnTraining(n, c.opset) {
				c.batchNorm(p)
			}
		case "Dropout":
			if dropoutTraining(n, c.opset) {
				c.dropout(p)
			}
		}
	}
	return pg
}

// batchNorm keeps only output 0 and sets the mode attribute.
func (c *converter) batchNorm(p *pnode) {
	n := p.src
	stat := [...]string{"", "running mean", "running variance", "saved mean", "saved inverse variance"}
	for i := 1; i < len(n.Outputs); i++ {
		if o := n.Outputs[i]; readElsewhere(o) {
			what := "output " + fmt.Sprint(i)
			if i < len(stat) {
				what = stat[i] + " output"
			}
			c.errorf(n, "its %s %q is read by the graph; an inference BatchNormalization does not compute it", what, o.Name)
		}
	}
	if n.Out(0) == nil {
		c.errorf(n, "has no output Y")
		return
	}
	p.outputs = p.outputs[:1]
	switch {
	case c.opset >= 14:
		p.setAttr(&ir.Attribute{Name: "training_mode", Type: ir.AttrInt, I: 0})
	case c.opset < 7:
		p.setAttr(&ir.Attribute{Name: "is_test", Type: ir.AttrInt, I: 1})
	}
	c.rep.BatchNorms = append(c.rep.BatchNorms, n.Label())
}

// dropout removes the node (readers of its output read its input), or, if
// its mask is read, keeps it in inference mode.
func (c *converter) dropout(p *pnode) {
	n := p.src
	x, y := n.In(0), n.Out(0)
	if x == nil || y == nil {
		c.errorf(n, "needs input 0 and output 0")
		return
	}
	if readElsewhere(n.Out(1)) {
		switch {
		case c.opset >= 12:
			p.inputs = p.inputs[:min(len(p.inputs), 2)] // training_mode omitted: false
		case c.opset < 7:
			p.setAttr(&ir.Attribute{Name: "is_test", Type: ir.AttrInt, I: 1})
		}
		c.rep.DropoutsKept = append(c.rep.DropoutsKept, n.Label())
		return
	}
	c.rep.Dropouts = append(c.rep.Dropouts, n.Label())
	if y.IsOutput {
		// The graph output keeps its name: y = Identity(x).
		p.opType, p.attrs, p.identity = "Identity", nil, true
		p.inputs, p.outputs = []string{x.Name}, []string{y.Name}
		return
	}
	p.removed = true
	c.rename[y.Name] = x.Name
}

func (p *pnode) setAttr(a *ir.Attribute) {
	for i, b := range p.attrs {
		if b.Name == a.Name {
			p.attrs[i] = a
			return
		}
	}
	p.attrs = append(p.attrs, a)
}

// resolve follows Dropout renames (a Dropout may read another's output).
func (c *converter) resolve(s string) string {
	for range len(c.rename) + 1 {
		t, ok := c.rename[s]
		if !ok {
			break
		}
		s = t
	}
	return s
}

// prune renames inputs, then removes nodes, initializers and inputs that
// the original graph read but the converted one no longer does. Anything
// the original graph already left unread stays as it was.
func (c *converter) prune(pg *pgraph) {
	for _, p := range pg.nodes {
		for i, s := range p.inputs {
			p.inputs[i] = c.resolve(s)
		}
		for _, s := range p.subs {
			c.prune(s)
		}
	}
	g := pg.src
	for {
		read := pg.reads()
		changed := false
		for _, p := range pg.nodes {
			if p.removed || !p.liveSrc {
				continue
			}
			live := false
			for _, o := range p.outputs {
				if o != "" && read[o] {
					live = true
					break
				}
			}
			if !live {
				p.removed, changed = true, true
				if p.opType != "Dropout" {
					c.rep.Nodes = append(c.rep.Nodes, p.src.Label())
				}
			}
		}
		if !changed {
			break
		}
	}
	read := pg.reads()
	pg.dropInit, pg.dropInputs = map[string]bool{}, map[string]bool{}
	for _, v := range g.Initializers {
		if readElsewhere(v) && !read[v.Name] {
			pg.dropInit[v.Name] = true
			c.rep.Initializers = append(c.rep.Initializers, v.Name)
		}
	}
	for _, v := range g.Inputs {
		if readElsewhere(v) && !read[v.Name] {
			pg.dropInputs[v.Name] = true
			if v.Init == nil {
				c.rep.Inputs = append(c.rep.Inputs, v.Name)
			}
		}
	}
	// What this graph reads from enclosing scopes.
	defined := map[string]bool{}
	for _, v := range g.Inputs {
		defined[v.Name] = true
	}
	for _, v := range g.Initializers {
		defined[v.Name] = true
	}
	for _, p := range pg.nodes {
		if !p.removed {
			for _, o := range p.outputs {
				defined[o] = true
			}
		}
	}
	pg.outer = map[string]bool{}
	for s := range read {
		if !defined[s] {
			pg.outer[s] = true
		}
	}
}

// reads is the set of names the kept nodes (and their subgraphs) read,
// plus the graph outputs.
func (pg *pgraph) reads() map[string]bool {
	read := map[string]bool{}
	for _, o := range pg.src.Outputs {
		read[o.Name] = true
	}
	for _, p := range pg.nodes {
		if p.removed {
			continue
		}
		for _, s := range p.inputs {
			if s != "" {
				read[s] = true
			}
		}
		for _, sub := range p.subs {
			for s := range sub.outer {
				read[s] = true
			}
		}
	}
	return read
}

// emit builds the converted graph with an ir.Builder, as a reader of the
// file would.
func (c *converter) emit(pg *pgraph, parent *ir.Builder) *ir.Builder {
	g := pg.src
	b := ir.NewBuilder(g.Name, parent)
	ng := b.Graph()
	ng.DocString, ng.Metadata, ng.Unknown = g.DocString, g.Metadata, g.Unknown
	ng.SparseInitializers, ng.QuantAnnotations = g.SparseInitializers, g.QuantAnnotations
	for _, v := range g.Initializers {
		if !pg.dropInit[v.Name] {
			b.Initializer(v.Init)
		}
	}
	for _, v := range g.Inputs {
		if !pg.dropInputs[v.Name] {
			b.Input(v.Name, v.Type, v.Extra)
		}
	}
	defined := map[string]bool{}
	for _, p := range pg.nodes {
		if p.removed {
			continue
		}
		n := p.src
		nn := &ir.Node{Name: n.Name, OpType: p.opType, Domain: n.Domain, Extra: n.Extra}
		if p.identity {
			nn.Domain = ""
			if n.Extra != nil && n.Extra.Overload != "" {
				x := *n.Extra
				x.Overload = ""
				nn.Extra = &x
			}
		}
		for _, a := range p.attrs {
			if a.G == nil && len(a.Graphs) == 0 {
				nn.Attrs = append(nn.Attrs, a)
				continue
			}
			ca := *a
			if a.G != nil {
				ca.G = c.emit(p.subs[a.G], b).Graph()
			}
			if len(a.Graphs) > 0 {
				ca.Graphs = make([]*ir.Graph, len(a.Graphs))
				for i, s := range a.Graphs {
					ca.Graphs[i] = c.emit(p.subs[s], b).Graph()
				}
			}
			nn.Attrs = append(nn.Attrs, &ca)
		}
		b.Node(nn, slices.Clone(p.inputs), slices.Clone(p.outputs))
		for _, o := range p.outputs {
			defined[o] = true
		}
	}
	for _, v := range g.Outputs {
		b.Output(v.Name, v.Type, v.Extra)
	}
	for _, v := range g.ValueInfo {
		if v.Producer != nil && !defined[v.Name] {
			continue // an output of a removed node
		}
		b.ValueInfo(v.Name, v.Type, v.Extra)
	}
	return b
}
