package optim

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nnkit/nnkit/exec"
)

// pieces.json is written by testdata/train/make_train_golden.py (PyTorch
// 1.13, float32, single-threaded).
type pieces struct {
	Optimizers struct {
		Shapes       [][]int       `json:"shapes"`
		Init         [][]float32   `json:"init"`
		Grads        [][][]float32 `json:"grads"`
		LRChangeStep int           `json:"lr_change_step"`
		Cases        []struct {
			Name      string          `json:"name"`
			Optimizer string          `json:"optimizer"`
			Hyper     json.RawMessage `json:"hyper"`
			Params    [][][]float32   `json:"params"`
		} `json:"cases"`
	} `json:"optimizers"`
	Schedulers []struct {
		Name      string    `json:"name"`
		Kind      string    `json:"kind"`
		LR0       float64   `json:"lr0"`
		StepSize  int       `json:"step_size"`
		Gamma     float64   `json:"gamma"`
		TMax      int       `json:"t_max"`
		EtaMin    float64   `json:"eta_min"`
		Factor    float64   `json:"factor"`
		Patience  int       `json:"patience"`
		Threshold float64   `json:"threshold"`
		Cooldown  int       `json:"cooldown"`
		MinLR     float64   `json:"min_lr"`
		Eps       float64   `json:"eps"`
		Metrics   []float64 `json:"metrics"`
		LRs       []float64 `json:"lrs"`
	} `json:"schedulers"`
	Clip struct {
		Shapes [][]int     `json:"shapes"`
		Grads  [][]float32 `json:"grads"`
		Norm   []struct {
			MaxNorm float64     `json:"max_norm"`
			Total   float64     `json:"total"`
			Grads   [][]float32 `json:"grads"`
		} `json:"norm"`
		Value []struct {
			ClipValue float64     `json:"clip_value"`
			Grads     [][]float32 `json:"grads"`
		} `json:"value"`
	} `json:"clip"`
	L1 struct {
		W        []float32 `json:"w"`
		BaseGrad []float32 `json:"base_grad"`
		Cases    []struct {
			Lam     float64   `json:"lam"`
			Penalty float64   `json:"penalty"`
			Grad    []float32 `json:"grad"`
		} `json:"cases"`
	} `json:"l1"`
}

func loadPieces(t *testing.T) *pieces {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "train", "pieces.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p pieces
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

type hyper struct {
	LR          *float64   `json:"lr"`
	Momentum    float64    `json:"momentum"`
	Dampening   float64    `json:"dampening"`
	Nesterov    bool       `json:"nesterov"`
	Betas       [2]float64 `json:"betas"`
	Eps         float64    `json:"eps"`
	WeightDecay float64    `json:"weight_decay"`
	Alpha       float64    `json:"alpha"`
	Centered    bool       `json:"centered"`
}

func newFromHyper(t *testing.T, name string, raw json.RawMessage) Optimizer {
	var h hyper
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	var (
		o   Optimizer
		err error
	)
	switch name {
	case "sgd":
		o, err = NewSGD(SGDConfig{LR: *h.LR, Momentum: h.Momentum, Dampening: h.Dampening, WeightDecay: h.WeightDecay, Nesterov: h.Nesterov})
	case "adam":
		o, err = NewAdam(AdamConfig{LR: *h.LR, Betas: h.Betas, Eps: h.Eps, WeightDecay: h.WeightDecay})
	case "adamw":
		o, err = NewAdamW(AdamConfig{LR: *h.LR, Betas: h.Betas, Eps: h.Eps, WeightDecay: h.WeightDecay})
	case "rmsprop":
		o, err = NewRMSprop(RMSpropConfig{LR: *h.LR, Alpha: h.Alpha, Eps: h.Eps, WeightDecay: h.WeightDecay, Momentum: h.Momentum, Centered: h.Centered})
	default:
		t.Fatalf("unknown optimizer %q", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func ulpDiff(a, b float32) int64 {
	if a == b {
		return 0
	}
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if ia < 0x80000000 != (ib < 0x80000000) {
		return math.MaxInt32 // different signs
	}
	d := ia - ib
	if d < 0 {
		d = -d
	}
	return d
}

// TestOptimizerTrajectories replays PyTorch's 8-step trajectories (fixed
// initial parameters, a fixed gradient sequence, the LR halved before step
// 5 as a scheduler would) for every optimizer and option combination.
func TestOptimizerTrajectories(t *testing.T) {
	p := loadPieces(t)
	o := p.Optimizers
	for _, c := range o.Cases {
		t.Run(c.Name, func(t *testing.T) {
			opt := newFromHyper(t, c.Optimizer, c.Hyper)
			params := make([]*exec.Param, len(o.Shapes))
			for i, s := range o.Shapes {
				params[i] = &exec.Param{Name: "p", Shape: s, Value: append([]float32(nil), o.Init[i]...), Grad: make([]float32, len(o.Init[i]))}
			}
			worst := int64(0)
			for step, want := range c.Params {
				if step == o.LRChangeStep {
					opt.SetLR(opt.LR() * 0.5)
				}
				for i := range params {
					copy(params[i].Grad, o.Grads[step][i])
				}
				opt.Step(params)
				for i := range params {
					for j, w := range want[i] {
						got := params[i].Value[j]
						u := ulpDiff(got, w)
						worst = max(worst, u)
						// Exact: every operation is rounded as torch 1.13's
						// CPU kernels round it (GCC-contracted multiply-adds
						// included), so the generator's trajectories are
						// reproduced bit for bit. A torch build that does not
						// contract the same expressions would differ by an ulp
						// per step, amplified where updates cancel.
						if u != 0 {
							t.Fatalf("step %d param %d[%d]: got %v, PyTorch %v (%d ulps)", step+1, i, j, got, w, u)
						}
					}
				}
			}
			t.Logf("worst difference: %d ulps", worst)
		})
	}
}

func TestSchedules(t *testing.T) {
	p := loadPieces(t)
	for _, c := range p.Schedulers {
		t.Run(c.Name, func(t *testing.T) {
			var (
				s   Schedule
				err error
			)
			switch c.Kind {
			case "step":
				s, err = NewStepLR(c.LR0, c.StepSize, c.Gamma)
			case "cosine":
				s, err = NewCosine(c.LR0, c.TMax, c.EtaMin)
			case "plateau":
				s, err = NewPlateau(c.LR0, PlateauConfig{Factor: c.Factor, Patience: c.Patience, Threshold: c.Threshold, Cooldown: c.Cooldown, MinLR: c.MinLR, Eps: c.Eps})
			}
			if err != nil {
				t.Fatal(err)
			}
			for e, want := range c.LRs {
				m := 0.0
				if c.Metrics != nil {
					m = c.Metrics[e]
				}
				got := s.Step(m)
				// Tolerance: the same float64 recursion as PyTorch; Go's
				// math.Cos may differ from glibc's cos by one ulp, which
				// the recursion carries along: 1e-14 relative.
				if math.Abs(got-want) > 1e-14*math.Abs(want) {
					t.Fatalf("epoch %d: lr %v, PyTorch %v", e+1, got, want)
				}
			}
		})
	}
}

func TestCosineClosedForm(t *testing.T) {
	s, _ := NewCosine(0.1, 5, 0.001)
	for e := 1; e <= 23; e++ {
		got := s.Step(0)
		want := 0.001 + (0.1-0.001)*(1+math.Cos(math.Pi*float64(e)/5))/2
		// The recursive form drifts from the closed form only by float64
		// rounding: 1e-12 relative over 23 steps.
		if math.Abs(got-want) > 1e-12*want {
			t.Fatalf("epoch %d: recursive %v, closed form %v", e, got, want)
		}
	}
}

func gradParams(shapes [][]int, grads [][]float32) []*exec.Param {
	ps := make([]*exec.Param, len(shapes))
	for i, s := range shapes {
		ps[i] = &exec.Param{Shape: s, Value: make([]float32, len(grads[i])), Grad: append([]float32(nil), grads[i]...)}
	}
	return ps
}

func TestClipGradNorm(t *testing.T) {
	p := loadPieces(t)
	for _, c := range p.Clip.Norm {
		ps := gradParams(p.Clip.Shapes, p.Clip.Grads)
		total := ClipGradNorm(ps, c.MaxNorm)
		// The total norm: PyTorch reduces each gradient in float32 with
		// its own summation order, we sum in float64 and round: 1 ulp.
		if ulpDiff(total, float32(c.Total)) > 1 {
			t.Errorf("max_norm %v: total %v, PyTorch %v", c.MaxNorm, total, c.Total)
		}
		for i := range ps {
			for j, w := range c.Grads[i] {
				// One float32 multiplication by a coefficient computed from
				// the norm (1 ulp, above) with one more rounding: 2 ulps.
				if u := ulpDiff(ps[i].Grad[j], w); u > 2 {
					t.Fatalf("max_norm %v grad %d[%d]: %v, PyTorch %v (%d ulps)", c.MaxNorm, i, j, ps[i].Grad[j], w, u)
				}
			}
		}
	}
	for _, c := range p.Clip.Value {
		ps := gradParams(p.Clip.Shapes, p.Clip.Grads)
		ClipGradValue(ps, c.ClipValue)
		for i := range ps {
			for j, w := range c.Grads[i] {
				if ps[i].Grad[j] != w { // clamping is exact
					t.Fatalf("clip_value %v grad %d[%d]: %v, PyTorch %v", c.ClipValue, i, j, ps[i].Grad[j], w)
				}
			}
		}
	}
}

func TestClipGradNormNonFinite(t *testing.T) {
	inf := float32(math.Inf(1))
	ps := []*exec.Param{{Value: []float32{0, 0}, Grad: []float32{inf, 1}}}
	if n := ClipGradNorm(ps, 1); !math.IsInf(float64(n), 1) {
		t.Fatalf("norm %v, want +Inf", n)
	}
	// PyTorch: coefficient 1/(inf) = 0, inf·0 = NaN, 1·0 = 0.
	if !math.IsNaN(float64(ps[0].Grad[0])) || ps[0].Grad[1] != 0 {
		t.Fatalf("grads after clipping an infinite norm: %v, want [NaN 0]", ps[0].Grad)
	}
}

func TestL1Grad(t *testing.T) {
	p := loadPieces(t)
	for _, c := range p.L1.Cases {
		ps := []*exec.Param{{Value: append([]float32(nil), p.L1.W...), Grad: append([]float32(nil), p.L1.BaseGrad...)}}
		// The penalty: float64 sum here, float32 in PyTorch: 1e-6 relative.
		if got := L1Penalty(ps); math.Abs(got-c.Penalty) > 1e-6*c.Penalty {
			t.Errorf("penalty %v, PyTorch %v", got, c.Penalty)
		}
		AddL1Grad(ps, c.Lam)
		for j, w := range c.Grad {
			if ps[0].Grad[j] != w { // one float32 addition, as autograd does
				t.Fatalf("lam %v grad[%d] (w=%v): %v, PyTorch %v", c.Lam, j, p.L1.W[j], ps[0].Grad[j], w)
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := NewSGD(SGDConfig{LR: 0.1, Nesterov: true}); err == nil {
		t.Error("nesterov without momentum accepted")
	}
	if _, err := NewSGD(SGDConfig{LR: -1}); err == nil {
		t.Error("negative lr accepted")
	}
	if _, err := NewAdam(AdamConfig{LR: 1e-3, Betas: [2]float64{1, 0.9}}); err == nil {
		t.Error("beta1 = 1 accepted")
	}
	if _, err := NewPlateau(0.1, PlateauConfig{Factor: 1}); err == nil {
		t.Error("factor 1 accepted")
	}
	if _, err := NewStepLR(0.1, 0, 0.1); err == nil {
		t.Error("step size 0 accepted")
	}
}
