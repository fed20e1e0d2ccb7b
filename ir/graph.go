package ir

import (
	"fmt"
	"strconv"
)

// Model is an ONNX model: one top-level Graph plus file-level metadata.
type Model struct {
	IRVersion       int64
	Opsets          []OpsetID
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	Graph           *Graph
	Metadata        []StringPair

	// Parts of the file the IR carries but does not interpret, each an
	// encoded protobuf message, re-emitted unchanged by writers.
	TrainingInfo  [][]byte
	Functions     [][]byte
	Configuration [][]byte
	Unknown       []byte
}

// OpsetID is one opset import: a domain ("" or "ai.onnx" for the default
// operators) and its version.
type OpsetID struct {
	Domain  string
	Version int64
	Unknown []byte
}

// Opset returns the imported version of a domain ("" and "ai.onnx" are the
// same), or 0 if the model does not import it.
func (m *Model) Opset(domain string) int64 {
	norm := func(d string) string {
		if d == "ai.onnx" {
			return ""
		}
		return d
	}
	for _, o := range m.Opsets {
		if norm(o.Domain) == norm(domain) {
			return o.Version
		}
	}
	return 0
}

// Graph is a computation graph. Nodes are kept in file order; TopoOrder
// gives an execution order.
type Graph struct {
	Name    string
	Nodes   []*Node
	Inputs  []*Value // as declared, initializers included if the file lists them
	Outputs []*Value
	// Initializers in file order; each Value has Init set.
	Initializers []*Value
	// ValueInfo lists the values the file annotated in value_info, in order.
	ValueInfo []*Value

	DocString          string
	Metadata           []StringPair
	SparseInitializers [][]byte // encoded SparseTensorProto, not interpreted
	QuantAnnotations   [][]byte // encoded TensorAnnotation, not interpreted
	Unknown            []byte

	// Parent is the enclosing graph of a subgraph (If/Loop/Scan bodies),
	// nil for the top-level graph. Owner is the node holding it.
	Parent *Graph
	Owner  *Node

	values valueTable
	serial int
}

// Node is one operator application.
//
// A graph can hold hundreds of thousands of nodes (issue 9: memory per node
// must stay near the file's few dozen bytes), so what few nodes carry lives
// behind the Extra pointer rather than in every Node.
type Node struct {
	Name   string
	OpType string
	Domain string
	// Inputs and Outputs in positional order; a nil entry is an omitted
	// optional input or output (an empty name in the file).
	Inputs  []*Value
	Outputs []*Value
	Attrs   []*Attribute
	// Extra holds the parts of the file's node the IR carries for writing
	// back but does not interpret; nil when it has none.
	Extra *NodeExtra

	Graph *Graph
	// Index is the node's position in Graph.Nodes, kept up to date by the
	// Graph's methods.
	Index int
}

// NodeExtra is what a node of a file may carry besides its operator, name,
// inputs, outputs and attributes. Writers emit it unchanged.
type NodeExtra struct {
	Overload  string
	DocString string
	Metadata  []StringPair
	// DeviceConfigs holds encoded NodeDeviceConfigurationProto messages.
	DeviceConfigs [][]byte
	// Unknown holds the NodeProto fields this version of ONNX does not
	// define, encoded.
	Unknown []byte
}

// IsZero reports whether x is nil or carries nothing.
func (x *NodeExtra) IsZero() bool {
	return x == nil || x.Overload == "" && x.DocString == "" && len(x.Metadata) == 0 && len(x.DeviceConfigs) == 0 && len(x.Unknown) == 0
}

// Use is one consumption of a value: node n reads it as input Index.
type Use struct {
	Node  *Node
	Index int
}

// Value is a named edge of the graph: a graph input, an initializer, or the
// output of a node.
type Value struct {
	Name string
	// Type is the value's type and shape: as the file declared it, or as
	// shape inference found it. Nil when unknown.
	Type *TypeInfo
	// Producer is the node computing the value (nil for inputs and
	// initializers); ProducerIndex is its output position.
	Producer      *Node
	ProducerIndex int
	// Uses lists every (node, input slot) that reads the value, in node
	// order. Nodes in subgraphs that read an outer value appear here too.
	Uses []Use
	// Init is the constant contents of an initializer, else nil.
	Init *Tensor
	// IsInput is set for values listed in Graph.Inputs.
	IsInput bool
	// IsOutput is set for values listed in Graph.Outputs.
	IsOutput bool
	Graph    *Graph

	// Extra holds the ValueInfo details the file gave the value (kept for
	// writing back; nil when it gave none). Most values have none, and a
	// graph can have hundreds of thousands of values.
	Extra *ValueExtra
}

// ValueExtra is what a file's ValueInfoProto may carry besides the name and
// type. Writers emit it unchanged.
type ValueExtra struct {
	DocString string
	Metadata  []StringPair
	// Unknown holds the ValueInfoProto fields this version of ONNX does not
	// define, encoded.
	Unknown []byte
}

// IsZero reports whether x is nil or carries nothing.
func (x *ValueExtra) IsZero() bool {
	return x == nil || x.DocString == "" && len(x.Metadata) == 0 && len(x.Unknown) == 0
}

// NewGraph returns an empty graph.
func NewGraph(name string) *Graph {
	return &Graph{Name: name}
}

// Value returns the value called name defined in this graph (not in
// enclosing graphs), or nil.
func (g *Graph) Value(name string) *Value { return g.values.get(name) }

// Lookup finds name in this graph or, failing that, in enclosing graphs.
func (g *Graph) Lookup(name string) *Value {
	for s := g; s != nil; s = s.Parent {
		if v := s.values.get(name); v != nil {
			return v
		}
	}
	return nil
}

// NumValues is the number of named values in the graph.
func (g *Graph) NumValues() int { return g.values.len() }

// EachValue calls f for every value of the graph, in no particular order.
func (g *Graph) EachValue(f func(*Value)) {
	g.values.each(f)
}

// Initializer returns the initializer tensor called name (searching
// enclosing graphs too), or nil.
func (g *Graph) Initializer(name string) *Tensor {
	if v := g.Lookup(name); v != nil {
		return v.Init
	}
	return nil
}

// DataInputs returns the graph inputs that are not initializers: the inputs
// a caller must feed.
func (g *Graph) DataInputs() []*Value {
	var out []*Value
	for _, v := range g.Inputs {
		if v.Init == nil {
			out = append(out, v)
		}
	}
	return out
}

// UniqueName returns a name starting with prefix not yet used in the graph
// or its enclosing graphs.
func (g *Graph) UniqueName(prefix string) string {
	if g.Lookup(prefix) == nil {
		return prefix
	}
	for {
		g.serial++
		name := prefix + "_" + strconv.Itoa(g.serial)
		if g.Lookup(name) == nil {
			return name
		}
	}
}

func (g *Graph) newValue(name string) *Value {
	v := &Value{Name: name, Graph: g}
	g.values.put(v)
	return v
}

// AddInput declares a graph input.
func (g *Graph) AddInput(name string, t *TypeInfo) *Value {
	v := g.values.get(name)
	if v == nil {
		v = g.newValue(name)
	}
	v.Type, v.IsInput = t, true
	g.Inputs = append(g.Inputs, v)
	return v
}

// AddInitializer adds a constant tensor as a named initializer value.
func (g *Graph) AddInitializer(t *Tensor) *Value {
	v := g.values.get(t.Name)
	if v == nil {
		v = g.newValue(t.Name)
	}
	v.Init = t
	if v.Type == nil {
		v.Type = &TypeInfo{Elem: t.DType, Shape: StaticShape(t.Dims)}
	}
	g.Initializers = append(g.Initializers, v)
	return v
}

// AddOutput marks v as a graph output.
func (g *Graph) AddOutput(v *Value) {
	v.IsOutput = true
	g.Outputs = append(g.Outputs, v)
}

// AddNode appends a node computing nOut new values from inputs (nil entries
// are omitted optional inputs). Output names derive from the node's name.
func (g *Graph) AddNode(opType, name string, inputs []*Value, nOut int, attrs ...*Attribute) *Node {
	if name == "" {
		name = g.UniqueName(opType)
	}
	n := &Node{Name: name, OpType: opType, Attrs: attrs, Graph: g, Index: len(g.Nodes)}
	n.Inputs = append([]*Value(nil), inputs...)
	for i, in := range n.Inputs {
		if in != nil {
			in.Uses = append(in.Uses, Use{n, i})
		}
	}
	for i := 0; i < nOut; i++ {
		v := g.newValue(g.UniqueName(name + "_out" + strconv.Itoa(i)))
		v.Producer, v.ProducerIndex = n, i
		n.Outputs = append(n.Outputs, v)
	}
	g.Nodes = append(g.Nodes, n)
	return n
}

// Label names a node for messages: its name, or op type and index when it
// has none.
func (n *Node) Label() string {
	if n.Name != "" {
		return n.Name
	}
	return fmt.Sprintf("%s#%d", n.OpType, n.Index)
}

// DefaultDomain reports whether n's operator is of the default ONNX domain
// ("" or "ai.onnx"), the one whose operators nnkit's schema table, shape
// inference and executor know.
func (n *Node) DefaultDomain() bool { return n.Domain == "" || n.Domain == "ai.onnx" }

// In returns input i, or nil if it is absent or omitted.
func (n *Node) In(i int) *Value {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return nil
}

// Out returns output i, or nil if it is absent or omitted.
func (n *Node) Out(i int) *Value {
	if i < len(n.Outputs) {
		return n.Outputs[i]
	}
	return nil
}

// Subgraphs returns the graphs held in the node's attributes.
func (n *Node) Subgraphs() []*Graph {
	var out []*Graph
	for _, a := range n.Attrs {
		if a.G != nil {
			out = append(out, a.G)
		}
		out = append(out, a.Graphs...)
	}
	return out
}

// Consumers returns the distinct nodes of this graph reading v, in order.
func (v *Value) Consumers() []*Node {
	var out []*Node
	seen := map[*Node]bool{}
	for _, u := range v.Uses {
		if !seen[u.Node] {
			seen[u.Node] = true
			out = append(out, u.Node)
		}
	}
	return out
}

// IsConst reports whether v is an initializer or a Constant node's output.
func (v *Value) IsConst() bool {
	return v.Init != nil || (v.Producer != nil && v.Producer.OpType == "Constant")
}

// ConstTensor returns the constant contents of v (initializer or Constant
// node with a `value` attribute), or nil.
func (v *Value) ConstTensor() *Tensor {
	if v.Init != nil {
		return v.Init
	}
	if v.Producer != nil && v.Producer.OpType == "Constant" {
		n := v.Producer
		if t := n.TensorAttr("value"); t != nil {
			return t
		}
		switch {
		case n.HasAttr("value_float"):
			return NewFloat32("", nil, []float32{n.Float("value_float", 0)})
		case n.HasAttr("value_floats"):
			f := n.Floats("value_floats", nil)
			return NewFloat32("", []int64{int64(len(f))}, f)
		case n.HasAttr("value_int"):
			return NewInt64("", nil, []int64{n.Int("value_int", 0)})
		case n.HasAttr("value_ints"):
			i := n.Ints("value_ints", nil)
			return NewInt64("", []int64{int64(len(i))}, i)
		}
	}
	return nil
}

// Reindex renumbers Node.Index after Nodes was edited.
func (g *Graph) Reindex() {
	for i, n := range g.Nodes {
		n.Index = i
	}
}
