package train

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/loss"
)

// Fine-tuning parity for the model families of issue 12
// (testdata/train/families/make_families.py): the U-Net fixture
// (ConvTranspose, GroupNorm, Resize) trained on per-pixel labels with
// cross-entropy over the class axis and ignore_index −100, and an
// nn.Embedding + nn.GRU text classifier fed int64 token ids, from npz and
// from CSV. Per epoch the train and validation losses and the mean
// gradient norm must match PyTorch's float32 run within 1e-4 relative (the
// bound issue 5 set for the digits runs: float32 rounding starts near 1e-7
// and grows through training; observed ≤ 1.3e-7), and the accuracies
// exactly (these data have no argmax near-ties; one would show up here as
// a difference of one label).

type familyRun struct {
	Model     string    `json:"model"`
	Data      string    `json:"data"`
	Optimizer string    `json:"optimizer"`
	LR        float64   `json:"lr"`
	Momentum  float64   `json:"momentum"`
	Epochs    int       `json:"epochs"`
	BatchSize int       `json:"batch_size"`
	TrainLoss []float64 `json:"train_loss"`
	ValLoss   []float64 `json:"val_loss"`
	TrainAcc  []float64 `json:"train_acc"`
	ValAcc    []float64 `json:"val_acc"`
	GradNorm  []float64 `json:"grad_norm"`
}

func TestFamiliesParityWithPyTorch(t *testing.T) {
	raw, err := os.ReadFile("../testdata/train/families/families.json")
	if err != nil {
		t.Fatal(err)
	}
	var gold struct{ Runs []familyRun }
	if err := json.Unmarshal(raw, &gold); err != nil {
		t.Fatal(err)
	}
	if len(gold.Runs) != 2 {
		t.Fatalf("%d runs, want 2", len(gold.Runs))
	}
	for _, run := range gold.Runs {
		formats := []string{"npz"}
		if _, err := os.Stat(filepath.Join("..", run.Data, "train.csv")); err == nil {
			formats = append(formats, "csv")
		}
		var first *Result
		for _, format := range formats {
			t.Run(run.Model+"/"+format, func(t *testing.T) {
				res := trainFamily(t, run, format)
				worst := 0.0
				for e, es := range res.Epochs {
					for _, c := range [][3]any{{"train_loss", es.TrainLoss, run.TrainLoss[e]}, {"val_loss", es.ValLoss, run.ValLoss[e]}, {"grad_norm", es.GradNorm, run.GradNorm[e]}} {
						got, want := c[1].(float64), c[2].(float64)
						if d := relErr(got, want); d > 1e-4 {
							t.Errorf("epoch %d %s: %v, PyTorch %v (relative error %.2g)", e+1, c[0], got, want, d)
						} else {
							worst = math.Max(worst, d)
						}
					}
					if math.Abs(es.TrainAcc-run.TrainAcc[e]) > 1e-12 || math.Abs(es.ValAcc-run.ValAcc[e]) > 1e-12 {
						t.Errorf("epoch %d: accuracy %v/%v, PyTorch %v/%v", e+1, es.TrainAcc, es.ValAcc, run.TrainAcc[e], run.ValAcc[e])
					}
				}
				t.Logf("%s (%s): worst relative error of train/val loss and grad norm over %d epochs: %.2g", run.Model, format, run.Epochs, worst)
				if first == nil {
					first = res
					return
				}
				// the same numbers from CSV as from npz, bit for bit
				for e := range res.Epochs {
					if res.Epochs[e].TrainLoss != first.Epochs[e].TrainLoss || res.Epochs[e].ValLoss != first.Epochs[e].ValLoss {
						t.Errorf("epoch %d: CSV run %v/%v, npz run %v/%v", e+1, res.Epochs[e].TrainLoss, res.Epochs[e].ValLoss, first.Epochs[e].TrainLoss, first.Epochs[e].ValLoss)
					}
				}
			})
		}
	}
}

func trainFamily(t *testing.T, run familyRun, format string) *Result {
	t.Helper()
	m, err := onnxio.ReadFile(filepath.Join("..", run.Model))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := exec.Compile(m, exec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := data.Load(filepath.Join("..", run.Data), data.Options{Format: format})
	if err != nil {
		t.Fatal(err)
	}
	os, err := OptimizerDefaults(run.Optimizer)
	if err != nil {
		t.Fatal(err)
	}
	os.LR, os.Momentum = run.LR, run.Momentum
	opt, err := NewOptimizer(os)
	if err != nil {
		t.Fatal(err)
	}
	l := &Loop{Model: prog, Train: d.Train, Val: d.Val, Loss: loss.CrossEntropy{Ignore: true, IgnoreIndex: loss.DefaultIgnoreIndex},
		Opt: opt, Epochs: run.Epochs, BatchSize: run.BatchSize, BatchNormInputs: BatchNormInputs(m)}
	res, err := l.Run()
	if err != nil {
		t.Fatal(err)
	}
	return res
}
