package optim

import (
	"math"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/train/optim/internal/fused"
)

// GradNorm is the L2 norm of all gradients taken together, computed as
// torch.nn.utils.clip_grad_norm_ does: the norm of the per-parameter norms,
// each rounded to float32. Parameters with a nil Grad are skipped. Each
// parameter's sum of squares is taken in float64 in fixed chunks (in
// parallel; the chunks' sums are added in order, so the bits do not depend
// on the thread count).
func GradNorm(params []*exec.Param) float32 {
	var c clipper
	return c.norm(params)
}

// clipper holds the buffers of one norm computation.
type clipper struct {
	ps       []*exec.Param
	chunks   []fused.Chunk
	partials []float64
}

func (c *clipper) norm(params []*exec.Param) float32 {
	c.ps = withGrad(c.ps, params)
	c.chunks = c.chunks[:0]
	work := 0
	for i, p := range c.ps {
		c.chunks = fused.AppendChunks(c.chunks, i, len(p.Grad))
		work += len(p.Grad)
	}
	if cap(c.partials) < len(c.chunks) {
		c.partials = make([]float64, len(c.chunks))
	}
	partials, chunks, ps := c.partials[:len(c.chunks)], c.chunks, c.ps
	fused.Run(len(chunks), work, func(lo, hi int) {
		for k, ch := range chunks[lo:hi] {
			partials[lo+k] = fused.SumSquares(ps[ch.P].Grad[ch.Lo:ch.Hi])
		}
	})
	var total float64
	k := 0
	for i := range ps {
		var s float64
		for ; k < len(chunks) && chunks[k].P == i; k++ {
			s += partials[k]
		}
		n := float64(float32(math.Sqrt(s))) // torch.norm(g) is a float32 tensor
		total += n * n
	}
	return float32(math.Sqrt(total))
}

// ClipGradNorm is torch.nn.utils.clip_grad_norm_(params, maxNorm): one
// total L2 norm over every gradient; all gradients are multiplied by
// maxNorm/(total+1e-6) when that is below 1. It returns the norm before
// clipping. A non-finite norm leaves the gradients non-finite, as in
// PyTorch (error_if_nonfinite=False); the training loop reports it.
func ClipGradNorm(params []*exec.Param, maxNorm float64) float32 {
	var c clipper
	total := c.norm(params)
	// clip_coef = max_norm / (total_norm + 1e-6): Python's float / tensor is
	// tensor.reciprocal() * float, all in float32.
	den := float32(float64(total) + float64(f32(1e-6)))
	coef := float32(float64(float32(1/float64(den))) * float64(f32(maxNorm)))
	if coef < 1 { // clamp(max=1.0); multiplying by 1 is exact, so skip it
		parallel(c.ps, &c.chunks, func(ch fused.Chunk) {
			fused.Scale(c.ps[ch.P].Grad[ch.Lo:ch.Hi], coef)
		})
	} else if math.IsNaN(float64(coef)) {
		for _, p := range params {
			for i := range p.Grad {
				p.Grad[i] = float32(math.NaN())
			}
		}
	}
	return total
}

// ClipGradValue is torch.nn.utils.clip_grad_value_: every gradient element
// clamped to [−v, v]. NaN stays NaN.
func ClipGradValue(params []*exec.Param, v float64) {
	hi := f32(v)
	lo := -hi
	for _, p := range params {
		for i, g := range p.Grad {
			if g > hi {
				p.Grad[i] = hi
			} else if g < lo {
				p.Grad[i] = lo
			}
		}
	}
}

// L1Penalty is Σ|θ| over all parameters (the value λ multiplies in the
// loss), summed in float64.
func L1Penalty(params []*exec.Param) float64 {
	var s float64
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		for _, v := range p.Value {
			s += math.Abs(float64(v))
		}
	}
	return s
}

// AddL1Grad adds the gradient of λ·Σ|θ| to every parameter's Grad:
// λ·sign(θ), with sign(0) = 0 exactly as autograd differentiates
// torch.abs at 0. The addition is one float32 add, as autograd
// accumulates the two gradient contributions.
func AddL1Grad(params []*exec.Param, lambda float64) {
	l := f32(lambda)
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		for i, v := range p.Value {
			switch {
			case v > 0:
				p.Grad[i] = float32(float64(p.Grad[i]) + float64(l))
			case v < 0:
				p.Grad[i] = float32(float64(p.Grad[i]) - float64(l))
			}
		}
	}
}
