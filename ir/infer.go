package ir

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ShapeReport says what InferShapes could not do. Genuine inconsistencies
// in the model are not here but in InferShapes' error.
type ShapeReport struct {
	// Unsupported lists, in topological order, the nodes whose operator
	// shape inference does not know (another domain, a model-local function,
	// control flow, or an operator not implemented). Their outputs keep the
	// type the file declared for them, if any.
	Unsupported []*Node
	// Unresolved lists, in topological order, the graph inputs and node
	// outputs whose element type or rank is still unknown afterwards (most
	// often downstream of an unsupported node).
	Unresolved []*Value
}

// Complete reports whether every value got an element type and a rank.
func (r *ShapeReport) Complete() bool {
	return len(r.Unsupported) == 0 && len(r.Unresolved) == 0
}

// UnsupportedOps lists the distinct unsupported operators, each with the
// nodes using it, as "Op (node1, node2)", sorted by operator.
func (r *ShapeReport) UnsupportedOps() []string {
	byOp := map[string][]string{}
	for _, n := range r.Unsupported {
		op := n.OpType
		if !n.DefaultDomain() {
			op = n.Domain + "." + op
		}
		byOp[op] = append(byOp[op], n.Label())
	}
	out := make([]string, 0, len(byOp))
	for op, names := range byOp {
		out = append(out, fmt.Sprintf("%s (%s)", op, strings.Join(names, ", ")))
	}
	sort.Strings(out)
	return out
}

func (r *ShapeReport) String() string {
	if r.Complete() {
		return "all shapes inferred"
	}
	var parts []string
	if len(r.Unsupported) > 0 {
		parts = append(parts, fmt.Sprintf("no shape inference for %d node(s): %s", len(r.Unsupported), strings.Join(r.UnsupportedOps(), "; ")))
	}
	if len(r.Unresolved) > 0 {
		names := make([]string, 0, len(r.Unresolved))
		for i, v := range r.Unresolved {
			if i == 8 {
				names = append(names, fmt.Sprintf("... %d more", len(r.Unresolved)-i))
				break
			}
			names = append(names, fmt.Sprintf("%q", v.Name))
		}
		parts = append(parts, fmt.Sprintf("%d value(s) without a known type or rank: %s", len(r.Unresolved), strings.Join(names, ", ")))
	}
	return strings.Join(parts, "; ")
}

// DefaultOpset is the default-domain opset assumed for a model that does not
// import one.
const DefaultOpset = 17

// maxTracked bounds the number of elements of an integer tensor whose
// contents inference follows (shape tensors, axes, indices). Larger integer
// tensors are still typed and shaped, just not read.
const maxTracked = 256

// tinfo is what inference knows about a value: its element type, its dims
// (rank < 0: unknown), and for small integer and bool tensors with a static
// shape, possibly their contents (val, row-major; elements may be symbolic
// sizes or unknown). dims and val are never modified once set; ops build
// new slices.
type tinfo struct {
	elem DType
	rank int
	dims []sdim
	val  []sdim
}

func unknownT(elem DType) *tinfo { return &tinfo{elem: elem, rank: -1} }

func shapedT(elem DType, dims []sdim) *tinfo {
	return &tinfo{elem: elem, rank: len(dims), dims: dims}
}

func (t *tinfo) known() bool { return t != nil && t.rank >= 0 }

// staticDims returns the dims as numbers if all are.
func (t *tinfo) staticDims() ([]int64, bool) {
	if !t.known() {
		return nil, false
	}
	out := make([]int64, t.rank)
	for i, d := range t.dims {
		if !d.isConst() || d.k < 0 {
			return nil, false
		}
		out[i] = d.k
	}
	return out, true
}

// numel is the element count as a size.
func (t *tinfo) numel() sdim {
	if !t.known() {
		return unknownSize
	}
	return prodSizes(t.dims)
}

// consts returns the contents as numbers if they are tracked and all known.
func (t *tinfo) consts() ([]int64, bool) {
	if t == nil || t.val == nil {
		return nil, false
	}
	out := make([]int64, len(t.val))
	for i, v := range t.val {
		if !v.isConst() {
			return nil, false
		}
		out[i] = v.k
	}
	return out, true
}

// String is shapeString, so that a *tinfo formats as its shape.
func (t *tinfo) String() string { return t.shapeString() }

func (t *tinfo) shapeString() string {
	if !t.known() {
		return "[?]"
	}
	parts := make([]string, len(t.dims))
	for i, d := range t.dims {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// withVal attaches contents if the tensor qualifies for tracking.
func (t *tinfo) withVal(val []sdim) *tinfo {
	if val == nil || !trackable(t.elem) {
		return t
	}
	n := t.numel()
	if !n.isConst() || n.k != int64(len(val)) || n.k > maxTracked {
		return t
	}
	t.val = val
	return t
}

func trackable(d DType) bool { return d.IsInteger() || d == Bool }

type inferState struct {
	opset int64
	info  map[*Value]*tinfo
	sizes map[string]sdim
	errs  ErrorList
	// bare: errors do not name the node (InferNode's caller does)
	bare bool
	// floatVals: float contents InferNode's caller gives (c.floats reads
	// them before the graph's constants)
	floatVals map[*Value][]float64
}

// nodeCtx is the view of one node that shape functions work with.
type nodeCtx struct {
	*inferState
	n   *Node
	out []*tinfo
}

// InferShapes fills in Value.Type (element type and shape) for every value of
// the model's top-level graph, in topological order, starting from the
// declared graph inputs and the initializers. Symbolic dims of the inputs
// (such as "batch") stay symbolic and propagate through size arithmetic as
// monomials: a Reshape of [batch, 8, 32] into heads gives "4*batch", a
// Flatten of [batch, 16, 4, 4] gives [batch, 256]. Small integer tensors
// computed from shapes (Shape, Gather, Concat, Mul, ... as PyTorch exports
// them) are followed element by element so that Reshape, Expand,
// ConstantOfShape and friends get their output shapes.
//
// Types the file declares for node outputs (value_info, graph outputs) are
// merged: a declared number is never overwritten, and a declared symbolic or
// unknown dim is refined by what inference finds. Intermediate values the
// file does not declare are (re)computed on every call, so calling
// InferShapes again after editing the graph is safe.
//
// The report lists nodes inference does not know and values left without a
// type or rank. The error, an ErrorList, lists genuine inconsistencies
// (MatMul inner dims that differ, a Reshape that changes the element count,
// a declared shape that contradicts the inferred one, ...), each naming the
// node and its operator; inference carries on past them.
func InferShapes(m *Model) (*ShapeReport, error) {
	rep, _, err := infer(m, true, nil)
	return rep, err
}

// ElemTypes infers the element type of every value of m's top-level graph
// as InferShapes does (declared types standing), without writing anything
// into the model. Values whose type stays unknown (after an operator
// inference does not know, say) are absent.
func ElemTypes(m *Model) map[*Value]DType {
	_, info, _ := infer(m, false, nil)
	out := make(map[*Value]DType, len(info))
	for v, t := range info {
		if t != nil && t.elem != Undefined {
			out[v] = t.elem
		}
	}
	return out
}

// EachElemType calls f, in topological order, with the element type
// inference finds for every output of every node of m's top-level graph
// (Undefined when it stays unknown), declared types standing, as ElemTypes
// would give them, without writing anything into the model. Unlike
// ElemTypes it drops what it inferred about a value as soon as the value's
// only reader has been inferred, so that a graph of hundreds of thousands
// of nodes costs little beyond itself (issue 9: ElemTypes' table of shapes
// was a third of nnlint's memory on a long chain). A graph with a cycle
// gets no calls.
func EachElemType(m *Model, f func(v *Value, d DType)) {
	infer(m, false, func(v *Value, t *tinfo) { f(v, t.elem) })
}

// EachType calls f, in topological order, with the type InferShapes would
// leave on every output of every node of m's top-level graph (nil when it
// would leave none), without writing anything into the model. Like
// EachElemType it forgets a value once its only reader has been inferred,
// so that a caller needing every shape once (the probe's cost estimate)
// does not hold a type for each of a long graph's values at the same time
// (issue 9: InferShapes' types were most of the probe's extra memory on a
// 200k-node chain). t is v.Type itself when inference has nothing to add,
// else new; f may keep it. A graph with a cycle gets no calls.
func EachType(m *Model, f func(v *Value, t *TypeInfo)) {
	infer(m, false, func(v *Value, t *tinfo) { f(v, typeInfo(v.Type, t)) })
}

// infer is InferShapes; write false leaves the model's types alone and
// only returns what was inferred. With visit set it calls visit for every
// node output once it is inferred, and forgets values whose only reader
// is done (the info it returns is then partial).
func infer(m *Model, write bool, visit func(*Value, *tinfo)) (*ShapeReport, map[*Value]*tinfo, error) {
	if m == nil || m.Graph == nil {
		return &ShapeReport{}, nil, errors.New("shape inference: model has no graph")
	}
	g := m.Graph
	order, err := g.TopoOrder()
	if err != nil {
		return &ShapeReport{}, nil, ErrorList{err}
	}
	st := &inferState{
		opset: m.Opset(""),
		sizes: map[string]sdim{},
	}
	if visit == nil {
		st.info = make(map[*Value]*tinfo, len(g.Inputs)+len(g.Initializers)+len(g.Nodes))
	} else {
		// Only the values some later node still reads are kept: few, in
		// most graphs.
		st.info = make(map[*Value]*tinfo, len(g.Inputs)+len(g.Initializers))
	}
	if st.opset == 0 {
		st.opset = DefaultOpset
	}
	declared := make(map[*Value]bool, len(g.ValueInfo)+len(g.Outputs))
	for _, v := range g.ValueInfo {
		declared[v] = true
	}
	for _, v := range g.Outputs {
		declared[v] = true
	}
	rep := &ShapeReport{}
	for _, v := range g.Inputs {
		if v.Init == nil {
			st.info[v] = st.declaredInfo(v)
			if !st.info[v].known() || st.info[v].elem == Undefined {
				rep.Unresolved = append(rep.Unresolved, v)
			}
		}
	}
	for _, v := range g.Initializers {
		st.info[v] = st.initInfo(v)
	}
	c := &nodeCtx{inferState: st}
	for _, n := range order {
		c.n = n
		c.out = make([]*tinfo, len(n.Outputs))
		fn := lookupShapeFunc(n)
		if fn == nil {
			rep.Unsupported = append(rep.Unsupported, n)
		} else if err := c.run(fn); err != nil {
			st.errs.Add(err)
		}
		for i, v := range n.Outputs {
			if v == nil {
				continue
			}
			t := c.out[i]
			if fn == nil || t == nil {
				t = st.declaredInfo(v)
				if fn != nil && !declared[v] {
					t = unknownT(Undefined)
				}
			} else if declared[v] {
				if t, err = st.merge(n, v, t); err != nil {
					st.errs.Add(err)
				}
			}
			st.info[v] = t
			if write {
				st.write(v, t)
			}
			if visit != nil {
				visit(v, t)
			} else if !t.known() || t.elem == Undefined {
				rep.Unresolved = append(rep.Unresolved, v)
			}
		}
		if visit != nil {
			// A node output read by this node alone (most values of most
			// graphs) is never looked at again.
			for _, v := range n.Inputs {
				if v != nil && v.Producer != nil && !v.IsOutput && len(v.Uses) == 1 && v.Uses[0].Node == n {
					delete(st.info, v)
				}
			}
		}
	}
	return rep, st.info, st.errs.Err()
}

// run calls fn, turning a panic on malformed input into an error so that one
// bad node never takes the caller down. (Shape functions check what they
// read; this is the net under them.)
func (c *nodeCtx) run(fn shapeFunc) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = c.errorf("shape inference failed: %v", r)
		}
	}()
	return fn(c)
}

// size parses a Param once per inference.
func (st *inferState) size(d Dim) sdim {
	if d.Param == "" {
		return dimSize(d)
	}
	if s, ok := st.sizes[d.Param]; ok {
		return s
	}
	s := parseSize(d.Param)
	st.sizes[d.Param] = s
	return s
}

func (st *inferState) declaredInfo(v *Value) *tinfo {
	if v.Type == nil || v.Type.Opaque != nil {
		return unknownT(Undefined)
	}
	if v.Type.Shape == nil {
		return unknownT(v.Type.Elem)
	}
	dims := make([]sdim, len(v.Type.Shape))
	for i, d := range v.Type.Shape {
		dims[i] = st.size(d)
	}
	return shapedT(v.Type.Elem, dims)
}

func (st *inferState) initInfo(v *Value) *tinfo {
	t := v.Init
	dims := make([]sdim, len(t.Dims))
	for i, d := range t.Dims {
		dims[i] = cst(d)
	}
	ti := shapedT(t.DType, dims)
	// An initializer that is also a graph input can be overridden by the
	// caller: its shape holds, its contents do not.
	if v.IsInput {
		return ti
	}
	return ti.withVal(tensorVal(t))
}

// tensorVal reads the contents of a small integer or bool tensor.
func tensorVal(t *Tensor) []sdim {
	if t == nil || !trackable(t.DType) {
		return nil
	}
	if n := t.Len(); n < 0 || n > maxTracked {
		return nil
	}
	xs, err := t.Int64s()
	if err != nil {
		return nil
	}
	val := make([]sdim, len(xs))
	for i, x := range xs {
		val[i] = cst(x)
	}
	return val
}

// merge combines the inferred type of v with the one the file declares.
func (st *inferState) merge(n *Node, v *Value, t *tinfo) (*tinfo, error) {
	d := st.declaredInfo(v)
	bad := func() error {
		return fmt.Errorf("node %s (%s): output %q is declared %s %s but inferred %s %s", n.Label(), n.OpType, v.Name, d.elem, d.shapeString(), t.elem, t.shapeString())
	}
	// On a contradiction the declaration stands: a declared known dim is
	// never overwritten.
	out := *t
	if d.elem != Undefined {
		if t.elem != Undefined && t.elem != d.elem {
			return d, bad()
		}
		out.elem = d.elem
	}
	if !d.known() {
		return &out, nil
	}
	if !t.known() {
		out.rank, out.dims, out.val = d.rank, d.dims, nil
		return &out, nil
	}
	if d.rank != t.rank {
		return d, bad()
	}
	dims := make([]sdim, t.rank)
	for i := range dims {
		switch dd, td := d.dims[i], t.dims[i]; {
		case sizeEqual(dd, td) == 0:
			// Certainly different sizes: 3 vs 4, batch vs 4*batch, 3 vs 4*batch.
			return d, bad()
		case dd.isConst():
			dims[i] = dd
		case td.unk:
			dims[i] = dd
		default:
			dims[i] = td
		}
	}
	out.dims = dims
	return &out, nil
}

// write stores t as v's TypeInfo, keeping the denotations the file gave.
func (st *inferState) write(v *Value, t *tinfo) {
	v.Type = typeInfo(v.Type, t)
}

// typeInfo is the type a value declared as old gets from what inference
// found: old itself when inference has nothing to add.
func typeInfo(old *TypeInfo, t *tinfo) *TypeInfo {
	if old != nil && old.Opaque != nil {
		return old // a non-tensor type inference does not model
	}
	if old == nil && t.elem == Undefined && !t.known() {
		return old
	}
	nt := &TypeInfo{Elem: t.elem}
	if old != nil {
		nt.Denotation, nt.Unknown = old.Denotation, old.Unknown
	}
	if t.known() {
		nt.Shape = make(Shape, t.rank)
		for i, d := range t.dims {
			nt.Shape[i] = d.dim()
			if old != nil && len(old.Shape) == t.rank {
				nt.Shape[i].Denotation = old.Shape[i].Denotation
			}
		}
	}
	return nt
}

// ---- helpers for shape functions ----

type shapeFunc func(c *nodeCtx) error

func (c *nodeCtx) errorf(format string, args ...any) error {
	if c.bare {
		return fmt.Errorf(format, args...)
	}
	return fmt.Errorf("node %s (%s): %s", c.n.Label(), c.n.OpType, fmt.Sprintf(format, args...))
}

// in returns what is known about input i, or nil when the input is absent
// (not listed, or an empty name).
func (c *nodeCtx) in(i int) *tinfo {
	v := c.n.In(i)
	if v == nil {
		return nil
	}
	if t := c.info[v]; t != nil {
		return t
	}
	t := c.declaredInfo(v) // a value of an enclosing scope, or dangling
	c.info[v] = t
	return t
}

// input is in(i) for a required input; an absent one is an error.
func (c *nodeCtx) input(i int) (*tinfo, error) {
	t := c.in(i)
	if t == nil {
		return nil, c.errorf("required input %d is missing", i)
	}
	return t, nil
}

func (c *nodeCtx) set(i int, t *tinfo) {
	if i < len(c.out) {
		c.out[i] = t
	}
}

// setAll gives every listed output the same type.
func (c *nodeCtx) setAll(t *tinfo) {
	for i := range c.out {
		c.out[i] = t
	}
}

// ints returns the constant contents of input i (nil, false when absent or
// not a known constant).
func (c *nodeCtx) ints(i int) ([]int64, bool) {
	t := c.in(i)
	if t == nil {
		return nil, false
	}
	return t.consts()
}

// floats returns the contents of a float input known before running (Resize
// scales, Range bounds): given to InferNode, or a constant of the graph.
func (c *nodeCtx) floats(i int) ([]float64, bool) {
	v := c.n.In(i)
	if v == nil {
		return nil, false
	}
	if f, ok := c.floatVals[v]; ok {
		return f, true
	}
	return constFloats(v, 0)
}

// constFloats is the value of a float constant, or of a 1-D Concat of such
// constants (PyTorch's training-mode exports build Resize scales that way).
func constFloats(v *Value, depth int) ([]float64, bool) {
	if p := v.Producer; v.Init == nil && p != nil && p.OpType == "Concat" && depth < 4 {
		var out []float64
		for _, in := range p.Inputs {
			if in == nil {
				return nil, false
			}
			f, ok := constFloats(in, depth+1)
			if !ok || len(out)+len(f) > maxTracked {
				return nil, false
			}
			if t := in.ConstTensor(); t != nil && len(t.Dims) != 1 {
				return nil, false // Concat joins 1-D pieces only
			}
			out = append(out, f...)
		}
		return out, true
	}
	t := v.ConstTensor()
	if t == nil || (v.Init != nil && v.IsInput) {
		return nil, false
	}
	if n := t.Len(); n < 0 || n > maxTracked {
		return nil, false
	}
	f, err := t.Float64s()
	return f, err == nil
}

// axesArg returns an axes list given either as input idx (newer opsets) or
// as the attribute attr (older ones). given is false when neither is
// present; ok is false when the input is present but not a known constant.
func (c *nodeCtx) axesArg(attr string, idx int) (axes []int64, given, ok bool) {
	if idx >= 0 && c.n.In(idx) != nil {
		a, ok := c.ints(idx)
		return a, true, ok
	}
	if c.n.HasAttr(attr) {
		return c.n.Ints(attr, nil), true, true
	}
	return nil, false, true
}

// axis normalizes an axis against rank r (negative counts from the end).
func (c *nodeCtx) axis(a int64, r int) (int, error) {
	ax, err := NormAxis(a, r)
	if err != nil {
		return 0, c.errorf("%v", err)
	}
	return ax, nil
}

// axesSet normalizes a list of distinct axes against rank r.
func (c *nodeCtx) axesSet(axes []int64, r int) ([]bool, error) {
	set, err := AxesSet(axes, r)
	if err != nil {
		return nil, c.errorf("%v", err)
	}
	return set, nil
}

// MaxRank is the largest rank shape inference takes from a size: the
// length of a 1-D shape, axes, starts or ends input whose contents it does
// not know. NumPy 2 allows 64 dimensions (NPY_MAXDIMS), and no PyTorch
// export comes near. A longer such input (a value_info declaring that the
// shape input of a Reshape has 2^40 elements) is an error naming the node,
// not an allocation of that many dims (issue 9).
const MaxRank = 64

// rankFrom is the rank counted by the length d of input i (a 1-D tensor
// whose elements are dims or axes), or an error when d is more than
// MaxRank.
func (c *nodeCtx) rankFrom(i int, d sdim) (int, error) {
	if d.k < 0 || d.k > MaxRank {
		return 0, c.errorf("input %d has %d elements, one per dimension; shape inference allows at most %d dimensions", i, d.k, MaxRank)
	}
	return int(d.k), nil
}

func unknownDims(r int) []sdim {
	d := make([]sdim, r)
	for i := range d {
		d[i] = unknownSize
	}
	return d
}

func constDims(xs []int64) []sdim {
	d := make([]sdim, len(xs))
	for i, x := range xs {
		d[i] = cst(x)
	}
	return d
}

func constVal(xs ...int64) []sdim { return constDims(xs) }

func sizesString(ds []sdim) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
