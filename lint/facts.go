package lint

import (
	"encoding/binary"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/nnkit/nnkit/ir"
)

// Facts is the analysis of one graph that rules share: execution order,
// element types, the weighted layers and what follows each of them,
// normalization and activation nodes, and statistics of the initializers.
// It is computed once per model by NewFacts.
type Facts struct {
	File  string
	Model *ir.Model
	Graph *ir.Graph
	// Order is a topological order of the top-level nodes.
	Order []*ir.Node
	// Layers are the weighted layers in Order.
	Layers []*Layer

	// pos maps node and initializer names to their place in the report
	// order; built on the first diagnostic (posOnce), since most graphs
	// get few and a map of every name of a graph of hundreds of thousands
	// of nodes is a sizeable part of nnlint's memory (issue 9).
	posOnce sync.Once
	pos     map[string]int
	// Value IDs (ValueID): node i's outputs are outStart[i] to
	// outStart[i+1]-1 (i its Graph.Nodes index), graph inputs and
	// initializers follow (otherID). types holds the element types by ID.
	outStart []int32
	otherID  map[*ir.Value]int32
	types    []ir.DType
	layerOf  map[*ir.Node]*Layer

	mu    sync.Mutex
	stats map[*ir.Tensor]*TensorStats

	exportOnce sync.Once
	export     ExportEvidence
}

// LayerKind says what a weighted layer computes.
type LayerKind int

// Layer kinds.
const (
	Linear    LayerKind = iota + 1 // Gemm, or MatMul with a weight (nn.Linear)
	Conv                           // Conv, ConvTranspose
	Recurrent                      // LSTM, GRU, RNN
)

func (k LayerKind) String() string {
	switch k {
	case Linear:
		return "linear"
	case Conv:
		return "conv"
	case Recurrent:
		return "recurrent"
	}
	return "?"
}

// Layer is one weighted layer: an op reading a trainable weight.
type Layer struct {
	Node *ir.Node
	Kind LayerKind
	// Weight is the weight initializer (found through Identity, Transpose
	// and similar nodes the exporter inserts); Weights lists every weight
	// initializer (recurrent layers have input and hidden weights).
	Weight  *ir.Value
	Weights []*ir.Value
	// WeightRef is the name the layer reads its weight by: the weight's name,
	// or the name an eval export's Identity gives a de-duplicated copy
	// (Identity(layers.0.weight) -> layers.2.weight).
	WeightRef string
	// Bias is the bias initializer, nil without one. For MatMul layers the
	// bias is added by a separate Add node, BiasNode.
	Bias     *ir.Value
	BiasNode *ir.Node
	// In is the data input; Out is the output after the bias.
	In, Out *ir.Value
	// FanIn and FanOut follow torch.nn.init._calculate_fan_in_and_fan_out:
	// for a conv weight [out, in/groups, kh, kw], fan_in = in/groups·kh·kw
	// and fan_out = out·kh·kw. Zero when unknown.
	FanIn, FanOut int
	// InitFanIn is fan_in as torch.nn.init computes it from the weight
	// when that is not the signal's: a ConvTranspose weight is
	// [in, out/groups, k…], so torch takes out/groups·Πk while each output
	// sums in/groups·Πk/Πstride terms (FanIn). Zero: same as FanIn.
	InitFanIn int
	Groups    int
	// Folded is set for a Conv whose BatchNorm was folded into its weights
	// by an inference export (weights renamed onnx::Conv_*): its weights are
	// not an initialization and it is followed by an implicit normalization.
	Folded bool
	// Next is what the layer's output feeds: an activation, a
	// normalization, or nothing (linear).
	Next Activation
}

// Name is the weight's name as the layer reads it, else the node's label.
func (l *Layer) Name() string {
	if l.WeightRef != "" {
		return l.WeightRef
	}
	if l.Weight != nil {
		return l.Weight.Name
	}
	return l.Node.Label()
}

// ActKind classifies what follows a layer, for the initialization
// references (He before ReLU-like, Glorot before tanh, LeCun otherwise).
type ActKind string

// Activation kinds.
const (
	ActNone        ActKind = "linear" // nothing (another layer, the output, ...)
	ActNorm        ActKind = "normalization"
	ActReLU        ActKind = "ReLU"
	ActLeakyReLU   ActKind = "LeakyReLU"
	ActGELU        ActKind = "GELU"
	ActSiLU        ActKind = "SiLU"
	ActELU         ActKind = "ELU"
	ActSELU        ActKind = "SELU"
	ActSoftplus    ActKind = "Softplus"
	ActHardSwish   ActKind = "Hardswish"
	ActSigmoid     ActKind = "Sigmoid"
	ActHardSigmoid ActKind = "Hardsigmoid"
	ActTanh        ActKind = "Tanh"
	ActSoftmax     ActKind = "Softmax"
)

// Activation is a classified activation node.
type Activation struct {
	Kind ActKind
	Node *ir.Node
	// Slope is the negative slope of a LeakyReLU.
	Slope float64
}

// NewFacts analyses m. It fails only when the graph has a cycle (a reader
// already rejects such files).
func NewFacts(m *ir.Model, file string) (*Facts, error) {
	g := m.Graph
	order, err := g.TopoOrder()
	if err != nil {
		return nil, err
	}
	f := &Facts{
		File: file, Model: m, Graph: g, Order: order,
		otherID: make(map[*ir.Value]int32, len(g.Inputs)+len(g.Initializers)),
		layerOf: map[*ir.Node]*Layer{},
		stats:   map[*ir.Tensor]*TensorStats{},
	}
	f.inferTypes()
	f.findLayers()
	f.computeStats()
	return f, nil
}

// position is the sort key of a diagnostic's node name.
func (f *Facts) position(name string) int {
	f.posOnce.Do(f.buildPos)
	if p, ok := f.pos[name]; ok {
		return p
	}
	return -1
}

func (f *Facts) buildPos() {
	f.pos = make(map[string]int, len(f.Order)+len(f.Graph.Initializers))
	for i, n := range f.Order {
		if _, dup := f.pos[n.Label()]; !dup {
			f.pos[n.Label()] = i
		}
	}
	for i, v := range f.Graph.Initializers {
		if _, dup := f.pos[v.Name]; !dup {
			f.pos[v.Name] = len(f.Order) + i
		}
	}
}

// Position is the index of node n in Order.
func (f *Facts) Position(n *ir.Node) int { return f.position(n.Label()) }

// LayerOf returns the layer computed by n, or nil.
func (f *Facts) LayerOf(n *ir.Node) *Layer { return f.layerOf[n] }

// ---- element types ---------------------------------------------------------

// inferTypes takes the element types from ir's inference (ir.EachElemType:
// declared types stand). Where it knows nothing (an operator it has no
// shape function for, an untyped input), an output gets its first typed
// input's type, or float32.
func (f *Facts) inferTypes() {
	g := f.Graph
	// Every node is in Order, which sorted the graph and left Node.Index
	// its position in g.Nodes.
	f.outStart = make([]int32, len(g.Nodes)+1)
	for i, n := range g.Nodes {
		f.outStart[i+1] = f.outStart[i] + int32(len(n.Outputs))
	}
	next := f.outStart[len(g.Nodes)]
	f.types = make([]ir.DType, next, int(next)+len(g.Initializers)+len(g.Inputs))
	for _, v := range g.Initializers {
		if _, ok := f.otherID[v]; !ok {
			f.otherID[v] = int32(len(f.types))
			f.types = append(f.types, v.Init.DType)
		}
	}
	for _, v := range g.Inputs {
		if _, ok := f.otherID[v]; !ok {
			f.otherID[v] = int32(len(f.types))
			f.types = append(f.types, v.Elem())
		}
	}
	// EachElemType visits the nodes in topological order, the same as
	// Order: a node's inputs have their types when it is visited.
	ir.EachElemType(f.Model, func(o *ir.Value, d ir.DType) {
		if e := o.Elem(); e != ir.Undefined {
			d = e
		}
		if d == ir.Undefined {
			d = f.firstInputType(o.Producer)
		}
		f.types[f.outStart[o.Producer.Index]+int32(o.ProducerIndex)] = d
	})
}

// NumValueIDs is the number of value IDs: ValueID gives each value of the
// top-level graph (node outputs, graph inputs, initializers) one in
// [0, NumValueIDs), so that rules can keep per-value tables as slices.
func (f *Facts) NumValueIDs() int { return len(f.types) }

// ValueID returns v's ID, and false for a value that has none (nil, or
// not of the top-level graph).
func (f *Facts) ValueID(v *ir.Value) (int, bool) {
	if v == nil {
		return 0, false
	}
	if p := v.Producer; p != nil && p.Graph == f.Graph && p.Index < len(f.Graph.Nodes) && f.Graph.Nodes[p.Index] == p && v.ProducerIndex < len(p.Outputs) && p.Outputs[v.ProducerIndex] == v {
		return int(f.outStart[p.Index]) + v.ProducerIndex, true
	}
	if id, ok := f.otherID[v]; ok {
		return int(id), true
	}
	return 0, false
}

// firstInputType is the type of n's first input of known type, or float32.
func (f *Facts) firstInputType(n *ir.Node) ir.DType {
	for _, in := range n.Inputs {
		if d := f.DType(in); in != nil && d != ir.Undefined {
			return d
		}
	}
	return ir.Float32
}

// DType is the element type of v (declared, or inferred from its
// producer), Undefined if nothing is known.
func (f *Facts) DType(v *ir.Value) ir.DType {
	if v == nil {
		return ir.Undefined
	}
	if id, ok := f.ValueID(v); ok {
		return f.types[id]
	}
	return v.Elem()
}

// IsData reports whether v is floating-point data computed from the inputs
// (not an initializer or constant): what gradients flow through.
func (f *Facts) IsData(v *ir.Value) bool {
	if v == nil || v.Init != nil || v.IsConst() {
		return false
	}
	return f.DType(v).IsFloat()
}

// nonDiff lists ops whose outputs carry no gradient to their inputs.
var nonDiff = map[string]bool{
	"Shape": true, "Size": true, "NonZero": true, "ArgMax": true, "ArgMin": true,
	"Equal": true, "Less": true, "Greater": true, "LessOrEqual": true, "GreaterOrEqual": true,
	"Not": true, "And": true, "Or": true, "Xor": true, "IsNaN": true, "IsInf": true,
	"Floor": true, "Ceil": true, "Round": true, "Sign": true, "ConstantOfShape": true,
	"Range": true, "EyeLike": true, "RandomNormalLike": true, "RandomUniformLike": true,
	"Bernoulli": true, "OneHot": true,
}

// configSlots lists input positions that carry configuration (shapes,
// indices, bounds, ratios), not data gradients flow through.
var configSlots = map[string][]int{
	"Reshape": {1}, "Expand": {1}, "Tile": {1}, "Slice": {1, 2, 3, 4},
	"Gather": {1}, "GatherElements": {1}, "GatherND": {1}, "ScatterElements": {1},
	"ScatterND": {1}, "Unsqueeze": {1}, "Squeeze": {1}, "ReduceSum": {1},
	"ReduceMean": {1}, "ReduceMax": {1}, "ReduceMin": {1}, "ReduceProd": {1},
	"ReduceL2": {1}, "Split": {1}, "Pad": {1, 2, 3}, "Resize": {1, 2, 3},
	"Upsample": {1}, "TopK": {1}, "Clip": {1, 2}, "Dropout": {1, 2}, "Where": {0},
	"CumSum": {1}, "Trilu": {1}, "BatchNormalization": {3, 4}, "Pow": {1},
}

// DataSlots returns the input positions of n through which gradients flow
// from n's outputs back to computed data.
func (f *Facts) DataSlots(n *ir.Node) []int {
	if nonDiff[n.OpType] {
		return nil
	}
	var out []int
outer:
	for i, in := range n.Inputs {
		if !f.IsData(in) {
			continue
		}
		for _, s := range configSlots[n.OpType] {
			if s == i {
				continue outer
			}
		}
		out = append(out, i)
	}
	return out
}

// ---- constants ------------------------------------------------------------

// ConstScalar returns the value of a constant scalar (or one-element)
// tensor v, and whether it is one.
func ConstScalar(v *ir.Value) (float64, bool) {
	if v == nil {
		return 0, false
	}
	t := v.ConstTensor()
	if t == nil || t.Len() != 1 {
		return 0, false
	}
	x, err := t.Float64s()
	if err != nil || len(x) != 1 {
		return 0, false
	}
	return x[0], true
}

// ---- layers ---------------------------------------------------------------

// ResolveParams follows v back through the nodes exporters put between a
// weight and its consumer (Identity, Transpose, Reshape, Slice, Concat,
// Unsqueeze, ...) to the float initializers it is made of. transposed says
// whether a single 2-D weight reaches v transposed.
func ResolveParams(v *ir.Value) (inits []*ir.Value, transposed bool) {
	seen := map[*ir.Value]bool{}
	var walk func(v *ir.Value, depth int, tr bool)
	walk = func(v *ir.Value, depth int, tr bool) {
		if v == nil || seen[v] || depth > 24 {
			return
		}
		seen[v] = true
		if v.Init != nil {
			if v.Init.DType.IsFloat() {
				inits = append(inits, v)
				transposed = tr
			}
			return
		}
		p := v.Producer
		if p == nil {
			return
		}
		switch p.OpType {
		case "Identity", "Cast", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Slice", "Gather", "Split":
			walk(p.In(0), depth+1, tr)
		case "Transpose":
			walk(p.In(0), depth+1, !tr)
		case "Concat":
			for _, in := range p.Inputs {
				walk(in, depth+1, tr)
			}
		}
	}
	walk(v, 0, false)
	return inits, transposed
}

func dimsProd(d []int64) int {
	p := 1
	for _, x := range d {
		p *= int(x)
	}
	return p
}

func (f *Facts) findLayers() {
	for _, n := range f.Order {
		var l *Layer
		switch n.OpType {
		case "Gemm", "MatMul":
			if !f.IsData(n.In(0)) {
				continue
			}
			ws, tr := ResolveParams(n.In(1))
			if len(ws) != 1 || len(ws[0].Init.Dims) < 2 {
				continue
			}
			w := ws[0]
			d := append([]int64(nil), w.Init.Dims...)
			if tr && len(d) == 2 {
				d[0], d[1] = d[1], d[0]
			}
			in, out := d[len(d)-2], d[len(d)-1] // B as the op reads it: [in, out]
			if n.OpType == "Gemm" && n.Int("transB", 0) == 1 {
				in, out = out, in
			}
			l = &Layer{Node: n, Kind: Linear, Weight: w, Weights: ws, In: n.In(0), Out: n.Out(0),
				FanIn: int(in), FanOut: int(out), Groups: 1}
			if n.OpType == "Gemm" {
				if bs, _ := ResolveParams(n.In(2)); len(bs) == 1 {
					l.Bias = bs[0]
				}
			} else if o := n.Out(0); o != nil && len(o.Uses) == 1 && o.Uses[0].Node.OpType == "Add" {
				add := o.Uses[0].Node
				other := add.In(1 - o.Uses[0].Index)
				if bs, _ := ResolveParams(other); len(bs) == 1 && !f.IsData(other) {
					l.Bias, l.BiasNode, l.Out = bs[0], add, add.Out(0)
				}
			}
		case "Conv", "ConvTranspose":
			if !f.IsData(n.In(0)) {
				continue
			}
			ws, _ := ResolveParams(n.In(1))
			if len(ws) != 1 || len(ws[0].Init.Dims) < 3 {
				continue
			}
			w := ws[0]
			d := w.Init.Dims
			rf := dimsProd(d[2:])
			l = &Layer{Node: n, Kind: Conv, Weight: w, Weights: ws, In: n.In(0), Out: n.Out(0),
				FanIn: int(d[1]) * rf, FanOut: int(d[0]) * rf, Groups: int(n.Int("group", 1))}
			if bs, _ := ResolveParams(n.In(2)); len(bs) == 1 {
				l.Bias = bs[0]
			}
			l.Folded = n.OpType == "Conv" && strings.HasPrefix(w.Name, "onnx::")
			if n.OpType == "ConvTranspose" && l.Groups > 0 {
				stride := int64(1)
				for _, s := range n.Ints("strides", nil) {
					stride *= max(s, 1)
				}
				l.InitFanIn = l.FanIn
				l.FanIn = max(1, int(math.Round(float64(int(d[0])/l.Groups*rf)/float64(stride))))
			}
		case "LSTM", "GRU", "RNN":
			if !f.IsData(n.In(0)) {
				continue
			}
			var ws []*ir.Value
			for _, i := range []int{1, 2} {
				p, _ := ResolveParams(n.In(i))
				ws = append(ws, p...)
			}
			if len(ws) == 0 {
				continue
			}
			l = &Layer{Node: n, Kind: Recurrent, Weight: ws[0], Weights: ws, In: n.In(0), Out: n.Out(0), Groups: 1}
			if bs, _ := ResolveParams(n.In(3)); len(bs) > 0 {
				l.Bias = bs[0]
			}
		}
		if l == nil || l.Out == nil {
			continue
		}
		if v := n.In(1); v != nil && v.Producer != nil && v.Producer.OpType == "Identity" {
			l.WeightRef = v.Name
		}
		l.Next = f.following(l.Out)
		f.Layers = append(f.Layers, l)
		f.layerOf[n] = l
	}
}

// passThrough lists ops that neither learn nor change the scale of their
// data input much: walking forward from a layer goes through them to find
// the activation that follows.
var passThrough = map[string]bool{
	"Identity": true, "Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true,
	"Transpose": true, "Dropout": true, "Cast": true, "MaxPool": true, "AveragePool": true,
	"GlobalAveragePool": true, "GlobalMaxPool": true, "Pad": true, "Slice": true, "Split": true,
	"Concat": true, "Gather": true, "Expand": true, "Tile": true, "Upsample": true, "Resize": true,
	"ReduceMean": true, "ReduceMax": true,
}

// elementwiseConst are binary ops that, with a constant other operand, shift
// or scale data (a bias Add, GELU's division by √2).
var elementwiseConst = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true}

// Transparent reports whether n passes its data input through without
// learning or a nonlinearity (reshapes, pooling, dropout, adding or
// multiplying a constant, subtracting the input's own mean as a decomposed
// LayerNorm does).
func (f *Facts) Transparent(n *ir.Node) bool {
	if passThrough[n.OpType] {
		return true
	}
	if n.OpType == "Sub" {
		if m := n.In(1); m != nil && m.Producer != nil && m.Producer.OpType == "ReduceMean" && m.Producer.In(0) == n.In(0) {
			return true
		}
	}
	if elementwiseConst[n.OpType] && len(n.Inputs) == 2 {
		return f.IsData(n.In(0)) != f.IsData(n.In(1))
	}
	return false
}

// following finds what v feeds, walking forward through transparent nodes:
// a normalization wins over an activation, which wins over nothing.
func (f *Facts) following(v *ir.Value) Activation {
	var found []Activation
	seen := map[*ir.Value]bool{}
	queue := []*ir.Value{v}
	for len(queue) > 0 && len(seen) < 64 {
		v := queue[0]
		queue = queue[1:]
		if seen[v] {
			continue
		}
		seen[v] = true
		for _, u := range v.Uses {
			n := u.Node
			if n.Graph != f.Graph {
				continue
			}
			if f.IsNorm(n) {
				found = append(found, Activation{Kind: ActNorm, Node: n})
				continue
			}
			if a, ok := f.Act(n); ok {
				found = append(found, a)
				continue
			}
			if f.Transparent(n) && f.layerOf[n] == nil {
				for _, o := range n.Outputs {
					if f.IsData(o) {
						queue = append(queue, o)
					}
				}
			}
		}
	}
	for _, a := range found {
		if a.Kind == ActNorm {
			return a
		}
	}
	if len(found) > 0 {
		return found[0]
	}
	return Activation{Kind: ActNone}
}

// Act classifies n as an activation function.
func (f *Facts) Act(n *ir.Node) (Activation, bool) {
	a := Activation{Node: n}
	switch n.OpType {
	case "Relu", "ThresholdedRelu":
		a.Kind = ActReLU
	case "LeakyRelu":
		a.Kind, a.Slope = ActLeakyReLU, float64(n.Float("alpha", 0.01))
	case "PRelu":
		a.Kind, a.Slope = ActLeakyReLU, 0.25
		if t := n.In(1); t != nil && t.Init != nil {
			if s := f.Stats(t.Init); s.N > 0 {
				a.Slope = s.Mean
			}
		}
	case "Elu", "Celu":
		a.Kind = ActELU
	case "Selu":
		a.Kind = ActSELU
	case "Gelu", "Erf":
		a.Kind = ActGELU
	case "Softplus", "Mish":
		a.Kind = ActSoftplus
	case "HardSwish":
		a.Kind = ActHardSwish
	case "Sigmoid":
		a.Kind = ActSigmoid
		if f.IsSiLU(n) {
			a.Kind = ActSiLU
		}
	case "HardSigmoid":
		a.Kind = ActHardSigmoid
	case "Tanh", "Softsign":
		a.Kind = ActTanh
	case "Softmax", "LogSoftmax":
		a.Kind = ActSoftmax
	case "Clip":
		lo, ok := ConstScalar(n.In(1))
		if n.In(1) == nil {
			lo, ok = float64(n.Float("min", float32(math.Inf(-1)))), n.HasAttr("min")
		}
		if ok && lo >= 0 {
			a.Kind = ActReLU // ReLU6 = Clip(0, 6)
		} else {
			a.Kind = ActTanh // Hardtanh
		}
	default:
		return a, false
	}
	return a, true
}

// IsSiLU reports whether Sigmoid node n is the gate of x·sigmoid(x).
func (f *Facts) IsSiLU(n *ir.Node) bool {
	x := n.In(0)
	o := n.Out(0)
	if x == nil || o == nil {
		return false
	}
	for _, u := range o.Uses {
		if u.Node.OpType == "Mul" && u.Node.In(1-u.Index) == x {
			return true
		}
	}
	return false
}

// IsNorm reports whether n normalizes activations: BatchNormalization,
// InstanceNormalization (PyTorch's GroupNorm export), LayerNormalization,
// GroupNormalization, MeanVarianceNormalization, or the Div that ends a
// decomposed LayerNorm/RMSNorm (x−mean)/√(var+eps) as PyTorch exports it
// before opset 17.
func (f *Facts) IsNorm(n *ir.Node) bool {
	switch n.OpType {
	case "BatchNormalization", "InstanceNormalization", "LayerNormalization",
		"GroupNormalization", "MeanVarianceNormalization", "SimplifiedLayerNormalization":
		return true
	case "Div":
		return f.IsData(n.In(0)) && fromReducedSqrt(n.In(1), false)
	case "Mul":
		for i := 0; i < 2; i++ {
			if p := n.In(i); p != nil && p.Producer != nil && p.Producer.OpType == "Reciprocal" &&
				f.IsData(n.In(1-i)) && fromReducedSqrt(p.Producer.In(0), false) {
				return true
			}
		}
	}
	return false
}

// fromReducedSqrt reports whether v = Sqrt([Add eps](ReduceMean(...))).
func fromReducedSqrt(v *ir.Value, sawSqrt bool) bool {
	for i := 0; i < 4 && v != nil && v.Producer != nil; i++ {
		p := v.Producer
		switch p.OpType {
		case "Sqrt":
			sawSqrt = true
			v = p.In(0)
		case "Add":
			if p.In(0) != nil && p.In(0).IsConst() {
				v = p.In(1)
			} else {
				v = p.In(0)
			}
		case "ReduceMean":
			return sawSqrt
		default:
			return false
		}
	}
	return false
}

// NormName names a normalization node for messages.
func NormName(n *ir.Node) string {
	switch n.OpType {
	case "Div", "Mul":
		return "LayerNorm (decomposed)"
	case "InstanceNormalization":
		return "InstanceNorm/GroupNorm"
	}
	return n.OpType
}

// InitReference is the weight standard deviation that keeps activation
// variance steady through a layer followed by act (the criteria of
// TheDeepChecker): He √(2/fan_in) before ReLU-like activations
// (√(2/((1+a²)·fan_in)) for LeakyReLU), Glorot √(2/(fan_in+fan_out)) before
// tanh, LeCun √(1/fan_in) before sigmoid, SELU and where no nonlinearity
// follows.
func InitReference(a Activation, fanIn, fanOut int) (std float64, name string) {
	fi, fo := float64(fanIn), float64(fanOut)
	switch a.Kind {
	case ActReLU, ActGELU, ActSiLU, ActELU, ActSoftplus, ActHardSwish:
		return math.Sqrt(2 / fi), "He √(2/fan_in)"
	case ActLeakyReLU:
		return math.Sqrt(2 / ((1 + a.Slope*a.Slope) * fi)), "He √(2/((1+a²)·fan_in))"
	case ActTanh:
		return math.Sqrt(2 / (fi + fo)), "Glorot √(2/(fan_in+fan_out))"
	}
	return math.Sqrt(1 / fi), "LeCun √(1/fan_in)"
}

// ---- initializer statistics ------------------------------------------------

// TensorStats summarizes a float tensor's values.
type TensorStats struct {
	N         int
	Mean, Std float64 // over finite values
	Min, Max  float64 // over finite values
	NaN, Inf  int
	// Constant: N > 0, no NaN, and all values are equal.
	Constant bool
}

// Stats returns (and caches) the statistics of a float tensor; the zero
// TensorStats for other tensors.
func (f *Facts) Stats(t *ir.Tensor) TensorStats {
	f.mu.Lock()
	s, ok := f.stats[t]
	f.mu.Unlock()
	if ok {
		return *s
	}
	s = computeStats(t)
	f.mu.Lock()
	f.stats[t] = s
	f.mu.Unlock()
	return *s
}

// computeStats is eager for every float initializer, one goroutine per
// available CPU splitting the tensors (most of a static lint's time on big
// models).
func (f *Facts) computeStats() {
	var ts []*ir.Tensor
	total := 0
	for _, v := range f.Graph.Initializers {
		if v.Init.DType.IsFloat() {
			ts = append(ts, v.Init)
			total += len(v.Init.Raw)
		}
	}
	if total < 1<<20 {
		for _, t := range ts {
			f.stats[t] = computeStats(t)
		}
		return
	}
	// Hand out tensors largest-first, so that no worker is left with a big
	// one at the end while the others idle.
	sort.SliceStable(ts, func(i, j int) bool { return len(ts[i].Raw) > len(ts[j].Raw) })
	res := make([]*TensorStats, len(ts))
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(ts)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(ts) {
					return
				}
				res[i] = computeStats(ts[i])
			}
		}()
	}
	wg.Wait()
	for i, t := range ts {
		f.stats[t] = res[i]
	}
}

func computeStats(t *ir.Tensor) *TensorStats {
	s := &TensorStats{}
	if !t.DType.IsFloat() {
		return s
	}
	var sum, sumsq float64
	lo, hi := math.Inf(1), math.Inf(-1)
	first, constant := math.NaN(), true
	add := func(x float64) {
		switch {
		case math.IsNaN(x):
			s.NaN++
			constant = false
			return
		case math.IsInf(x, 0):
			s.Inf++
		default:
			sum += x
			sumsq += x * x
			lo = math.Min(lo, x)
			hi = math.Max(hi, x)
		}
		if s.N == 0 {
			first = x
		} else if x != first {
			constant = false
		}
		s.N++
	}
	if t.DType == ir.Float32 && len(t.Raw) == 4*int(t.Len()) && len(t.Raw) > 0 {
		// The hot path (every float initializer of the model): a tight loop
		// over the little-endian bits, no per-element calls, its sums and
		// counts in locals (not the variables add shares, which live in
		// memory); the same additions in the same order as add's.
		raw := t.Raw
		fx := math.Float32frombits(binary.LittleEndian.Uint32(raw))
		lo32, hi32 := float32(math.Inf(1)), float32(math.Inf(-1))
		var fsum, fsumsq float64
		var n, nan, inf int
		same := true
		for i := 0; i+4 <= len(raw); i += 4 {
			bits := binary.LittleEndian.Uint32(raw[i:])
			x := math.Float32frombits(bits)
			if bits&0x7f800000 == 0x7f800000 { // NaN or ±Inf
				if bits&0x007fffff != 0 {
					nan++
					same = false
					continue
				}
				inf++
			} else {
				if x < lo32 {
					lo32 = x
				}
				if x > hi32 {
					hi32 = x
				}
				xd := float64(x)
				fsum += xd
				fsumsq += xd * xd
			}
			if x != fx {
				same = false
			}
			n++
		}
		lo, hi = float64(lo32), float64(hi32)
		sum, sumsq, constant = fsum, fsumsq, same
		s.N, s.NaN, s.Inf = n, nan, inf
	} else if xs, err := t.Float64s(); err == nil {
		for _, x := range xs {
			add(x)
		}
	}
	finite := s.N - s.Inf
	if finite > 0 {
		s.Mean = sum / float64(finite)
		s.Std = math.Sqrt(math.Max(0, sumsq/float64(finite)-s.Mean*s.Mean))
		s.Min, s.Max = lo, hi
	}
	s.Constant = s.N > 0 && constant
	return s
}

// IdenticalRows reports whether a weight of two or more output units
// (rows of dim 0) has every row equal to the first: units that start equal
// get equal gradients and stay equal.
func IdenticalRows(t *ir.Tensor) bool {
	if len(t.Dims) < 2 || t.Dims[0] < 2 || len(t.Raw) == 0 || t.Len() <= 0 {
		return false
	}
	row := len(t.Raw) / int(t.Dims[0])
	if row == 0 || row*int(t.Dims[0]) != len(t.Raw) {
		return false
	}
	first := t.Raw[:row]
	for i := 1; i < int(t.Dims[0]); i++ {
		r := t.Raw[i*row : (i+1)*row]
		for j := range r {
			if r[j] != first[j] {
				return false
			}
		}
	}
	return true
}
