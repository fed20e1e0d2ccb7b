package optim

import (
	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/train/optim/internal/fused"
)

// RMSpropConfig holds torch.optim.RMSprop's hyperparameters.
type RMSpropConfig struct {
	LR          float64 // default 1e-2
	Alpha       float64 // default 0.99
	Eps         float64 // default 1e-8, added OUTSIDE the square root
	WeightDecay float64 // default 0
	Momentum    float64 // default 0
	Centered    bool    // default false
}

// DefaultRMSprop is PyTorch's default configuration.
var DefaultRMSprop = RMSpropConfig{LR: 1e-2, Alpha: 0.99, Eps: 1e-8}

// RMSprop is torch.optim.RMSprop:
//
//	g ← g + wd·θ;  v ← α·v + (1−α)g²
//	avg = √v, or √(v − ḡ²) with ḡ ← α·ḡ + (1−α)g when centered
//	θ ← θ − lr·g/(avg + eps), or with momentum b ← μ·b + g/(avg+eps), θ ← θ − lr·b
type RMSprop struct {
	cfg   RMSpropConfig
	state map[*exec.Param]*rmsState
	// per step, reused
	ps     []*exec.Param
	sts    []*rmsState
	chunks []fused.Chunk
}

type rmsState struct{ sq, gavg, buf []float32 }

// NewRMSprop checks the configuration like PyTorch's constructor does.
func NewRMSprop(c RMSpropConfig) (*RMSprop, error) {
	for _, h := range []struct {
		name string
		v    float64
	}{{"learning rate", c.LR}, {"epsilon", c.Eps}, {"momentum", c.Momentum}, {"weight decay", c.WeightDecay}, {"alpha", c.Alpha}} {
		if err := checkNonNeg(h.name, h.v); err != nil {
			return nil, err
		}
	}
	return &RMSprop{cfg: c, state: map[*exec.Param]*rmsState{}}, nil
}

func (o *RMSprop) Name() string          { return "rmsprop" }
func (o *RMSprop) LR() float64           { return o.cfg.LR }
func (o *RMSprop) SetLR(lr float64)      { o.cfg.LR = lr }
func (o *RMSprop) Config() RMSpropConfig { return o.cfg }

// Step follows torch 1.13's _single_tensor_rmsprop, the chunks of every
// parameter spread over the CPUs.
func (o *RMSprop) Step(params []*exec.Param) {
	c := o.cfg
	o.ps = withGrad(o.ps, params)
	o.sts = o.sts[:0]
	for _, p := range o.ps {
		st := o.state[p]
		if st == nil {
			n := len(p.Value)
			st = &rmsState{sq: make([]float32, n)}
			if c.Centered {
				st.gavg = make([]float32, n)
			}
			if c.Momentum > 0 {
				st.buf = make([]float32, n) // zeros, unlike SGD's clone
			}
			o.state[p] = st
		}
		o.sts = append(o.sts, st)
	}
	parallel(o.ps, &o.chunks, func(ch fused.Chunk) {
		p, st := o.ps[ch.P], o.sts[ch.P]
		sub := rmsState{sq: st.sq[ch.Lo:ch.Hi]}
		if st.gavg != nil {
			sub.gavg = st.gavg[ch.Lo:ch.Hi]
		}
		if st.buf != nil {
			sub.buf = st.buf[ch.Lo:ch.Hi]
		}
		o.update(p.Value[ch.Lo:ch.Hi], p.Grad[ch.Lo:ch.Hi], &sub)
	})
}

func (o *RMSprop) update(value, grad []float32, st *rmsState) {
	c := o.cfg
	h := fused.RMSHyper{WD: f32(c.WeightDecay), Alpha: f32(c.Alpha), One: f32(1 - c.Alpha), Eps: f32(c.Eps), Mom: f32(c.Momentum), NegLR: f32(-c.LR)}
	if c.WeightDecay != 0 {
		h.Flags |= fused.RMSWeightDecay // grad.add(param, alpha=wd)
	}
	// square_avg.mul_(α).addcmul_(g, g, value=1−α)
	if c.Centered {
		// grad_avg.mul_(α).add_(g, alpha=1−α); square_avg.addcmul(grad_avg, grad_avg, value=−1).sqrt_()
		h.Flags |= fused.RMSCentered
	}
	// avg.add_(eps)
	if c.Momentum > 0 {
		// buf.mul_(μ).addcdiv_(g, avg); param.add_(buf, alpha=−lr)
		h.Flags |= fused.RMSMomentum
	}
	// else param.addcdiv_(g, avg, value=−lr)
	fused.RMSprop(value, grad, st.sq, st.gavg, st.buf, &h)
}
