package optim

import (
	"fmt"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/train/optim/internal/fused"
)

// SGDConfig holds torch.optim.SGD's hyperparameters. PyTorch's defaults are
// the zero values except LR, which PyTorch requires.
type SGDConfig struct {
	LR          float64
	Momentum    float64 // default 0
	Dampening   float64 // default 0; not applied on the first step
	WeightDecay float64 // default 0; coupled L2: g ← g + wd·θ
	Nesterov    bool    // needs Momentum > 0 and Dampening = 0
}

// SGD is torch.optim.SGD:
//
//	g ← g + wd·θ
//	b ← g (first step), b ← μ·b + (1−dampening)·g (later)
//	g ← g + μ·b (nesterov) or g ← b
//	θ ← θ − lr·g
type SGD struct {
	cfg SGDConfig
	buf map[*exec.Param][]float32
	// per step, reused
	ps     []*exec.Param
	bufs   [][]float32
	first  []bool
	chunks []fused.Chunk
}

// NewSGD checks the configuration like PyTorch's constructor does.
func NewSGD(c SGDConfig) (*SGD, error) {
	for _, h := range []struct {
		name string
		v    float64
	}{{"learning rate", c.LR}, {"momentum", c.Momentum}, {"dampening", c.Dampening}, {"weight decay", c.WeightDecay}} {
		if err := checkNonNeg(h.name, h.v); err != nil {
			return nil, err
		}
	}
	if c.Nesterov && (c.Momentum <= 0 || c.Dampening != 0) {
		return nil, fmt.Errorf("nesterov momentum requires a momentum > 0 and zero dampening (momentum %v, dampening %v)", c.Momentum, c.Dampening)
	}
	return &SGD{cfg: c, buf: map[*exec.Param][]float32{}}, nil
}

func (o *SGD) Name() string      { return "sgd" }
func (o *SGD) LR() float64       { return o.cfg.LR }
func (o *SGD) SetLR(lr float64)  { o.cfg.LR = lr }
func (o *SGD) Config() SGDConfig { return o.cfg }

// Step follows torch 1.13's _single_tensor_sgd, the chunks of every
// parameter spread over the CPUs.
func (o *SGD) Step(params []*exec.Param) {
	c := o.cfg
	o.ps = withGrad(o.ps, params)
	o.bufs, o.first = o.bufs[:0], o.first[:0]
	for _, p := range o.ps {
		buf, seen := o.buf[p]
		if c.Momentum != 0 && !seen {
			buf = make([]float32, len(p.Value))
			o.buf[p] = buf
		}
		o.bufs, o.first = append(o.bufs, buf), append(o.first, !seen)
	}
	parallel(o.ps, &o.chunks, func(ch fused.Chunk) {
		p, buf := o.ps[ch.P], o.bufs[ch.P]
		if buf != nil {
			buf = buf[ch.Lo:ch.Hi]
		}
		o.update(p.Value[ch.Lo:ch.Hi], p.Grad[ch.Lo:ch.Hi], buf, o.first[ch.P])
	})
}

func (o *SGD) update(value, grad, buf []float32, first bool) {
	c := o.cfg
	h := fused.SGDHyper{WD: f32(c.WeightDecay), Mom: f32(c.Momentum), Damp: f32(1 - c.Dampening), Alpha: f32(-c.LR)}
	if c.WeightDecay != 0 {
		h.Flags |= fused.SGDWeightDecay // d_p.add(param, alpha=wd)
	}
	if c.Momentum != 0 {
		h.Flags |= fused.SGDMomentum // buf.mul_(μ).add_(d_p, alpha=1−dampening)
		if first {
			h.Flags |= fused.SGDFirst // clone: no dampening on the first step
		}
		if c.Nesterov {
			h.Flags |= fused.SGDNesterov // d_p.add(buf, alpha=μ)
		}
	}
	fused.SGD(value, grad, buf, &h) // param.add_(d_p, alpha=−lr)
}
