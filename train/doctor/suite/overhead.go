package suite

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/train"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/doctor"
	"github.com/nnkit/nnkit/train/loss"
	"github.com/nnkit/nnkit/train/optim"
)

// OverheadModels are the models the overhead benchmark trains: name and
// per-sample input shape.
var OverheadModels = []struct {
	Name  string
	Shape []int
}{
	{"mlp_digits", []int{64}},
	{"cnn_digits", []int{1, 8, 8}},
	{"deep_sigmoid_mlp", []int{64}},
	{"robustnet", []int{784}},
	{"small_cnn", []int{1, 28, 28}},
}

// NewStepper prepares one training step (forward, loss, backward, Adam)
// on a random batch of 64, followed by the doctor's per-step hook in the
// given mode (Off: no doctor at all), and runs 20 steps — past the
// doctor's dense first steps, as in a run. Each call of step is one step;
// the doctor's sampled work (every 10 steps) is amortized as in a run.
func NewStepper(m *ir.Model, shape []int, mode doctor.Mode) (step func() error, err error) {
	step, _, err = newStepper(m, shape, mode)
	return step, err
}

// newStepper also returns the time spent in the doctor so far.
func newStepper(m *ir.Model, shape []int, mode doctor.Mode) (step func() error, inDoctor *time.Duration, err error) {
	inDoctor = new(time.Duration)
	prog, err := exec.Compile(m, exec.Options{Threads: 1})
	if err != nil {
		return nil, nil, err
	}
	const batch = 64
	r := rand.New(rand.NewPCG(1, 2))
	s := &data.Set{File: "random", N: batch, Shape: shape}
	for i := 0; i < batch*s.SampleSize(); i++ {
		s.X = append(s.X, float32(r.NormFloat64()))
	}
	for i := 0; i < batch; i++ {
		s.Labels = append(s.Labels, int64(r.IntN(10)))
	}
	opt, _ := optim.NewAdam(optim.DefaultAdam)
	l := &train.Loop{Model: prog, Train: s, Loss: loss.CrossEntropy{}, Opt: opt, BatchSize: batch, Epochs: 1}
	if err := l.Setup(); err != nil {
		return nil, nil, err
	}
	var d *doctor.Doctor
	if mode != doctor.Off {
		d = doctor.New(m, doctor.Settings{Optimizer: train.OptimizerSettings{Name: "adam", LR: 1e-3}}, doctor.Config{Mode: mode})
		if err := d.OnStart(l); err != nil {
			return nil, nil, err
		}
	}
	var bt data.Batch
	for x := range s.Batches(batch, data.Order(batch, false, 0, 0)) {
		bt = x
	}
	l.Epoch = 1
	step = func() error {
		lv, norm, _, _, err := l.TrainStep(bt)
		if err != nil {
			return err
		}
		l.Step++
		if d != nil {
			t := time.Now()
			ss := train.StepStats{Epoch: 1, Step: l.Step, Steps: 1 << 30, Samples: batch, Loss: lv, GradNorm: norm}
			err := d.OnStep(l, &ss)
			*inDoctor += time.Since(t)
			return err
		}
		return nil
	}
	for range 20 {
		if err := step(); err != nil {
			return nil, nil, err
		}
	}
	*inDoctor = 0
	return step, inDoctor, nil
}

// StepBench is NewStepper as a benchmark: ns/op is the step time
// (doctor included); with the doctor it also reports the doctor's share
// of it.
func StepBench(m *ir.Model, shape []int, mode doctor.Mode) func(b *testing.B) {
	return func(b *testing.B) {
		step, inDoctor, err := newStepper(m, shape, mode)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if err := step(); err != nil {
				b.Fatal(err)
			}
		}
		if mode != doctor.Off {
			b.ReportMetric(float64(*inDoctor)/float64(b.N), "doctor-ns/op")
			b.ReportMetric(100*float64(*inDoctor)/float64(b.Elapsed()-*inDoctor), "overhead-%")
		}
	}
}

// Overhead runs blocks of steps steps with the doctor (warn) and returns,
// per step, the training step's time without the doctor and the doctor's
// time, from the block whose step was fastest (on a shared machine the
// least disturbed), and the median over blocks of the doctor's share
// doctor/step. Both are timed inside the same steps, so the share does
// not depend on comparing two noisy runs.
func Overhead(m *ir.Model, shape []int, rounds, steps int) (step, doc time.Duration, share float64, err error) {
	st, inDoctor, err := newStepper(m, shape, doctor.Warn)
	if err != nil {
		return 0, 0, 0, err
	}
	step = time.Duration(1 << 62)
	var shares []float64
	for range rounds {
		*inDoctor = 0
		t := time.Now()
		for range steps {
			if err := st(); err != nil {
				return 0, 0, 0, err
			}
		}
		total := time.Since(t)
		train := total - *inDoctor
		shares = append(shares, float64(*inDoctor)/float64(train))
		if train/time.Duration(steps) < step {
			step, doc = train/time.Duration(steps), *inDoctor/time.Duration(steps)
		}
	}
	slices.Sort(shares)
	return step, doc, shares[len(shares)/2], nil
}
