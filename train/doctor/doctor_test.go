package doctor

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/train"
	"github.com/nnkit/nnkit/train/loss"
	"github.com/nnkit/nnkit/train/optim"
)

// TestVocabulary: every kind is documented once, with a signal and a fix.
func TestVocabulary(t *testing.T) {
	all := []Kind{NaNLoss, ExplodingGradients, VanishingGradients, DyingReLU, SaturatedActivations, OscillatingLoss,
		SlowConvergence, Overfitting, Underfitting, LRTooHigh, LRTooLow}
	if len(Vocabulary) != len(all) {
		t.Fatalf("%d kinds documented, %d defined", len(Vocabulary), len(all))
	}
	for _, k := range all {
		d, ok := Doc(k)
		if !ok || d.Title == "" || d.Signal == "" || !strings.Contains(d.Fix, "fix:") {
			t.Errorf("%s: incomplete documentation %+v", k, d)
		}
	}
}

func TestParseMode(t *testing.T) {
	for s, want := range map[string]Mode{"off": Off, "warn": Warn, "fix": Fix, "FIX": Fix} {
		if m, err := ParseMode(s); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseMode("repair"); err == nil {
		t.Error("ParseMode(repair) accepted")
	}
}

// fake is a Model with two weight layers and no executor behind it: the
// tests drive the doctor's hooks directly.
type fake struct{ params []*exec.Param }

func newFake() *fake {
	mk := func(name string, shape []int) *exec.Param {
		n := 1
		for _, d := range shape {
			n *= d
		}
		p := &exec.Param{Name: name, Shape: shape, Value: make([]float32, n), Grad: make([]float32, n)}
		for i := range p.Value {
			p.Value[i] = float32(i%7) * 0.1
			p.Grad[i] = 0.01
		}
		return p
	}
	return &fake{params: []*exec.Param{mk("fc1.weight", []int{4, 3}), mk("fc1.bias", []int{4}), mk("fc2.weight", []int{2, 4})}}
}

func (f *fake) Inputs() []exec.InputSpec               { return nil }
func (f *fake) OutputNames() []string                  { return nil }
func (f *fake) Params() []*exec.Param                  { return f.params }
func (f *fake) Buffers() []*exec.Param                 { return nil }
func (f *fake) Backward(map[string]*exec.Tensor) error { return nil }
func (f *fake) ZeroGrad()                              {}
func (f *fake) Run(exec.Mode, map[string]*exec.Tensor) (map[string]*exec.Tensor, error) {
	return nil, nil
}

// TestFixRollsBack: in fix mode, exploding gradients roll the weights and
// the optimizer state back to the last good state, lower the LR tenfold,
// turn on clipping, and log the repair.
func TestFixRollsBack(t *testing.T) {
	m := newFake()
	opt, _ := optim.NewSGD(optim.SGDConfig{LR: 1, Momentum: 0.9})
	var log bytes.Buffer
	l := &train.Loop{Model: m, Loss: loss.CrossEntropy{}, Opt: opt, Epochs: 3, Hooks: []train.Hook{train.NewJSONLog(&log)}}
	d := New(&ir.Model{Graph: ir.NewGraph("g")}, Settings{Optimizer: train.OptimizerSettings{Name: "sgd", LR: 1, Momentum: 0.9}}, Config{Mode: Fix})
	if err := d.OnStart(l); err != nil {
		t.Fatal(err)
	}
	initial := slices.Clone(m.params[0].Value)
	opt.Step(m.params) // momentum buffers exist now, and the weights moved
	l.Epoch = 1
	for i := 1; i <= 30; i++ {
		l.Step = i
		norm := 1.0
		if i > 27 {
			norm = 500 // ≥ 100× the median of the first 20 steps, 3 steps in a row
		}
		if err := d.OnStep(l, &train.StepStats{Epoch: 1, Step: i, Steps: 100, Samples: 8, Loss: 2, GradNorm: norm}); err != nil {
			t.Fatal(err)
		}
	}
	if k := d.Kinds(); !slices.Equal(k, []Kind{ExplodingGradients}) {
		t.Fatalf("diagnosed %v", k)
	}
	r := d.Repairs()
	if len(r) != 1 || r[0].Kind != ExplodingGradients || r[0].Rollback != 0 {
		t.Fatalf("repairs %+v", r)
	}
	if !slices.Equal(m.params[0].Value, initial) {
		t.Errorf("weights %v, want the initial %v", m.params[0].Value, initial)
	}
	if opt.LR() != 0.1 || l.ClipNorm != 1 {
		t.Errorf("lr %v clip-norm %v, want 0.1 and 1", opt.LR(), l.ClipNorm)
	}
	// The optimizer state is the initial one (no momentum buffer yet): the
	// next step from the initial weights equals a fresh optimizer's.
	fresh, _ := optim.NewSGD(optim.SGDConfig{LR: 0.1, Momentum: 0.9})
	want := newFake()
	copy(want.params[0].Value, initial)
	fresh.Step(want.params)
	opt.Step(m.params)
	if !slices.Equal(m.params[0].Value, want.params[0].Value) {
		t.Errorf("optimizer state not rolled back: %v, want %v", m.params[0].Value, want.params[0].Value)
	}
	// The changes, as data and in the library's words (nntrain's flags:
	// cmd/nntrain TestDoctorRepairFlags).
	changes := []train.Change{{Setting: train.SettingLR, Value: "0.1"}, {Setting: train.SettingClipNorm, Value: "1"}}
	if !slices.Equal(r[0].Changes, changes) || !slices.Equal(d.Permanent(), changes) {
		t.Errorf("changes %v, permanent %v, want %v", r[0].Changes, d.Permanent(), changes)
	}
	if a := d.Diagnoses()[0].Advice; !slices.Contains(a, train.Part{Change: train.Change{Setting: train.SettingClipNorm, Value: "1.0"}}) {
		t.Errorf("advice %v does not add clipping", a)
	}
	for _, want := range []string{`"event":"diagnosis"`, `"kind":"exploding-gradients"`, `"event":"repair"`, `"rollback_epoch":0`,
		`"flags":"LR=0.1 ClipNorm=1"`, `"fix":"add ClipNorm=1.0 and lower LR from 1 to 0.1"`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, log.String())
		}
	}
	if f := d.PermanentText(); f != "ClipNorm=1 LR=0.1" {
		t.Errorf("permanent settings %q", f)
	}
}
