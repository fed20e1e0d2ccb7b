package optim

import (
	"fmt"
	"math"

	"github.com/nnkit/nnkit/exec"
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
// (capturable=False, so the bias corrections are Python floats).
func (o *Adam) Step(params []*exec.Param) {
	c := o.cfg
	b1, b2 := c.Betas[0], c.Betas[1]
	fb1, fb2 := f32(b1), f32(b2)
	one1, one2 := f32(1-b1), f32(1-b2)
	wd := f32(c.WeightDecay)
	decay := f32(1 - c.LR*c.WeightDecay)
	eps := f32(c.Eps)
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		st := o.state[p]
		if st == nil {
			st = &adamState{m: make([]float32, len(p.Value)), v: make([]float32, len(p.Value))}
			o.state[p] = st
		}
		st.step++ // a float32 tensor in PyTorch; exact for any realistic count
		bc1 := 1 - math.Pow(b1, st.step)
		bc2 := 1 - math.Pow(b2, st.step)
		stepSize := f32(-(c.LR / bc1))
		bc2sqrt := f32(math.Sqrt(bc2))
		for i, g := range p.Grad {
			if o.decoupled {
				p.Value[i] = mul32(p.Value[i], decay) // param.mul_(1 − lr·wd), always done (×1 is exact)
			} else if c.WeightDecay != 0 {
				g = fma32(g, wd, p.Value[i]) // grad.add(param, alpha=wd)
			}
			st.m[i] = fma32(mul32(st.m[i], fb1), one1, g)        // exp_avg.mul_(β₁).add_(grad, alpha=1−β₁)
			st.v[i] = addcmul32(mul32(st.v[i], fb2), one2, g, g) // exp_avg_sq.mul_(β₂).addcmul_(grad, grad, value=1−β₂)
			denom := float32(float64(sqrt32(st.v[i])) / float64(bc2sqrt))
			denom = float32(float64(denom) + float64(eps))               // (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
			p.Value[i] = addcdiv32(p.Value[i], stepSize, st.m[i], denom) // param.addcdiv_(exp_avg, denom, value=−step_size)
		}
	}
}
