package exec

import (
	"math"

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
		for i, v := range s {
			s[i] = min(max(v, e.lo), e.hi)
		}
	}
}

// fusedActivation returns the activation to fuse into this node's output 0,
// y, marking the activation's node as fused into it; nil when there is
// none: y is a graph output or has another reader, the program is not
// forward-only, or Clip's bounds are not constants.
func (c *nodeCtx[T]) fusedActivation(y *tensor[T]) *epilogue {
	if !c.e.opts.Inference || !is32[T]() || len(c.n.Outputs) == 0 || c.n.Outputs[0] == nil {
		return nil
	}
	v := c.n.Outputs[0]
	if v.IsOutput || len(v.Uses) != 1 || v.Uses[0].Index != 0 {
		return nil
	}
	u := v.Uses[0].Node
	if u.Domain != "" && u.Domain != "ai.onnx" || len(u.Outputs) != 1 || u.Outputs[0] == nil {
		return nil
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
			t := c.p.vals[u.Inputs[i+1]]
			if t == nil || !t.static || t.kind != kFloat || t.size != 1 {
				return nil
			}
			*b = float32(t.f[0])
		}
	default:
		return nil
	}
	if c.p.fused == nil {
		c.p.fused = map[*ir.Node]bool{}
	}
	c.p.fused[u] = true
	return e
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
