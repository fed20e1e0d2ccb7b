package exec

import (
	"math"
	"slices"

	"github.com/nnkit/nnkit/exec/internal/vec"
	"github.com/nnkit/nnkit/ir"
)

// Activation fusion in forward-only programs (Options.Inference): a node
// that computes a value read by nothing but a Relu or a Clip (with constant
// bounds) may apply that activation to its output itself, block by block
// while the block is in cache, instead of leaving a separate pass over
// memory to the activation's node. The activation's node then makes no
// step: its output is the producer's output tensor. Only the producer's
// plan decides (fusedActivation); the results are the same bits as the
// two nodes run one after the other.
//
// Residual fusion: an inference convolution whose output is read only by
// an Add with a value computed already (a ResNet block's or a MobileNetV2
// bottleneck's skip connection) adds that value to each block of its
// output, then applies the Relu or Clip that only the Add feeds
// (fusedResidual): one pass over the block's output instead of three
// (the Add's, the activation's), same bits.

// epilogue is an elementwise activation applied in place: Relu, or Clip to
// [lo, hi]. A nil *epilogue applies nothing.
type epilogue struct {
	relu   bool
	lo, hi float32
}

// apply replaces s by the activation of s, with the semantics of
// unaryFwd's Relu and Clip (NaN stays NaN).
func (e *epilogue) apply(s []float32) {
	switch {
	case e == nil:
	case e.relu:
		vec.Relu(s, s)
	default:
		vec.Clip(s, s, e.lo, e.hi)
	}
}

// fusedActivation returns the activation to fuse into this node's output 0,
// y, marking the activation's node as fused into it; nil when there is
// none: y is a graph output or has another reader, the program is not
// forward-only, or Clip's bounds are not constants.
func (c *nodeCtx[T]) fusedActivation(y *tensor[T]) *epilogue {
	if !c.mayFuse() {
		return nil
	}
	u, e := c.activationOf(c.n.Outputs[0])
	if e != nil {
		c.fuse(u, 0)
	}
	return e
}

// mayFuse reports whether the node being planned may compute its readers'
// values too: a forward-only float32 program whose values are not
// observed while it runs (Options.Watch: the producer's output would be
// seen with the readers' work done), and a node with an output 0.
func (c *nodeCtx[T]) mayFuse() bool {
	o := c.e.opts
	return o.Inference && is32[T]() && !(o.Watch != nil && o.Observe != nil) && len(c.n.Outputs) > 0 && c.n.Outputs[0] != nil
}

// activationOf returns v's only reader and its activation when that reader
// is a Relu, or a Clip with constant bounds, and v is not a graph output.
func (c *nodeCtx[T]) activationOf(v *ir.Value) (*ir.Node, *epilogue) {
	if v.IsOutput || len(v.Uses) != 1 || v.Uses[0].Index != 0 {
		return nil, nil
	}
	u := v.Uses[0].Node
	if !onnxDomain(u) || len(u.Outputs) != 1 || u.Outputs[0] == nil {
		return nil, nil
	}
	var e *epilogue
	switch u.OpType {
	case "Relu":
		e = &epilogue{relu: true}
	case "Clip":
		e = &epilogue{lo: float32(u.Float("min", -math.MaxFloat32)), hi: float32(u.Float("max", math.MaxFloat32))}
		for i, b := range []*float32{&e.lo, &e.hi} {
			if i+1 >= len(u.Inputs) || u.Inputs[i+1] == nil {
				continue
			}
			bound, ok := c.constScalar(u.Inputs[i+1])
			if !ok {
				return nil, nil
			}
			*b = bound
		}
	default:
		return nil, nil
	}
	return u, e
}

// constScalar returns the value of v when it is a float constant with one
// element: computed already (an initializer, a folded value), or the
// output of a Constant node not planned yet (PyTorch's export puts a
// Clip's bounds, ReLU6's 0 and 6, just before the Clip, after the
// convolution that would fuse it).
func (c *nodeCtx[T]) constScalar(v *ir.Value) (float32, bool) {
	if t := c.p.vals[v]; t != nil {
		if !t.static || t.kind != kFloat || t.size != 1 {
			return 0, false
		}
		return float32(t.f[0]), true
	}
	n := v.Producer
	if n == nil || n.OpType != "Constant" || !onnxDomain(n) || len(n.Attrs) != 1 {
		return 0, false
	}
	if a := n.Attr("value_float"); a != nil && a.Type == ir.AttrFloat {
		return a.F, true
	}
	t := n.TensorAttr("value")
	if t == nil || t.DType != ir.Float32 || t.Len() != 1 {
		return 0, false
	}
	f, err := t.Float32s()
	if err != nil || len(f) != 1 {
		return 0, false
	}
	return f[0], true
}

func onnxDomain(n *ir.Node) bool { return n.Domain == "" || n.Domain == "ai.onnx" }

// fuse marks node u as computed by the node being planned: u makes no
// step, and its output is the tensor of its input `in` (the fused
// producer's output).
func (c *nodeCtx[T]) fuse(u *ir.Node, in int) {
	if c.p.fused == nil {
		c.p.fused = map[*ir.Node]int{}
	}
	c.p.fused[u] = in
}

// fuseResidual lets the tests plan the unfused residual Add, to compare.
var fuseResidual = true

// fusedResidual returns, for a node whose output y is read by nothing but
// an Add of y and another value of y's shape that is computed already
// (a residual block's skip connection, in a forward-only program), that
// other value's tensor and the activation (Relu or Clip) that only the
// Add's output feeds, if any; the Add, and the activation when there is
// one, are marked as fused: the node writes y + skip, then the activation,
// block by block while the block is in cache, and y is the Add's (and the
// activation's) output. The bits are those of the separate nodes: one
// float32 addition, then the activation. skip is added to the node's
// inputs, so that its storage outlives the node's step. Nothing is fused
// (nil, nil) when y has another reader or is a graph output, when the
// Add broadcasts or reads y twice, or when the other value is computed
// after this node: then the node that computes it may fuse the Add.
func (c *nodeCtx[T]) fusedResidual(y *tensor[T]) (*tensor[T], *epilogue) {
	if !fuseResidual || !c.mayFuse() {
		return nil, nil
	}
	v := c.n.Outputs[0]
	if v.IsOutput || len(v.Uses) != 1 {
		return nil, nil
	}
	u, at := v.Uses[0].Node, v.Uses[0].Index
	if u.OpType != "Add" || !onnxDomain(u) || len(u.Inputs) != 2 || at > 1 || len(u.Outputs) != 1 || u.Outputs[0] == nil {
		return nil, nil
	}
	other := u.Inputs[1-at]
	if other == nil || other == v {
		return nil, nil
	}
	skip := c.p.vals[other] // set only once its producer is planned
	if skip == nil || skip.kind != kFloat || !slices.Equal(skip.shape, y.shape) {
		return nil, nil
	}
	c.fuse(u, at)
	c.in = append(c.in, skip)
	a, e := c.activationOf(u.Outputs[0])
	if e != nil {
		c.fuse(a, 0)
	}
	return skip, e
}

// aliasIdentity reports whether node n (with input tensors in) is an
// Identity of a parameter in a forward-only program, whose output can be
// the parameter's own storage instead of a copy made on every Run.
// PyTorch's export reads a weight or bias shared by several layers (or
// folded BatchNorm biases that came out equal) through such Identity
// nodes; aliasing also lets the convolution that reads it pack the weights
// once (conv_infer.go).
func (e *engine[T]) aliasIdentity(n *ir.Node, in []*tensor[T]) bool {
	if !e.opts.Inference || n.OpType != "Identity" || n.Domain != "" && n.Domain != "ai.onnx" ||
		len(in) != 1 || in[0] == nil || len(n.Outputs) != 1 || n.Outputs[0] == nil || n.Outputs[0].IsOutput {
		return false
	}
	t := in[0]
	return t.state && (t.req || t.frozen)
}
