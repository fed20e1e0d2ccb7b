package train

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/loss"
	"github.com/nnkit/nnkit/train/optim"
)

// resumeRun trains bn_mlp_digits (BatchNorm + Dropout) for epochs epochs
// with the given optimizer and schedule, optionally resuming from st, and
// returns the final weights, the loop's result and the state saved after
// every epoch (encoded and decoded again, as a file would be).
func resumeRun(t *testing.T, d *data.Data, os OptimizerSettings, ss ScheduleSettings, early int, epochs int, st *TrainState) ([][]float32, *Result, []*TrainState) {
	t.Helper()
	m, err := onnxio.ReadFile("../testdata/train/bn_mlp_digits.onnx")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := exec.Compile(m, exec.Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := NewOptimizer(os)
	if err != nil {
		t.Fatal(err)
	}
	ss.HasValSet = true
	sched, err := NewSchedule(ss, os.LR)
	if err != nil {
		t.Fatal(err)
	}
	l := &Loop{Model: prog, Train: d.Train, Val: d.Val, Loss: loss.CrossEntropy{}, Opt: opt, Sched: sched,
		Epochs: epochs, BatchSize: 50, Shuffle: true, Seed: 5, BatchNormInputs: BatchNormInputs(m)}
	var es *EarlyStopping
	if early > 0 {
		es = &EarlyStopping{Patience: early, MinDelta: 0.3} // large enough to stop within 6 epochs
		l.Hooks = append(l.Hooks, es)
	}
	if st != nil { // first, as nntrain puts it
		l.Hooks = append([]Hook{&Resume{State: st, ES: es}}, l.Hooks...)
	}
	var saved []*TrainState
	l.Hooks = append(l.Hooks, &SaveState{ES: es, Settings: map[string]string{"k": "v"}, Save: func(s *TrainState) (string, error) {
		var b bytes.Buffer
		if err := s.Encode(&b); err != nil {
			return "", err
		}
		back, err := DecodeState(b.Bytes())
		if err != nil {
			return "", err
		}
		saved = append(saved, back)
		return "mem", nil
	}})
	res, err := l.Run()
	if err != nil {
		t.Fatal(err)
	}
	var w [][]float32
	for _, p := range append(prog.Params(), prog.Buffers()...) {
		w = append(w, slices.Clone(p.Value))
	}
	return w, res, saved
}

// Resuming from the state saved after any epoch reaches bit for bit the
// weights, BatchNorm statistics and per-epoch losses of the uninterrupted
// run, for every optimizer (with its moments and momentum buffers), every
// schedule and early stopping (which ends the run early and restores its
// best weights), with dropout drawing its masks as if nothing happened.
func TestResumeIsBitIdentical(t *testing.T) {
	d, err := data.Load("../testdata/data/digits", data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sgd, _ := OptimizerDefaults("sgd")
	sgd.LR, sgd.Momentum, sgd.Nesterov, sgd.WeightDecay = 0.05, 0.9, true, 1e-4
	adamw, _ := OptimizerDefaults("adamw")
	adamwFast := adamw
	adamwFast.LR = 0.03
	rms, _ := OptimizerDefaults("rmsprop")
	rms.LR, rms.Momentum, rms.Centered = 1e-3, 0.5, true
	plateau := ScheduleSettings{Name: "plateau", Plateau: optim.PlateauConfig{Factor: 0.5, Patience: 0, Threshold: 0.05, Eps: 1e-8}}
	for _, c := range []struct {
		name  string
		opt   OptimizerSettings
		sched ScheduleSettings
		early int
	}{
		{"sgd-nesterov/step", sgd, ScheduleSettings{Name: "step", StepSize: 2, Gamma: 0.5}, 0},
		{"adamw/cosine", adamw, ScheduleSettings{Name: "cosine", TMax: 3}, 0},
		{"rmsprop-centered/plateau/early-stopping", rms, plateau, 1},
		{"adamw-fast/plateau/early-stopping", adamwFast, plateau, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			const epochs = 6
			want, wantRes, states := resumeRun(t, d, c.opt, c.sched, c.early, epochs, nil)
			if len(states) != len(wantRes.Epochs) {
				t.Fatalf("%d states for %d epochs", len(states), len(wantRes.Epochs))
			}
			for _, st := range states {
				got, res, _ := resumeRun(t, d, c.opt, c.sched, c.early, epochs, st)
				for i := range want {
					if !sameBits32(got[i], want[i]) {
						t.Fatalf("resumed after epoch %d: tensor %d differs from the uninterrupted run", st.Epoch, i)
					}
				}
				if len(res.Epochs) != len(wantRes.Epochs) || res.Stopped != wantRes.Stopped {
					t.Fatalf("resumed after epoch %d: %d epochs (%q), uninterrupted %d (%q)", st.Epoch, len(res.Epochs), res.Stopped, len(wantRes.Epochs), wantRes.Stopped)
				}
				for i, e := range res.Epochs {
					w := wantRes.Epochs[i]
					if math.Float64bits(e.TrainLoss) != math.Float64bits(w.TrainLoss) || math.Float64bits(e.ValLoss) != math.Float64bits(w.ValLoss) || e.LR != w.LR {
						t.Fatalf("resumed after epoch %d: epoch %d losses %v/%v lr %v, uninterrupted %v/%v lr %v", st.Epoch, e.Epoch, e.TrainLoss, e.ValLoss, e.LR, w.TrainLoss, w.ValLoss, w.LR)
					}
				}
			}
			if c.early > 0 && wantRes.Stopped == "" {
				t.Errorf("early stopping did not trigger in %d epochs", epochs)
			}
		})
	}
}

func sameBits32(a, b []float32) bool {
	return len(a) == len(b) && slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// A damaged or foreign file is recognized before anything is restored.
func TestDecodeStateRejectsDamage(t *testing.T) {
	st := &TrainState{Version: stateVersion, Epoch: 3, Params: []Tensor{{"w", []int{2}, []float32{1, 2}}}}
	var b bytes.Buffer
	if err := st.Encode(&b); err != nil {
		t.Fatal(err)
	}
	good := b.Bytes()
	if back, err := DecodeState(good); err != nil || back.Epoch != 3 || back.Params[0].Value[1] != 2 {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	flip := slices.Clone(good)
	flip[len(stateMagic)+10] ^= 1
	for name, c := range map[string]struct {
		b    []byte
		want string
	}{
		"truncated": {good[:len(good)-5], "checksum"},
		"flipped":   {flip, "checksum"},
		"empty":     {nil, ErrNotCheckpoint.Error()},
		"foreign":   {[]byte("PK\x03\x04..."), ErrNotCheckpoint.Error()},
	} {
		if _, err := DecodeState(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
