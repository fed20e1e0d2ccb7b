package ir

import (
	"fmt"
	"sort"
	"strings"
)

// Operator schemas: for the default-domain operators nnkit runs or infers,
// how many inputs and outputs a node may list and which attributes of which
// kinds it may carry, per opset version, as the ONNX operator specification
// (the onnx repository's docs/Operators.md and onnx/defs) defines them. CheckSchemas enforces them
// when a model is read, as onnx.checker does, so that nothing downstream
// sees a Relu with two outputs or a misspelled attribute it would silently
// ignore. Operators not in the table (other domains, operators nnkit does
// not know) are left to the executor's and the linter's "unsupported
// operator" reports.

// Supported default-domain opset and IR versions. The lower bounds are what
// PyTorch's exporter can produce (opset 7, IR 3, the first with opset
// imports); the upper bounds are the last versions whose operator changes
// the table below covers (opset 22 and IR 10 are ONNX 1.17's).
const (
	MinOpset     = 7
	MaxOpset     = 22
	MinIRVersion = 3
	MaxIRVersion = 10
)

// Unbounded is OpVersion.MaxIn/MaxOut for variadic operators.
const Unbounded = -1

// AttrSpec is one attribute an operator accepts.
type AttrSpec struct {
	Name string
	Type AttrType
}

// OpVersion is an operator's signature from opset From until the next
// version in its schema.
type OpVersion struct {
	From           int64
	MinIn, MaxIn   int
	MinOut, MaxOut int
	Attrs          []AttrSpec
	// Removed marks the opset from which the operator is deprecated (ONNX
	// removes it from the opset: Upsample at 10, replaced by Resize).
	Removed bool
}

// Attr returns the attribute spec called name, or nil.
func (v *OpVersion) Attr(name string) *AttrSpec {
	for i := range v.Attrs {
		if v.Attrs[i].Name == name {
			return &v.Attrs[i]
		}
	}
	return nil
}

// schemas maps an op type to its versions, sorted by From.
var schemas = map[string][]OpVersion{}

// LookupSchema returns the signature of a default-domain operator at an
// opset version. known is false for operators not in the table; v is nil
// when the operator is known but did not exist yet at that opset.
func LookupSchema(op string, opset int64) (v *OpVersion, known bool) {
	vs, ok := schemas[op]
	if !ok {
		return nil, false
	}
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].From <= opset {
			if vs[i].Removed {
				return nil, true
			}
			return &vs[i], true
		}
	}
	return nil, true
}

// SchemaOps lists the operators with a schema.
func SchemaOps() []string {
	out := make([]string, 0, len(schemas))
	for op := range schemas {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// CheckNode checks one default-domain node against its schema at opset:
// input and output counts, attribute names and kinds. Nodes of other
// domains and unknown operators pass.
func CheckNode(n *Node, opset int64) error {
	if !n.DefaultDomain() {
		return nil
	}
	v, known := LookupSchema(n.OpType, opset)
	if !known {
		return nil
	}
	where := func() string { return fmt.Sprintf("node %s (%s)", n.Label(), n.OpType) }
	if v == nil {
		vs := schemas[n.OpType]
		if last := vs[len(vs)-1]; last.Removed && last.From <= opset {
			return fmt.Errorf("%s: %s was deprecated in opset %d and does not exist at opset %d", where(), n.OpType, last.From, opset)
		}
		return fmt.Errorf("%s: %s does not exist at opset %d (it was added in opset %d)", where(), n.OpType, opset, vs[0].From)
	}
	var errs ErrorList
	count := func(what string, have, lo, hi int) {
		if have >= lo && (hi == Unbounded || have <= hi) {
			return // the common case: nothing to format
		}
		has := fmt.Sprintf("has %d %s", have, what)
		if have == 1 {
			has = fmt.Sprintf("has 1 %s", strings.TrimSuffix(what, "s"))
		}
		switch {
		case have < lo && lo == hi:
			errs.Add(fmt.Errorf("%s: %s, %s at opset %d takes exactly %d", where(), has, n.OpType, opset, lo))
		case have < lo:
			errs.Add(fmt.Errorf("%s: %s, %s at opset %d needs at least %d", where(), has, n.OpType, opset, lo))
		case hi != Unbounded && have > hi && lo == hi:
			errs.Add(fmt.Errorf("%s: %s, %s at opset %d takes exactly %d", where(), has, n.OpType, opset, hi))
		case hi != Unbounded && have > hi:
			errs.Add(fmt.Errorf("%s: %s, %s at opset %d takes at most %d", where(), has, n.OpType, opset, hi))
		}
	}
	// Trailing empty names are omitted optional values, not extra ones.
	nin := len(n.Inputs)
	for nin > 0 && n.Inputs[nin-1] == nil {
		nin--
	}
	nout := len(n.Outputs)
	for nout > v.MinOut && nout > 0 && n.Outputs[nout-1] == nil {
		nout--
	}
	count("inputs", nin, v.MinIn, v.MaxIn)
	count("outputs", nout, v.MinOut, v.MaxOut)
	// Required inputs must not be empty names.
	for i := 0; i < v.MinIn && i < len(n.Inputs); i++ {
		if n.Inputs[i] == nil && !optionalWithin(n.OpType, i) {
			errs.Add(fmt.Errorf("%s: required input %d is empty", where(), i))
		}
	}
	for _, a := range n.Attrs {
		if a.RefAttrName != "" {
			continue // a function body's reference, resolved by the caller
		}
		s := v.Attr(a.Name)
		if s == nil {
			msg := fmt.Sprintf("%s: unknown attribute %q for %s at opset %d", where(), a.Name, n.OpType, opset)
			if near := nearestAttr(v, a.Name); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			} else if len(v.Attrs) == 0 {
				msg += "; it takes no attributes"
			} else {
				msg += "; it takes " + attrNames(v)
			}
			errs.Add(fmt.Errorf("%s", msg))
			continue
		}
		if a.Type != s.Type {
			errs.Add(fmt.Errorf("%s: attribute %q is %s, want %s", where(), a.Name, a.Type, s.Type))
		}
	}
	return errs.Err()
}

// optionalWithin reports inputs within MinIn that may still be empty
// names: Resize at opsets 11 and 12 lists roi and scales as required, but
// exporters leave roi (and, with sizes, scales) empty and ONNX Runtime
// accepts it.
func optionalWithin(op string, i int) bool { return op == "Resize" && (i == 1 || i == 2) }

func attrNames(v *OpVersion) string {
	names := make([]string, len(v.Attrs))
	for i, a := range v.Attrs {
		names[i] = a.Name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// nearestAttr suggests an accepted attribute within edit distance 2.
func nearestAttr(v *OpVersion, name string) string {
	best, bestD := "", 3
	for _, a := range v.Attrs {
		if d := editDistance(strings.ToLower(name), strings.ToLower(a.Name), bestD); d < bestD {
			best, bestD = a.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is
// at least limit (or the strings are long).
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

// CheckSchemas checks every default-domain node of the model, subgraphs
// included, against the operator schemas at the model's opset, and the
// opset and IR versions against the range nnkit supports. All problems are
// returned together.
func (m *Model) CheckSchemas() error {
	var errs ErrorList
	opset := m.Opset("")
	if opset != 0 && (opset < MinOpset || opset > MaxOpset) {
		errs.Add(fmt.Errorf("default-domain opset %d is outside the range nnkit supports (%d to %d); re-export with torch.onnx.export(..., opset_version=%d or so)", opset, MinOpset, MaxOpset, min(max(opset, 13), 17)))
		return errs.Err() // every node would be reported against a version nnkit does not know
	}
	if m.IRVersion > MaxIRVersion {
		errs.Add(fmt.Errorf("ir_version %d is newer than nnkit supports (%d to %d)", m.IRVersion, MinIRVersion, MaxIRVersion))
	} else if m.IRVersion > 0 && m.IRVersion < MinIRVersion {
		errs.Add(fmt.Errorf("ir_version %d is older than nnkit supports (%d to %d)", m.IRVersion, MinIRVersion, MaxIRVersion))
	}
	if m.Graph == nil || opset == 0 {
		return errs.Err()
	}
	var walk func(g *Graph)
	walk = func(g *Graph) {
		for _, n := range g.Nodes {
			errs.Add(CheckNode(n, opset))
			for _, a := range n.Attrs {
				if a.G != nil {
					walk(a.G)
				}
				for _, sg := range a.Graphs {
					walk(sg)
				}
			}
		}
	}
	walk(m.Graph)
	return errs.Err()
}

// ---- the table ----

// def adds a version of op from opset from: inputs in[0]..in[1], outputs
// out[0]..out[1] (Unbounded for variadic), and attributes written
// "name:kind".
func def(op string, from int64, in, out [2]int, attrs ...string) {
	v := OpVersion{From: from, MinIn: in[0], MaxIn: in[1], MinOut: out[0], MaxOut: out[1]}
	for _, a := range attrs {
		for _, f := range strings.Fields(a) {
			name, kind, ok := strings.Cut(f, ":")
			t, known := attrKinds[kind]
			if !ok || !known {
				panic("ir: bad schema attribute " + f + " of " + op)
			}
			v.Attrs = append(v.Attrs, AttrSpec{name, t})
		}
	}
	vs := append(schemas[op], v)
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].From < vs[j].From })
	schemas[op] = vs
}

// removed marks op as deprecated from opset from on.
func removed(op string, from int64) {
	schemas[op] = append(schemas[op], OpVersion{From: from, Removed: true})
}

var attrKinds = map[string]AttrType{
	"float": AttrFloat, "int": AttrInt, "string": AttrString, "tensor": AttrTensor,
	"graph": AttrGraph, "floats": AttrFloats, "ints": AttrInts, "strings": AttrStrings,
	"sparse_tensor": AttrSparseTensor,
}

func span(lo, hi int) [2]int { return [2]int{lo, hi} }

var (
	one    = span(1, 1)
	two    = span(2, 2)
	three  = span(3, 3)
	many   = span(1, Unbounded)
	oneOut = span(1, 1)
)

func init() {
	// Element-wise unary operators without attributes. Every one of these
	// existed at opset 7 unless noted.
	for _, op := range []string{"Abs", "Ceil", "Exp", "Floor", "Log", "Neg", "Reciprocal",
		"Relu", "Sigmoid", "Sqrt", "Tanh", "Softplus", "Softsign", "Not", "Identity",
		"Sin", "Cos", "Tan", "Asin", "Acos", "Atan"} {
		def(op, 1, one, oneOut)
	}
	def("Sign", 9, one, oneOut)
	def("Erf", 9, one, oneOut)
	def("Sinh", 9, one, oneOut)
	def("Cosh", 9, one, oneOut)
	def("Asinh", 9, one, oneOut)
	def("Acosh", 9, one, oneOut)
	def("Atanh", 9, one, oneOut)
	def("IsNaN", 9, one, oneOut)
	def("IsInf", 10, one, oneOut, "detect_negative:int detect_positive:int")
	def("Round", 11, one, oneOut)
	def("HardSwish", 14, one, oneOut)
	def("Mish", 18, one, oneOut)
	def("Gelu", 20, one, oneOut, "approximate:string")
	def("Elu", 1, one, oneOut, "alpha:float")
	def("Celu", 12, one, oneOut, "alpha:float")
	def("LeakyRelu", 1, one, oneOut, "alpha:float")
	def("ThresholdedRelu", 10, one, oneOut, "alpha:float")
	def("Selu", 1, one, oneOut, "alpha:float gamma:float")
	def("HardSigmoid", 1, one, oneOut, "alpha:float beta:float")
	def("Shrink", 9, one, oneOut, "bias:float lambd:float")
	def("PRelu", 1, two, oneOut)
	def("Clip", 1, one, oneOut, "max:float min:float")
	def("Clip", 11, span(1, 3), oneOut)
	for _, op := range []string{"Softmax", "LogSoftmax", "Hardmax"} {
		def(op, 1, one, oneOut, "axis:int")
	}

	// Element-wise binary operators (the legacy broadcast/axis attributes
	// are gone since opset 7).
	for _, op := range []string{"Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor",
		"Equal", "Greater", "Less"} {
		def(op, 1, two, oneOut)
	}
	def("GreaterOrEqual", 12, two, oneOut)
	def("LessOrEqual", 12, two, oneOut)
	def("Mod", 10, two, oneOut, "fmod:int")
	def("BitShift", 11, two, oneOut, "direction:string")
	for _, op := range []string{"Max", "Min", "Sum", "Mean"} {
		def(op, 1, many, oneOut)
	}
	def("Where", 9, three, oneOut)

	// Linear algebra.
	def("MatMul", 1, two, oneOut)
	def("Gemm", 7, span(3, 3), oneOut, "alpha:float beta:float transA:int transB:int")
	def("Gemm", 11, span(2, 3), oneOut, "alpha:float beta:float transA:int transB:int")
	def("Einsum", 12, many, oneOut, "equation:string")

	// Convolution and pooling.
	conv := "auto_pad:string dilations:ints group:int kernel_shape:ints pads:ints strides:ints"
	def("Conv", 1, span(2, 3), oneOut, conv)
	def("ConvTranspose", 1, span(2, 3), oneOut, conv, "output_padding:ints output_shape:ints")
	def("MaxPool", 8, one, span(1, 2), "auto_pad:string kernel_shape:ints pads:ints storage_order:int strides:ints")
	def("MaxPool", 10, one, span(1, 2), "auto_pad:string ceil_mode:int dilations:ints kernel_shape:ints pads:ints storage_order:int strides:ints")
	def("MaxPool", 1, one, oneOut, "auto_pad:string kernel_shape:ints pads:ints strides:ints")
	def("AveragePool", 7, one, oneOut, "auto_pad:string count_include_pad:int kernel_shape:ints pads:ints strides:ints")
	def("AveragePool", 10, one, oneOut, "auto_pad:string ceil_mode:int count_include_pad:int kernel_shape:ints pads:ints strides:ints")
	def("AveragePool", 19, one, oneOut, "auto_pad:string ceil_mode:int count_include_pad:int dilations:ints kernel_shape:ints pads:ints strides:ints")
	def("LpPool", 2, one, oneOut, "auto_pad:string kernel_shape:ints p:int pads:ints strides:ints")
	def("LpPool", 18, one, oneOut, "auto_pad:string ceil_mode:int dilations:ints kernel_shape:ints p:int pads:ints strides:ints")
	def("GlobalAveragePool", 1, one, oneOut)
	def("GlobalMaxPool", 1, one, oneOut)
	def("GlobalLpPool", 2, one, oneOut, "p:int")

	// Normalization.
	def("BatchNormalization", 7, span(5, 5), span(1, 5), "epsilon:float momentum:float spatial:int")
	def("BatchNormalization", 9, span(5, 5), span(1, 5), "epsilon:float momentum:float")
	def("BatchNormalization", 14, span(5, 5), span(1, 3), "epsilon:float momentum:float training_mode:int")
	def("InstanceNormalization", 1, three, oneOut, "epsilon:float")
	def("LayerNormalization", 17, span(2, 3), span(1, 3), "axis:int epsilon:float stash_type:int")
	def("GroupNormalization", 18, three, oneOut, "epsilon:float num_groups:int")
	def("GroupNormalization", 21, three, oneOut, "epsilon:float num_groups:int stash_type:int")
	def("LpNormalization", 1, one, oneOut, "axis:int p:int")
	def("LRN", 1, one, oneOut, "alpha:float beta:float bias:float size:int")
	def("MeanVarianceNormalization", 9, one, oneOut, "axes:ints")
	def("MeanVarianceNormalization", 13, one, oneOut, "axes:ints")
	def("Dropout", 7, one, span(1, 2), "ratio:float")
	def("Dropout", 12, span(1, 3), span(1, 2), "seed:int")

	// Recurrent layers.
	rnn := "activation_alpha:floats activation_beta:floats activations:strings clip:float direction:string hidden_size:int"
	def("LSTM", 7, span(3, 8), span(0, 3), rnn, "input_forget:int")
	def("LSTM", 14, span(3, 8), span(0, 3), rnn, "input_forget:int layout:int")
	def("GRU", 7, span(3, 6), span(0, 2), rnn, "linear_before_reset:int")
	def("GRU", 14, span(3, 6), span(0, 2), rnn, "layout:int linear_before_reset:int")
	def("RNN", 7, span(3, 6), span(0, 2), rnn)
	def("RNN", 14, span(3, 6), span(0, 2), rnn, "layout:int")

	// Reductions: axes is an attribute until opset 13 (ReduceSum) or 18
	// (the others), then an optional input.
	reduceAttr := "axes:ints keepdims:int"
	reduceIn := "keepdims:int noop_with_empty_axes:int"
	for _, op := range []string{"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
		"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"} {
		def(op, 1, one, oneOut, reduceAttr)
		def(op, 18, span(1, 2), oneOut, reduceIn)
	}
	def("ReduceSum", 1, one, oneOut, reduceAttr)
	def("ReduceSum", 13, span(1, 2), oneOut, reduceIn)
	def("ArgMax", 1, one, oneOut, "axis:int keepdims:int")
	def("ArgMax", 12, one, oneOut, "axis:int keepdims:int select_last_index:int")
	def("ArgMin", 1, one, oneOut, "axis:int keepdims:int")
	def("ArgMin", 12, one, oneOut, "axis:int keepdims:int select_last_index:int")
	def("CumSum", 11, two, oneOut, "exclusive:int reverse:int")

	// Tensor manipulation.
	def("Cast", 6, one, oneOut, "to:int")
	def("Cast", 19, one, oneOut, "saturate:int to:int")
	def("CastLike", 15, two, oneOut)
	def("CastLike", 19, two, oneOut, "saturate:int")
	def("Concat", 4, many, oneOut, "axis:int")
	def("Constant", 1, span(0, 0), oneOut, "value:tensor")
	def("Constant", 11, span(0, 0), oneOut, "sparse_value:sparse_tensor value:tensor")
	def("Constant", 12, span(0, 0), oneOut, "sparse_value:sparse_tensor value:tensor value_float:float value_floats:floats value_int:int value_ints:ints value_string:string value_strings:strings")
	def("ConstantOfShape", 9, one, oneOut, "value:tensor")
	def("Expand", 8, two, oneOut)
	def("Flatten", 1, one, oneOut, "axis:int")
	def("Gather", 1, two, oneOut, "axis:int")
	def("GatherElements", 11, two, oneOut, "axis:int")
	def("GatherND", 11, two, oneOut)
	def("GatherND", 12, two, oneOut, "batch_dims:int")
	def("Pad", 2, one, oneOut, "mode:string pads:ints value:float")
	def("Pad", 11, span(2, 3), oneOut, "mode:string")
	def("Pad", 18, span(2, 4), oneOut, "mode:string")
	def("Range", 11, three, oneOut)
	def("Reshape", 5, two, oneOut)
	def("Reshape", 14, two, oneOut, "allowzero:int")
	def("Resize", 10, two, oneOut, "mode:string")
	def("Resize", 11, span(3, 4), oneOut, "coordinate_transformation_mode:string cubic_coeff_a:float exclude_outside:int extrapolation_value:float mode:string nearest_mode:string")
	def("Resize", 13, span(1, 4), oneOut, "coordinate_transformation_mode:string cubic_coeff_a:float exclude_outside:int extrapolation_value:float mode:string nearest_mode:string")
	def("Resize", 18, span(1, 4), oneOut, "antialias:int axes:ints coordinate_transformation_mode:string cubic_coeff_a:float exclude_outside:int extrapolation_value:float keep_aspect_ratio_policy:string mode:string nearest_mode:string")
	def("Upsample", 7, one, oneOut, "mode:string scales:floats")
	def("Upsample", 9, two, oneOut, "mode:string")
	removed("Upsample", 10) // replaced by Resize
	def("ScatterElements", 11, three, oneOut, "axis:int")
	def("ScatterElements", 16, three, oneOut, "axis:int reduction:string")
	def("ScatterND", 11, three, oneOut)
	def("ScatterND", 16, three, oneOut, "reduction:string")
	def("Shape", 1, one, oneOut)
	def("Shape", 15, one, oneOut, "end:int start:int")
	def("Size", 1, one, oneOut)
	def("Slice", 1, one, oneOut, "axes:ints ends:ints starts:ints")
	def("Slice", 10, span(3, 5), oneOut)
	def("Split", 2, one, many, "axis:int split:ints")
	def("Split", 13, span(1, 2), many, "axis:int")
	def("Split", 18, span(1, 2), many, "axis:int num_outputs:int")
	def("Squeeze", 1, one, oneOut, "axes:ints")
	def("Squeeze", 13, span(1, 2), oneOut)
	def("Unsqueeze", 1, one, oneOut, "axes:ints")
	def("Unsqueeze", 13, two, oneOut)
	def("Tile", 6, two, oneOut)
	def("Transpose", 1, one, oneOut, "perm:ints")
	def("Trilu", 14, span(1, 2), oneOut, "upper:int")
	def("OneHot", 9, three, oneOut, "axis:int")
	def("TopK", 1, one, two, "axis:int k:int")
	def("TopK", 10, two, two, "axis:int")
	def("TopK", 11, two, two, "axis:int largest:int sorted:int")
	def("NonZero", 9, one, oneOut)
	def("DepthToSpace", 1, one, oneOut, "blocksize:int")
	def("DepthToSpace", 11, one, oneOut, "blocksize:int mode:string")
	def("SpaceToDepth", 1, one, oneOut, "blocksize:int")
}
