package optim

import (
	"fmt"
	"math"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/train/optim/internal/fused"
)

// AdamConfig holds the hyperparameters of torch.optim.Adam and AdamW.
type AdamConfig struct {
	LR          float64    // Adam and AdamW default 1e-3
	Betas       [2]float64 // default (0.9, 0.999)
	Eps         float64    // default 1e-8, added after the square root
	WeightDecay float64    // Adam: coupled L2, default 0; AdamW: decoupled, default 0.01
}

// DefaultAdam and DefaultAdamW are PyTorch's defaults.
var (
	DefaultAdam  = AdamConfig{LR: 1e-3, Betas: [2]float64{0.9, 0.999}, Eps: 1e-8, WeightDecay: 0}
	DefaultAdamW = AdamConfig{LR: 1e-3, Betas: [2]float64{0.9, 0.999}, Eps: 1e-8, WeightDecay: 1e-2}
)

// Adam is torch.optim.Adam (decoupled=false) or torch.optim.AdamW
// (decoupled=true), without amsgrad:
//
//	Adam:  g ← g + wd·θ            AdamW: θ ← θ·(1 − lr·wd)
//	m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
//	θ ← θ − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + eps)
type Adam struct {
	cfg       AdamConfig
	decoupled bool
	state     map[*exec.Param]*adamState
	// per step, reused
	ps     []*exec.Param
	sts    []*adamState
	hyp    []fused.AdamHyper
	chunks []fused.Chunk
}

type adamState struct {
	step float64
	m, v []float32
}

func newAdam(c AdamConfig, decoupled bool) (*Adam, error) {
	if err := checkNonNeg("learning rate", c.LR); err != nil {
		return nil, err
	}
	if err := checkNonNeg("epsilon", c.Eps); err != nil {
		return nil, err
	}
	if err := checkNonNeg("weight decay", c.WeightDecay); err != nil {
		return nil, err
	}
	for i, b := range c.Betas {
		if math.IsNaN(b) || b < 0 || b >= 1 {
			return nil, fmt.Errorf("invalid beta parameter at index %d: %v (must be in [0, 1))", i, b)
		}
	}
	return &Adam{cfg: c, decoupled: decoupled, state: map[*exec.Param]*adamState{}}, nil
}

// NewAdam is torch.optim.Adam (weight decay coupled into the gradient).
func NewAdam(c AdamConfig) (*Adam, error) { return newAdam(c, false) }

// NewAdamW is torch.optim.AdamW (decoupled weight decay).
func NewAdamW(c AdamConfig) (*Adam, error) { return newAdam(c, true) }

func (o *Adam) LR() float64 { return o.cfg.LR }
func (o *Adam) Name() string {
	if o.decoupled {
		return "adamw"
	}
	return "adam"
}
func (o *Adam) SetLR(lr float64)   { o.cfg.LR = lr }
func (o *Adam) Config() AdamConfig { return o.cfg }

// Step follows torch 1.13's _single_tensor_adam / _single_tensor_adamw
// (capturable=False, so the bias corrections are Python floats), one fused
// vector pass per chunk of each parameter, the chunks spread over the CPUs.
func (o *Adam) Step(params []*exec.Param) {
	c := o.cfg
	b1, b2 := c.Betas[0], c.Betas[1]
	base := fused.AdamHyper{
		Decay: 1, // Adam: ×1 is exact
		B1:    f32(b1), One1: f32(1 - b1),
		B2: f32(b2), One2: f32(1 - b2),
		Eps: f32(c.Eps),
	}
	if o.decoupled {
		base.Decay = f32(1 - c.LR*c.WeightDecay) // param.mul_(1 − lr·wd), always done
	} else if c.WeightDecay != 0 {
		base.WD, base.Coupled = f32(c.WeightDecay), 1 // grad.add(param, alpha=wd)
	}
	o.ps = withGrad(o.ps, params)
	o.sts, o.hyp = o.sts[:0], o.hyp[:0]
	for _, p := range o.ps {
		st := o.state[p]
		if st == nil {
			st = &adamState{m: make([]float32, len(p.Value)), v: make([]float32, len(p.Value))}
			o.state[p] = st
		}
		st.step++ // a float32 tensor in PyTorch; exact for any realistic count
		h := base
		h.StepSize = f32(-(c.LR / (1 - math.Pow(b1, st.step))))
		h.BC2Sqrt = f32(math.Sqrt(1 - math.Pow(b2, st.step)))
		o.sts, o.hyp = append(o.sts, st), append(o.hyp, h)
	}
	// exp_avg.mul_(β₁).add_(grad, alpha=1−β₁);
	// exp_avg_sq.mul_(β₂).addcmul_(grad, grad, value=1−β₂);
	// denom = (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps);
	// param.addcdiv_(exp_avg, denom, value=−step_size)
	parallel(o.ps, &o.chunks, func(ch fused.Chunk) {
		p, st := o.ps[ch.P], o.sts[ch.P]
		fused.Adam(p.Value[ch.Lo:ch.Hi], p.Grad[ch.Lo:ch.Hi], st.m[ch.Lo:ch.Hi], st.v[ch.Lo:ch.Hi], &o.hyp[ch.P])
	})
}
