package exec

import (
	"fmt"

	"github.com/nnkit/nnkit/ir"
)

// gateClip is the recurrent ops' clip attribute (LSTM, GRU, RNN): it bounds
// an activation's input to [−clip, clip], as ONNX Runtime computes, and
// remembers which inputs it clipped, since a clipped input passes no
// gradient. clipped[d][(t·N+n)·G+gate·H+k] is direction d's record.
type gateClip[T Float] struct {
	on      bool
	v       T
	clipped [][]bool
}

// newGateClip reads n's clip attribute; dirs × size records are kept when
// it is set.
func newGateClip[T Float](n *ir.Node, dirs, size int) *gateClip[T] {
	g := &gateClip[T]{on: n.HasAttr("clip"), v: T(n.Float("clip", 0))}
	if g.on {
		g.clipped = make([][]bool, dirs)
		for d := range g.clipped {
			g.clipped[d] = make([]bool, size)
		}
	}
	return g
}

// clip bounds v, the input at record i of direction d.
func (g *gateClip[T]) clip(d, i int, v T) T {
	if !g.on {
		return v
	}
	m := v > g.v || v < -g.v
	g.clipped[d][i] = m
	if m {
		return max(-g.v, min(g.v, v))
	}
	return v
}

// pass zeroes the gradient of an input that clip bounded.
func (g *gateClip[T]) pass(d, i int, grad T) T {
	if g.on && g.clipped[d][i] {
		return 0
	}
	return grad
}

// checkGates refuses what the recurrent kernels do not implement: an
// activations list other than the default (per direction, Sigmoid then
// perDir−1 Tanh: LSTM 3, GRU 2; 0 leaves it to the caller, as RNN's
// are checked by rnnActs) and a clip that is not positive.
func checkGates(n *ir.Node, perDir int) error {
	if acts := n.Strs("activations", nil); acts != nil && perDir > 0 {
		for i, a := range acts {
			want := "Tanh"
			if i%perDir == 0 {
				want = "Sigmoid"
			}
			if a != want {
				return fmt.Errorf("activations %v", acts)
			}
		}
	}
	if n.HasAttr("clip") && !(n.Float("clip", 0) > 0) {
		return fmt.Errorf("clip=%v (must be positive)", n.Float("clip", 0))
	}
	return nil
}
