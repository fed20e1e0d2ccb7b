package train

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/loss"
)

// freezeGolden is testdata/train/head/freeze.json (make_freeze_golden.py).
type freezeGolden struct {
	Model     string   `json:"model"`
	Frozen    []string `json:"frozen"`
	Epochs    int      `json:"epochs"`
	BatchSize int      `json:"batch_size"`
	Runs      []struct {
		Optimizer   string    `json:"optimizer"`
		BN          string    `json:"bn"`
		TrainLoss   []float64 `json:"train_loss"`
		ValLoss     []float64 `json:"val_loss"`
		RunningMean []float64 `json:"running_mean"`
		RunningVar  []float64 `json:"running_var"`
	} `json:"runs"`
}

// Training with a frozen backbone matches PyTorch: cnn_bn_digits with
// conv.weight, bn.weight and bn.bias frozen (requires_grad=False, only
// fc.* given to the optimizer), the BatchNorm either in eval mode
// (FrozenBatchNorm2d, nntrain's default) or left in train mode
// (--train-frozen-bn), under SGD and Adam. Per-epoch train and validation
// losses agree within 1e-4 relative, the bar TestParityWithPyTorch holds
// whole runs to; the running statistics stay bit-identical in the first
// mode and follow PyTorch's within the same bar in the second.
func TestFreezeParityWithPyTorch(t *testing.T) {
	raw, err := os.ReadFile("../testdata/train/head/freeze.json")
	if err != nil {
		t.Fatal(err)
	}
	var g freezeGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	c := loadCurves(t)
	d, err := data.Load("../testdata/data/digits", data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	frozen := map[string]bool{}
	for _, n := range g.Frozen {
		frozen[n] = true
	}
	for _, r := range g.Runs {
		m, err := onnxio.ReadFile("../" + g.Model)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := exec.Compile(m, exec.Options{Frozen: frozen, TrainFrozenBatchNorm: r.BN == "train_bn"})
		if err != nil {
			t.Fatal(err)
		}
		os, _ := c.settingsFor(t, r.Optimizer, "none")
		opt, err := NewOptimizer(os)
		if err != nil {
			t.Fatal(err)
		}
		l := &Loop{Model: prog, Train: d.Train, Val: d.Val, Loss: loss.CrossEntropy{}, Opt: opt,
			Epochs: g.Epochs, BatchSize: g.BatchSize, Shuffle: false, BatchNormInputs: BatchNormInputs(m)}
		res, err := l.Run()
		if err != nil {
			t.Fatalf("%s/%s: %v", r.Optimizer, r.BN, err)
		}
		for i, e := range res.Epochs {
			if relErr(e.TrainLoss, r.TrainLoss[i]) > 1e-4 || relErr(e.ValLoss, r.ValLoss[i]) > 1e-4 {
				t.Errorf("%s/%s epoch %d: train_loss %.7g (torch %.7g), val_loss %.7g (torch %.7g)",
					r.Optimizer, r.BN, e.Epoch, e.TrainLoss, r.TrainLoss[i], e.ValLoss, r.ValLoss[i])
			}
		}
		for _, b := range prog.Buffers() {
			want := r.RunningMean
			if b.Name == "bn.running_var" {
				want = r.RunningVar
			}
			init, _ := m.Graph.Initializer(b.Name).Float32s()
			if r.BN == "frozen_bn" {
				if !slices.Equal(b.Value, init) {
					t.Errorf("%s/%s: %s changed", r.Optimizer, r.BN, b.Name)
				}
				continue
			}
			scale := 0.0
			for _, v := range want {
				scale = math.Max(scale, math.Abs(v))
			}
			for i, v := range b.Value {
				if math.Abs(float64(v)-want[i]) > 1e-4*scale {
					t.Errorf("%s/%s: %s[%d] = %v, torch %v", r.Optimizer, r.BN, b.Name, i, v, want[i])
					break
				}
			}
		}
	}
}
