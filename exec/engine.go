package exec

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/nnkit/nnkit/ir"
)

// The engine is the executor proper, generic over the float precision.
// Compile checks the graph and collects parameters; a plan is built the
// first time a combination of input shapes is seen: it infers every shape,
// folds everything that does not depend on data (shape arithmetic,
// constants), allocates every buffer and creates one forward and one
// backward closure per remaining node. Running a plan allocates nothing.

// param is a trainable parameter or a buffer; its storage is shared by
// every plan.
type param[T Float] struct {
	name   string
	v      *ir.Value
	shape  []int
	value  []T
	grad   []T // nil for buffers and frozen parameters
	buffer bool
	frozen bool // a parameter kept fixed (Options.Frozen)
}

// runCtx is what a forward step needs to know about the current Run.
type runCtx struct {
	mode     Mode
	step     uint64
	seed     uint64
	override bool
	ratio    float32
}

type step[T Float] struct {
	node    *ir.Node
	id      int
	in, out []*tensor[T]
	fwd     func(*runCtx) error
	bwd     func()

	// clearGrads clears the shared gradient buffers this step's backward
	// writes first (clearN elements in all; see ensureGrads).
	clearGrads func(lo, hi int)
	clearN     int
}

// clearGrain is the smallest piece of a gradient clear handed to a worker.
const clearGrain = 1 << 16

type plan[T Float] struct {
	key     [][]int
	vals    map[*ir.Value]*tensor[T]
	steps   []*step[T]
	inputs  []*tensor[T]
	outputs []*tensor[T]
	grads   [][]T            // gradients with buffers of their own, cleared before each Backward
	bytes   int64            // memory reserved against the budget (see budget.go)
	fused   map[*ir.Node]int // nodes computed by their producer: the input that is its output (fuse.go)
	watch   []watched[T]     // values handed to Options.Observe, in step order (observe.go)
	stream  *streamState[T]  // a streaming plan's state (stream.go)
	ready   bool             // gradient buffers allocated

	clearGrads func(lo, hi int) // clears grads[lo:hi] on the pool; made once

	scratches map[scratchKey]*scratchSlot[T] // temporaries shared by nodes (scratch.go)
}

type opDef[T Float] struct {
	// plan infers output shapes, allocates outputs and sets the closures.
	plan func(c *nodeCtx[T]) error
	// check reports attribute values the executor does not support, before
	// anything runs (nil: everything is supported).
	check func(n *ir.Node, opset int64) error
	// modal ops depend on the Mode (never folded into constants).
	modal bool
	// shapeOnly ops depend only on their inputs' shapes (Shape, Size):
	// always folded.
	shapeOnly bool
}

type engine[T Float] struct {
	g        *ir.Graph
	opset    int64
	opts     Options
	order    []*ir.Node
	defs     []opDef[T]
	params   []*param[T]
	buffers  []*param[T]
	state    map[*ir.Value]*param[T]
	consts   map[*ir.Value]*tensor[T]
	inputs   []*ir.Value
	outputs  []*ir.Value
	pool     *pool
	mm       *gemmer[T]
	plans    []*plan[T]
	last     *plan[T]
	lastMode Mode
	ran      bool
	step     uint64
	rc       runCtx
	view     Tensor // the view Options.Observe receives (observe.go)
	// feed copies the Run's inputs into a plan and streamMode is the
	// Run's mode, for a streaming build (stream.go).
	feed       func(*plan[T])
	streamMode Mode
}

// maxPlans bounds the plan cache (a training run typically needs two: the
// batch size and the last, smaller batch).
const maxPlans = 4

// UnsupportedError lists every operator (or operator configuration) of a
// model the executor cannot run, with the nodes using it.
type UnsupportedError struct {
	Ops []UnsupportedOp
}

// UnsupportedOp is one unsupported operator and the nodes using it.
type UnsupportedOp struct {
	Op     string // op type, prefixed by its domain if not the default one
	Reason string // empty when the op itself is unknown
	Nodes  []string
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	n := 0
	for _, o := range e.Ops {
		n += len(o.Nodes)
	}
	fmt.Fprintf(&b, "unsupported operators (%d kinds, %d nodes):", len(e.Ops), n)
	for _, o := range e.Ops {
		b.WriteString("\n  ")
		b.WriteString(o.Op)
		if o.Reason != "" {
			fmt.Fprintf(&b, " (%s)", o.Reason)
		}
		b.WriteString(": ")
		b.WriteString(strings.Join(o.Nodes, ", "))
	}
	return b.String()
}

func compileEngine[T Float](m *ir.Model, opts Options) (*engine[T], error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("exec: model has no graph")
	}
	g := m.Graph
	e := &engine[T]{g: g, opset: m.Opset(""), opts: opts,
		state: map[*ir.Value]*param[T]{}, consts: map[*ir.Value]*tensor[T]{}}
	if e.opset == 0 {
		e.opset = 13
	}
	order, err := g.TopoOrder()
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	e.order = order
	// A model not read by onnxio (built in code) gets the same schema
	// check: nothing below may meet a node with more outputs than its
	// operator defines.
	var serrs ir.ErrorList
	for _, n := range order {
		serrs.Add(ir.CheckNode(n, e.opset))
	}
	if err := serrs.Err(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	table := opsFor[T]()
	type key struct{ op, reason string }
	bad := map[key][]string{}
	var keys []key
	note := func(k key, n *ir.Node) {
		if _, ok := bad[k]; !ok {
			keys = append(keys, k)
		}
		bad[k] = append(bad[k], n.Label())
	}
	e.defs = make([]opDef[T], len(order))
	for i, n := range order {
		if !n.DefaultDomain() {
			note(key{n.Domain + "." + n.OpType, ""}, n)
			continue
		}
		def, ok := table[n.OpType]
		if !ok {
			note(key{n.OpType, ""}, n)
			continue
		}
		if def.check != nil {
			if err := def.check(n, e.opset); err != nil {
				note(key{n.OpType, err.Error()}, n)
				continue
			}
		}
		e.defs[i] = def
	}
	if len(keys) > 0 {
		ue := &UnsupportedError{}
		for _, k := range keys {
			ue.Ops = append(ue.Ops, UnsupportedOp{Op: k.op, Reason: k.reason, Nodes: bad[k]})
		}
		sort.SliceStable(ue.Ops, func(i, j int) bool { return ue.Ops[i].Op < ue.Ops[j].Op })
		return nil, ue
	}

	var errs ir.ErrorList
	for _, v := range g.Initializers {
		if i, ok := wideDim(v.Init.Dims); !ok {
			errs.Add(fmt.Errorf("initializer %q: dimension %d is %d, more than an int holds on this platform", v.Name, i, v.Init.Dims[i]))
			continue
		}
		switch v.Role() {
		case ir.RoleParameter, ir.RoleBuffer:
			data, err := v.Init.Float32s()
			if err != nil {
				errs.Add(fmt.Errorf("initializer %q: %w", v.Name, err))
				continue
			}
			p := &param[T]{name: v.Name, v: v, shape: dims(v.Init.Dims)}
			if is32[T]() {
				p.value = fromF32[T](data) // Float32s made a new slice
				if opts.ShareInitializers && v.Init.DType == ir.Float32 {
					shareRaw(v.Init, data)
				}
			} else {
				p.value = make([]T, len(data))
				for i, x := range data {
					p.value[i] = T(x)
				}
			}
			if v.Role() == ir.RoleBuffer {
				p.buffer = true
				e.buffers = append(e.buffers, p)
			} else {
				if opts.Frozen[v.Name] {
					p.frozen = true
				} else {
					p.grad = make([]T, len(data))
				}
				e.params = append(e.params, p)
			}
			e.state[v] = p
		default:
			t, err := constTensor[T](v.Name, v.Init)
			if err != nil {
				errs.Add(err)
				continue
			}
			e.consts[v] = t
		}
	}
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	for _, v := range g.DataInputs() {
		if err := checkInputType(v); err != nil {
			errs.Add(err)
		}
		e.inputs = append(e.inputs, v)
	}
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	e.outputs = g.Outputs
	e.pool = newPool(opts.Threads)
	e.mm = newGemmer[T](e.pool)
	return e, nil
}

// checkInputType refuses graph inputs the executor would have to
// reinterpret: sequences, maps and other non-tensor types, and float
// tensors other than float32 (the executor computes in float32, so a
// double or float16 input would silently change the model's precision and
// its outputs compared with ONNX Runtime).
func checkInputType(v *ir.Value) error {
	for i, d := range v.Shape() {
		if d.Known() && d.Value > math.MaxInt {
			return fmt.Errorf("input %q: dimension %d is %d, more than an int holds on this platform", v.Name, i, d.Value)
		}
	}
	if v.Type != nil && v.Type.Opaque != nil {
		return fmt.Errorf("input %q is not a tensor (a sequence, map or optional type); the executor runs tensor inputs only", v.Name)
	}
	el := v.Elem()
	if el == ir.Undefined {
		return nil // no declared type: the caller's tensor decides
	}
	if _, ok := kindOf(el); !ok {
		return fmt.Errorf("input %q has element type %s, which the executor does not support", v.Name, el)
	}
	if el.IsFloat() && el != ir.Float32 {
		return fmt.Errorf("input %q has element type %s; the executor computes in float32 and takes float32 inputs only (export the model in float32: model.float())", v.Name, el)
	}
	return nil
}

// wideDim reports the first of a file's dimensions an int cannot hold
// (possible on 32-bit platforms only, where converting it would wrap to a
// wrong, even negative, size); ok when there is none.
func wideDim(d []int64) (i int, ok bool) {
	for i, x := range d {
		if x > math.MaxInt || x < math.MinInt {
			return i, false
		}
	}
	return 0, true
}

func dims(d []int64) []int {
	s := make([]int, len(d))
	for i, x := range d {
		s[i] = int(x)
	}
	return s
}

func i64s(d []int) []int64 {
	out := make([]int64, len(d))
	for i, v := range d {
		out[i] = int64(v)
	}
	return out
}

// constTensor converts a constant ir.Tensor to a static tensor.
func constTensor[T Float](name string, it *ir.Tensor) (*tensor[T], error) {
	k, ok := kindOf(it.DType)
	if !ok {
		return nil, fmt.Errorf("constant %q has element type %s, which the executor does not support", name, it.DType)
	}
	t := &tensor[T]{name: name, kind: k, shape: dims(it.Dims), static: true}
	t.size = numel(t.shape)
	if k == kFloat {
		f, err := it.Float64s()
		if err != nil {
			return nil, fmt.Errorf("constant %q: %w", name, err)
		}
		t.f = make([]T, len(f))
		for i, x := range f {
			t.f[i] = T(x)
		}
	} else {
		v, err := it.Int64s()
		if err != nil {
			return nil, fmt.Errorf("constant %q: %w", name, err)
		}
		t.i = v
	}
	t.setPub()
	return t, nil
}

// setPub refreshes the exported view after t's storage changed (when one
// was made).
func (t *tensor[T]) setPub() {
	if t.pub == nil {
		return
	}
	*t.pub = Tensor{DType: t.kind.dtype(), Shape: t.shape}
	if t.kind == kFloat {
		if is32[T]() {
			t.pub.F = asF32(t.f)
		}
	} else {
		t.pub.I = t.i
	}
}

// public returns the exported view of t, made on first request: a plan's
// storage is fixed once built, and most values are never asked for (a
// view in every tensor cost 80 bytes per node; issue 9).
func (t *tensor[T]) public() *Tensor {
	if t.pub == nil {
		t.pub = &Tensor{}
		t.setPub()
	}
	return t.pub
}

func newTensor[T Float](name string, k kind, shape []int) *tensor[T] {
	t := &tensor[T]{name: name, kind: k, shape: shape, size: numel(shape)}
	if k == kFloat {
		t.f = make([]T, t.size)
	} else {
		t.i = make([]int64, t.size)
	}
	t.setPub()
	return t
}

// planFor returns the plan for these input shapes, building it if needed.
func (e *engine[T]) planFor(shapes [][]int, kinds []kind) (*plan[T], error) {
	if e.streaming() { // built anew by every Run, never kept (stream.go)
		e.plans, e.last, e.ran = nil, nil, false
		return e.build(shapes, kinds)
	}
	for i, p := range e.plans {
		if slices.EqualFunc(p.key, shapes, sameShape) {
			if i > 0 { // keep the most recently used first
				copy(e.plans[1:i+1], e.plans[:i])
				e.plans[0] = p
			}
			return p, nil
		}
	}
	p, err := e.build(shapes, kinds)
	if err != nil {
		return nil, err
	}
	if len(e.plans) == maxPlans {
		e.plans = e.plans[:maxPlans-1]
	}
	e.plans = append([]*plan[T]{p}, e.plans...)
	return p, nil
}

// PlanError is an error found while building a plan: a node whose inputs
// do not fit together for the given input shapes.
type PlanError struct {
	Node string
	Op   string
	Err  error
}

func (e *PlanError) Error() string { return fmt.Sprintf("node %s (%s): %v", e.Node, e.Op, e.Err) }
func (e *PlanError) Unwrap() error { return e.Err }

func (e *engine[T]) build(shapes [][]int, kinds []kind) (*plan[T], error) {
	p := &plan[T]{vals: map[*ir.Value]*tensor[T]{}}
	for i, v := range e.inputs {
		if err := e.reserve(p, "", v.Name, kinds[i], shapes[i]); err != nil {
			return nil, err
		}
		t := newTensor[T](v.Name, kinds[i], slices.Clone(shapes[i]))
		t.req = e.opts.InputGrads && t.kind == kFloat
		p.vals[v] = t
		p.inputs = append(p.inputs, t)
		p.key = append(p.key, t.shape)
	}
	for v, c := range e.consts {
		p.vals[v] = c
	}
	for v, s := range e.state {
		t := &tensor[T]{name: s.name, kind: kFloat, shape: s.shape, size: len(s.value),
			f: s.value, g: s.grad, state: true, req: !s.buffer && !s.frozen, frozen: s.frozen}
		t.setPub()
		p.vals[v] = t
	}
	if e.streaming() {
		e.beginStream(p)
	}
	rc := &runCtx{}
	for id, n := range e.order {
		def := e.defs[id]
		c := &nodeCtx[T]{step: step[T]{node: n, id: id, in: make([]*tensor[T], len(n.Inputs)), out: make([]*tensor[T], len(n.Outputs))},
			e: e, p: p, n: n, opset: e.opset}
		static := !def.modal
		allStatic := true
		for j, v := range n.Inputs {
			if v == nil {
				continue
			}
			t := p.vals[v]
			if t == nil {
				return nil, &PlanError{n.Label(), n.OpType, fmt.Errorf("input %q is not defined", v.Name)}
			}
			c.in[j] = t
			allStatic = allStatic && t.static
		}
		static = def.shapeOnly || static && allStatic
		if in, ok := p.fused[n]; ok { // the fused producer's tensor (fuse.go)
			p.vals[n.Outputs[0]] = c.in[in]
			continue
		}
		if e.aliasIdentity(n, c.in) { // the parameter's tensor itself (fuse.go)
			p.vals[n.Outputs[0]] = c.in[0]
			continue
		}
		if err := e.planNode(def, c); err != nil {
			return nil, &PlanError{n.Label(), n.OpType, err}
		}
		outs := c.out[:0:0] // c.out itself when the op defined every listed output
		if !slices.Contains(c.out, nil) {
			outs = c.out[:0]
		}
		for j, t := range c.out {
			listed := j < len(n.Outputs) && n.Outputs[j] != nil
			if t == nil {
				if listed {
					return nil, &PlanError{n.Label(), n.OpType, fmt.Errorf("output %d (%s) is not produced by the executor's %s", j, n.Outputs[j].Name, n.OpType)}
				}
				continue // an omitted optional output
			}
			if listed {
				t.name = n.Outputs[j].Name
				p.vals[n.Outputs[j]] = t
			}
			outs = append(outs, t)
		}
		c.out = outs
		if static {
			for _, t := range c.out {
				t.alloc()
			}
			if err := c.fwd(rc); err != nil {
				return nil, &PlanError{n.Label(), n.OpType, err}
			}
			for _, t := range c.out {
				t.static = true
			}
			continue
		}
		if p.stream != nil && e.runEarly(p, c) {
			continue
		}
		p.steps = append(p.steps, &c.step)
	}
	if p.stream != nil {
		p.endStream()
	}
	for _, v := range e.outputs {
		t := p.vals[v]
		if t == nil {
			return nil, fmt.Errorf("graph output %q is not computed by any node", v.Name)
		}
		p.outputs = append(p.outputs, t)
	}
	if e.opts.Inference {
		p.share()
	}
	// Which values depend on something trainable, and which of those lie
	// on a path to an output (only those get gradient buffers).
	for _, s := range p.steps {
		req := false
		for _, t := range s.in {
			if t != nil && t.req {
				req = true
			}
		}
		for _, t := range s.out {
			t.req = req && s.bwd != nil && t.kind == kFloat && !t.nograd
		}
	}
	for _, t := range p.outputs {
		t.live = t.req
	}
	for i := len(p.steps) - 1; i >= 0; i-- {
		s := p.steps[i]
		if !s.anyLive() {
			continue
		}
		for _, t := range s.in {
			if t != nil && t.req {
				t.live = true
			}
		}
	}
	if !e.opts.Inference && e.opts.Keep != nil {
		p.keepForBackward(e.opts.Keep)
		p.share()
	}
	if e.opts.Observe != nil && e.opts.Watch != nil {
		p.planWatch(e.opts.Watch)
	}
	return p, nil
}

// keepForBackward gives their own storage to the values a training plan
// with Options.Keep must not share: what the caller keeps, and every
// input and output of a step whose backward runs (backward closures read
// their step's forward values). share then pools the rest.
func (p *plan[T]) keepForBackward(keep func(string) bool) {
	for _, s := range p.steps {
		live := s.anyLive()
		for _, t := range s.in {
			if t != nil && live {
				t.alloc()
			}
		}
		for _, t := range s.out {
			if live || t.name != "" && keep(t.name) {
				t.alloc()
			}
		}
	}
}

func (s *step[T]) anyLive() bool {
	for _, t := range s.out {
		if t.live {
			return true
		}
	}
	return false
}

// ensureGrads allocates the gradient buffers of a plan on first use.
//
// An activation's gradient is needed from the backward step that first adds
// into it (its last reader's, since backward runs the steps in reverse)
// until its producer's backward has read it; before and after, its buffer
// can hold another value's gradient. Values whose lifetimes in backward do
// not overlap therefore share buffers (assigned once here), as PyTorch
// frees an activation's gradient once backward is past it: on a VGG the
// live gradients are those of a layer or two, not of every activation. Backward clears a shared buffer right before the step
// that first writes into it, so every gradient is accumulated from zero in
// the same order as with buffers of its own: the bits do not change.
//
// Graph inputs (InputGrad) and outputs (seeded by the caller), and values
// named by Options.Keep (Grad), keep buffers of their own, cleared at the
// start of every Backward.
func (p *plan[T]) ensureGrads(keep func(string) bool) {
	if p.ready {
		return
	}
	own := map[*tensor[T]]bool{}
	for _, t := range p.inputs {
		own[t] = true
	}
	for _, t := range p.outputs {
		own[t] = true
	}
	// first[t]: the index of the step whose backward writes t's gradient
	// first (its last reader in forward order).
	first := map[*tensor[T]]int{}
	for i, s := range p.steps {
		if !s.anyLive() {
			continue
		}
		for _, t := range s.in {
			if t != nil && t.live && !t.state {
				first[t] = i
			}
		}
	}
	seen := map[*tensor[T]]bool{}
	pin := func(t *tensor[T]) {
		if t == nil || !t.live || t.state || seen[t] {
			return
		}
		if _, read := first[t]; read && !own[t] && (keep == nil || t.name == "" || !keep(t.name)) {
			return // shared, assigned below
		}
		seen[t] = true
		t.g = make([]T, t.size)
		p.grads = append(p.grads, t.g)
	}
	for _, t := range p.inputs {
		pin(t)
	}
	for _, s := range p.steps {
		for _, t := range s.out {
			pin(t)
		}
	}
	// Slots are assigned walking backward: a value takes a free slot
	// when the step that first writes its gradient runs and gives it back
	// after its producer's step. It takes the smallest free slot that is
	// large enough, or else the largest free one, which grows to its size
	// (slots are allocated once their final sizes are known), so that a
	// network whose activations grow toward its input needs as many
	// buffers as gradients are live at once, not one per size.
	var sizes, free []int
	slot := map[*tensor[T]]int{}
	var clears [][]*tensor[T] // per step: the gradients it writes first
	for i := len(p.steps) - 1; i >= 0; i-- {
		s := p.steps[i]
		if !s.anyLive() {
			continue
		}
		for _, t := range s.in {
			if t == nil || seen[t] || first[t] != i || !t.live || t.state {
				continue
			}
			seen[t] = true
			best, big := -1, -1
			for j, k := range free {
				if sizes[k] >= t.size && (best < 0 || sizes[k] < sizes[free[best]]) {
					best = j
				}
				if big < 0 || sizes[k] > sizes[free[big]] {
					big = j
				}
			}
			if best < 0 {
				best = big
			}
			if best < 0 {
				sizes = append(sizes, t.size)
				slot[t] = len(sizes) - 1
			} else {
				k := free[best]
				sizes[k] = max(sizes[k], t.size)
				slot[t] = k
				free = append(free[:best], free[best+1:]...)
			}
			if clears == nil {
				clears = make([][]*tensor[T], len(p.steps))
			}
			clears[i] = append(clears[i], t)
		}
		for _, t := range s.out {
			if k, ok := slot[t]; ok {
				free = append(free, k)
			}
		}
	}
	bufs := make([][]T, len(sizes))
	for k, n := range sizes {
		bufs[k] = make([]T, n)
	}
	for i, ts := range clears {
		if len(ts) == 0 {
			continue
		}
		s := p.steps[i]
		var gs [][]T
		for _, t := range ts {
			t.g, t.gshared = bufs[slot[t]][:t.size], true
			gs = append(gs, t.g)
			s.clearN += t.size
		}
		s.clearGrads = clearer(gs)
	}
	p.clearGrads = func(lo, hi int) {
		for _, g := range p.grads[lo:hi] {
			clear(g)
		}
	}
	p.ready = true
}

// clearer returns a function that clears elements [lo, hi) of the
// concatenation of bufs, for the worker pool.
func clearer[T Float](bufs [][]T) func(lo, hi int) {
	return func(lo, hi int) {
		off := 0
		for _, b := range bufs {
			if hi <= off {
				return
			}
			if lo < off+len(b) {
				clear(b[max(lo-off, 0):min(hi-off, len(b))])
			}
			off += len(b)
		}
	}
}

// run executes the forward pass on inputs already copied into the plan.
func (e *engine[T]) run(p *plan[T], mode Mode) error {
	e.rc = runCtx{mode: mode, step: e.step, seed: e.opts.Seed, override: e.opts.OverrideDropout, ratio: e.opts.DropoutRatio}
	e.ran = false
	w := p.watch
	for i, s := range p.steps {
		if p.stream != nil && p.stream.err != nil && s.id > p.stream.errID {
			return p.stream.err // the early node failed first (stream.go)
		}
		if err := s.fwd(&e.rc); err != nil {
			return &PlanError{s.node.Label(), s.node.OpType, err}
		}
		if len(w) > 0 && w[0].step == i {
			w = e.observe(i, w)
		}
	}
	if p.stream != nil && p.stream.err != nil {
		return p.stream.err
	}
	if mode == Train {
		e.step++
	}
	e.last, e.lastMode, e.ran = p, mode, true
	return nil
}

// backward runs reverse-mode AD for the last run; seed(i, g) adds the
// gradient of output i into g (it may leave g untouched for outputs that
// did not receive one).
func (e *engine[T]) backward(seed func(i int, g []T)) error {
	if !e.ran {
		return errors.New("Backward called without a preceding Run")
	}
	if e.opts.Inference {
		return errors.New("Backward on a program compiled with Options.Inference")
	}
	p := e.last
	p.ensureGrads(e.opts.Keep)
	e.pool.run(len(p.grads), 1, p.clearGrads)
	for i, t := range p.outputs {
		if t.live {
			seed(i, t.g)
		}
	}
	for i := len(p.steps) - 1; i >= 0; i-- {
		s := p.steps[i]
		if s.anyLive() {
			if s.clearGrads != nil {
				e.pool.run(s.clearN, clearGrain, s.clearGrads)
			}
			s.bwd()
		}
	}
	return nil
}

func (e *engine[T]) zeroGrad() {
	for _, p := range e.params {
		clear(p.grad)
	}
}

// alloc gives a deferred tensor its own storage.
func (t *tensor[T]) alloc() {
	if !t.deferred {
		return
	}
	t.deferred = false
	if t.kind == kFloat {
		t.f = make([]T, t.size)
	} else {
		t.i = make([]int64, t.size)
	}
	t.setPub()
}

// share assigns storage to the deferred values of a forward-only plan (or
// of a training plan with Options.Keep, once keepForBackward has given the
// values backward reads their own) from a pool of buffers: a value takes a free buffer when its node runs and
// gives it back after its last reader has run. Graph outputs keep their
// own storage. Ops never write an output over one of their inputs, and
// every op overwrites its whole output, so stale contents do not matter.
func (p *plan[T]) share() {
	last := map[*tensor[T]]int{}
	for i, s := range p.steps {
		for _, t := range s.in {
			if t != nil {
				last[t] = i
			}
		}
	}
	keep := map[*tensor[T]]bool{}
	for _, t := range p.outputs {
		keep[t] = true
		t.alloc()
	}
	var freeF [][]T
	var freeI [][]int64
	take := func(t *tensor[T]) {
		if t.kind == kFloat {
			best := -1
			for j, b := range freeF {
				if cap(b) >= t.size && (best < 0 || cap(b) < cap(freeF[best])) {
					best = j
				}
			}
			if best >= 0 {
				t.f = freeF[best][:t.size]
				freeF = append(freeF[:best], freeF[best+1:]...)
			} else {
				t.f = make([]T, t.size)
			}
		} else {
			best := -1
			for j, b := range freeI {
				if cap(b) >= t.size && (best < 0 || cap(b) < cap(freeI[best])) {
					best = j
				}
			}
			if best >= 0 {
				t.i = freeI[best][:t.size]
				freeI = append(freeI[:best], freeI[best+1:]...)
			} else {
				t.i = make([]int64, t.size)
			}
		}
		t.deferred, t.shared = false, true
		t.setPub()
	}
	given := map[*tensor[T]]bool{}
	give := func(t *tensor[T]) {
		if !t.shared || keep[t] || given[t] {
			return
		}
		given[t] = true
		if t.kind == kFloat {
			freeF = append(freeF, t.f[:cap(t.f)])
		} else {
			freeI = append(freeI, t.i[:cap(t.i)])
		}
	}
	for i, s := range p.steps {
		for _, t := range s.out {
			if t.deferred {
				take(t)
			}
		}
		for _, t := range s.in {
			if t != nil && last[t] == i {
				give(t)
			}
		}
		for _, t := range s.out {
			if _, read := last[t]; !read {
				give(t) // nobody reads it
			}
		}
	}
}

// floats is the number of float and integer elements a plan's values own
// (shared buffers counted once), for tests and diagnostics.
func (p *plan[T]) floats() int {
	seen := map[*T]bool{}
	seenI := map[*int64]bool{}
	n := 0
	for _, t := range p.vals {
		if t.state || t.static {
			continue
		}
		if len(t.f) > 0 && !seen[&t.f[:1][0]] {
			seen[&t.f[:1][0]] = true
			n += cap(t.f)
		}
		if len(t.i) > 0 && !seenI[&t.i[:1][0]] {
			seenI[&t.i[:1][0]] = true
			n += cap(t.i)
		}
	}
	return n
}
