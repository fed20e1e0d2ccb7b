package ir

import "fmt"

// AttrType is an attribute's kind; values are ONNX's AttributeProto numbers.
type AttrType int32

// Attribute kinds.
const (
	AttrUndefined     AttrType = 0
	AttrFloat         AttrType = 1
	AttrInt           AttrType = 2
	AttrString        AttrType = 3
	AttrTensor        AttrType = 4
	AttrGraph         AttrType = 5
	AttrFloats        AttrType = 6
	AttrInts          AttrType = 7
	AttrStrings       AttrType = 8
	AttrTensors       AttrType = 9
	AttrGraphs        AttrType = 10
	AttrSparseTensor  AttrType = 11
	AttrSparseTensors AttrType = 12
	AttrTypeProto     AttrType = 13
	AttrTypeProtos    AttrType = 14
)

var attrTypeNames = map[AttrType]string{
	AttrUndefined: "undefined", AttrFloat: "float", AttrInt: "int", AttrString: "string",
	AttrTensor: "tensor", AttrGraph: "graph", AttrFloats: "floats", AttrInts: "ints",
	AttrStrings: "strings", AttrTensors: "tensors", AttrGraphs: "graphs",
	AttrSparseTensor: "sparse_tensor", AttrSparseTensors: "sparse_tensors",
	AttrTypeProto: "type_proto", AttrTypeProtos: "type_protos",
}

func (a AttrType) String() string {
	if s, ok := attrTypeNames[a]; ok {
		return s
	}
	return fmt.Sprintf("attrtype(%d)", int32(a))
}

// Attribute is one named attribute of a node. Which value field is meaningful
// follows Type. Kinds the IR does not interpret (sparse tensors, type protos)
// keep their encoded AttributeProto in Opaque.
type Attribute struct {
	Name        string
	Type        AttrType
	F           float32
	I           int64
	S           []byte
	T           *Tensor
	G           *Graph
	Floats      []float32
	Ints        []int64
	Strings     [][]byte
	Tensors     []*Tensor
	Graphs      []*Graph
	RefAttrName string
	DocString   string
	// Opaque is the whole encoded AttributeProto for kinds the IR does not
	// model; writers emit it unchanged.
	Opaque  []byte
	Unknown []byte
}

// Attr returns the attribute called name, or nil.
func (n *Node) Attr(name string) *Attribute {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// SetAttr adds or replaces an attribute.
func (n *Node) SetAttr(a *Attribute) {
	for i, b := range n.Attrs {
		if b.Name == a.Name {
			n.Attrs[i] = a
			return
		}
	}
	n.Attrs = append(n.Attrs, a)
}

// The typed getters below return the attribute's value, or def when the node
// has no such attribute. An attribute of another kind is reported by
// CheckAttrs, not here; getters then return def so that callers never see a
// half-read value.

// Int returns an INT attribute.
func (n *Node) Int(name string, def int64) int64 {
	if a := n.Attr(name); a != nil && a.Type == AttrInt {
		return a.I
	}
	return def
}

// Float returns a FLOAT attribute.
func (n *Node) Float(name string, def float32) float32 {
	if a := n.Attr(name); a != nil && a.Type == AttrFloat {
		return a.F
	}
	return def
}

// String returns a STRING attribute.
func (n *Node) String(name string, def string) string {
	if a := n.Attr(name); a != nil && a.Type == AttrString {
		return string(a.S)
	}
	return def
}

// Ints returns an INTS attribute (the node's own slice; do not modify).
func (n *Node) Ints(name string, def []int64) []int64 {
	if a := n.Attr(name); a != nil && a.Type == AttrInts {
		return a.Ints
	}
	return def
}

// Floats returns a FLOATS attribute.
func (n *Node) Floats(name string, def []float32) []float32 {
	if a := n.Attr(name); a != nil && a.Type == AttrFloats {
		return a.Floats
	}
	return def
}

// Strs returns a STRINGS attribute as Go strings.
func (n *Node) Strs(name string, def []string) []string {
	if a := n.Attr(name); a != nil && a.Type == AttrStrings {
		out := make([]string, len(a.Strings))
		for i, s := range a.Strings {
			out[i] = string(s)
		}
		return out
	}
	return def
}

// TensorAttr returns a TENSOR attribute, or nil.
func (n *Node) TensorAttr(name string) *Tensor {
	if a := n.Attr(name); a != nil && a.Type == AttrTensor {
		return a.T
	}
	return nil
}

// HasAttr reports whether the node has an attribute called name.
func (n *Node) HasAttr(name string) bool { return n.Attr(name) != nil }

// CheckAttrs reports attributes whose kind differs from want (a map from
// attribute name to expected kind), as one error naming the node; nil if all
// agree. Attributes not in want are ignored.
func (n *Node) CheckAttrs(want map[string]AttrType) error {
	var errs ErrorList
	for _, a := range n.Attrs {
		if t, ok := want[a.Name]; ok && t != a.Type {
			errs = append(errs, fmt.Errorf("node %s: attribute %q is %s, want %s", n.Label(), a.Name, a.Type, t))
		}
	}
	return errs.Err()
}

// IntAttr, FloatAttr, ... build attributes.
func IntAttr(name string, v int64) *Attribute { return &Attribute{Name: name, Type: AttrInt, I: v} }
func FloatAttr(name string, v float32) *Attribute {
	return &Attribute{Name: name, Type: AttrFloat, F: v}
}
func StringAttr(name, v string) *Attribute {
	return &Attribute{Name: name, Type: AttrString, S: []byte(v)}
}
func IntsAttr(name string, v ...int64) *Attribute {
	return &Attribute{Name: name, Type: AttrInts, Ints: v}
}
func FloatsAttr(name string, v ...float32) *Attribute {
	return &Attribute{Name: name, Type: AttrFloats, Floats: v}
}
func TensorAttr(name string, t *Tensor) *Attribute {
	return &Attribute{Name: name, Type: AttrTensor, T: t}
}
