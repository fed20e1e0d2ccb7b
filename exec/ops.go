package exec

import (
	"fmt"
	"sort"

	"github.com/nnkit/nnkit/ir"
)

// nodeCtx is what an op's plan function sees: the node, its input tensors
// (shapes known, contents known when static) and its outputs to create.
//
// Its step (inputs, outputs, closures) is what the plan runs: build appends
// &c.step rather than a copy, since the closures keep c reachable anyway
// (one allocation less per node; issue 9 counts memory per node).
type nodeCtx[T Float] struct {
	step[T] // node, id, in, out, fwd, bwd
	e       *engine[T]
	p       *plan[T]
	n       *ir.Node
	opset   int64
	inf     []*ir.Operand // ir's inferred outputs (see inferred), once asked for
	infErr  error         // or why ir refused the node
}

// input returns input i, or nil if it is absent.
func (c *nodeCtx[T]) input(i int) *tensor[T] {
	if i < len(c.in) {
		return c.in[i]
	}
	return nil
}

// need returns input i, which must be present and of one of the kinds.
func (c *nodeCtx[T]) need(i int, kinds ...kind) (*tensor[T], error) {
	t := c.input(i)
	if t == nil {
		return nil, fmt.Errorf("input %d is missing", i)
	}
	for _, k := range kinds {
		if t.kind == k {
			return t, nil
		}
	}
	return nil, fmt.Errorf("input %d (%s) has element type %s, want %v", i, t.name, t.kind, kinds)
}

// used reports whether output j is read by a node or is a graph output.
func (c *nodeCtx[T]) used(j int) bool {
	if j >= len(c.n.Outputs) || c.n.Outputs[j] == nil {
		return false
	}
	v := c.n.Outputs[j]
	return v.IsOutput || len(v.Uses) > 0
}

// output creates output j with the given kind and shape, allocated.
func (c *nodeCtx[T]) output(j int, k kind, shape []int) *tensor[T] {
	if err := c.e.reserve(c.p, c.n.Label(), outputName(c.n, j), k, shape); err != nil {
		panic(budgetPanic{err.(*BudgetError)})
	}
	var t *tensor[T]
	// Storage is deferred (shared by build when lifetimes allow) only for
	// outputs the node lists: one it omits (an LSTM's Y_h when the file
	// names only Y) is not a step output, and is the op's own scratch.
	if (c.e.opts.Inference || c.e.opts.Keep != nil) && j < len(c.out) {
		t = &tensor[T]{kind: k, shape: shape, size: numel(shape), deferred: true}
	} else {
		t = newTensor[T]("", k, shape)
	}
	if j < len(c.out) {
		c.out[j] = t
	}
	return t
}

// ints returns the contents of integer input i, which must be known when
// the plan is built (a shape, axes, pads, ...).
func (c *nodeCtx[T]) ints(i int, what string) ([]int64, error) {
	t := c.input(i)
	if t == nil {
		return nil, fmt.Errorf("%s (input %d) is missing", what, i)
	}
	if t.kind == kFloat {
		return nil, fmt.Errorf("%s (input %d, %s) must be an integer tensor", what, i, t.name)
	}
	if !t.static {
		return nil, fmt.Errorf("%s (input %d, %s) depends on the data; only shapes computable before running are supported", what, i, t.name)
	}
	return t.i, nil
}

// inferred returns output j's shape as ir's shape inference gives it for
// this node's input shapes and static integer contents (ir.InferNode):
// the planners of operators whose output shape is all there is to compute
// (Reshape, Flatten, Unsqueeze) take it from there.
func (c *nodeCtx[T]) inferred(j int) ([]int, error) {
	if c.inf == nil && c.infErr == nil {
		ins := make([]*ir.Operand, len(c.in))
		for i, t := range c.in {
			if t == nil {
				continue
			}
			ins[i] = &ir.Operand{Elem: t.kind.dtype(), Shape: i64s(t.shape)}
			switch {
			case t.kind != kFloat && t.static:
				ins[i].Ints = t.i
			case t.static && t.size <= ir.MaxFloats:
				ins[i].Floats = make([]float64, t.size)
				for k, v := range t.f {
					ins[i].Floats[k] = float64(v)
				}
			}
		}
		c.inf, c.infErr = ir.InferNode(c.n, c.opset, ins)
	}
	if c.infErr != nil {
		return nil, c.infErr
	}
	if j >= len(c.inf) || c.inf[j] == nil {
		return nil, fmt.Errorf("the shape of output %d is not known", j)
	}
	return dims(c.inf[j].Shape), nil
}

// inferredOr is output j's shape from ir when the node lists output j;
// otherwise scratch, the shape of the buffer the kernel keeps in its place
// (an LSTM's Y_h when the file names only Y).
func (c *nodeCtx[T]) inferredOr(j int, scratch []int) ([]int, error) {
	if j >= len(c.n.Outputs) || c.n.Outputs[j] == nil {
		return scratch, nil
	}
	return c.inferred(j)
}

// staticScalar returns, as a float64, the single value of input i, which
// must be known when the plan is built and hold one element (a float or an
// integer): a fill value, a Range bound. what names it in errors.
func (c *nodeCtx[T]) staticScalar(i int, what string) (float64, error) {
	t := c.input(i)
	if t == nil {
		return 0, fmt.Errorf("%s (input %d) is missing", what, i)
	}
	if !t.static {
		return 0, fmt.Errorf("%s (input %d, %s) depends on the data; it must be a constant", what, i, t.name)
	}
	if t.size != 1 {
		return 0, fmt.Errorf("%s (input %d, %s) has %d elements, want 1", what, i, t.name, t.size)
	}
	if t.kind == kFloat {
		return float64(t.f[0]), nil
	}
	return float64(t.i[0]), nil
}

func (c *nodeCtx[T]) axes(raw []int64, rank int) ([]int, error) {
	out := make([]int, len(raw))
	seen := map[int]bool{}
	for i, a := range raw {
		ax, err := ir.NormAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[ax] {
			return nil, fmt.Errorf("axis %d is repeated in %v", a, raw)
		}
		seen[ax] = true
		out[i] = ax
	}
	return out, nil
}

// grain is the smallest piece of elementwise work worth a goroutine.
const grain = 1 << 14

// par runs f over [0, n) in parallel pieces of at least grain elements.
func (c *nodeCtx[T]) par(n int, f func(lo, hi int)) { c.e.pool.run(n, grain, f) }

func opsFor[T Float]() map[string]opDef[T] {
	var z T
	switch any(z).(type) {
	case float32:
		return any(ops32).(map[string]opDef[T])
	default:
		return any(ops64).(map[string]opDef[T])
	}
}

var (
	ops32 = opTable[float32]()
	ops64 = opTable[float64]()
)

func opTable[T Float]() map[string]opDef[T] {
	m := map[string]opDef[T]{}
	registerUnary(m)
	registerBinary(m)
	registerMatMul(m)
	registerShape(m)
	registerTensorOps(m)
	registerConv(m)
	registerConvTranspose(m)
	registerResize(m)
	registerPool(m)
	registerNorm(m)
	registerInstanceNorm(m)
	registerSoftmax(m)
	registerReduce(m)
	registerDropout(m)
	registerLSTM(m)
	registerGRU(m)
	registerScatter(m)
	registerTopK(m)
	registerConst(m)
	registerVolumes(m) // after registerConv and registerPool: wraps them
	return m
}

// SupportedOps lists the ONNX operators (default domain) the executor
// runs, forward and backward: the keys of its op table, nnkit's one list
// of supported operators (lint's NN503 reports the others). ir's schema
// table and its shape inference cover at least these (TestEveryOpHasSchema,
// TestEveryOpHasShapeInference).
func SupportedOps() []string {
	out := make([]string, 0, len(ops32))
	for k := range ops32 {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Supports reports whether the executor has n's operator: a default-domain
// operator of SupportedOps. Compile also checks the node's attribute values
// (a 3-D pooling's storage_order, an LSTM's activations, ...), which can
// still make it refuse the node.
func Supports(n *ir.Node) bool {
	_, ok := ops32[n.OpType]
	return ok && n.DefaultDomain()
}
