package train

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/loss"
	"github.com/nnkit/nnkit/train/optim"
)

// curves.json: PyTorch's per-epoch losses for the same loop
// (testdata/train/make_train_golden.py curves).
type curves struct {
	Epochs         int                 `json:"epochs"`
	IllConditioned map[string][]string `json:"ill_conditioned"`
	BatchSize      int                 `json:"batch_size"`
	Models         map[string]struct{ Path string }
	Optimizers     map[string]struct {
		LR          float64    `json:"lr"`
		Momentum    float64    `json:"momentum"`
		Dampening   float64    `json:"dampening"`
		Nesterov    bool       `json:"nesterov"`
		WeightDecay *float64   `json:"weight_decay"`
		Betas       [2]float64 `json:"betas"`
		Eps         float64    `json:"eps"`
		Alpha       float64    `json:"alpha"`
		Centered    bool       `json:"centered"`
	}
	Schedulers map[string]*struct {
		StepSize  int     `json:"step_size"`
		Gamma     float64 `json:"gamma"`
		TMax      int     `json:"T_max"`
		EtaMin    float64 `json:"eta_min"`
		Factor    float64 `json:"factor"`
		Patience  int     `json:"patience"`
		Threshold float64 `json:"threshold"`
		Cooldown  int     `json:"cooldown"`
	}
	Regularizers map[string]struct {
		ClipNorm  float64 `json:"clip_norm"`
		ClipValue float64 `json:"clip_value"`
		L1        float64 `json:"l1"`
	}
	Runs []goldenRun
}

type goldenRun struct {
	Model, Optimizer, Scheduler, Reg string
	TrainLoss                        []float64 `json:"train_loss"`
	ValLoss                          []float64 `json:"val_loss"`
	TrainLoss64                      []float64 `json:"train_loss_f64"`
	ValLoss64                        []float64 `json:"val_loss_f64"`
	TrainAcc                         []float64 `json:"train_acc"`
	ValAcc                           []float64 `json:"val_acc"`
	LR                               []float64 `json:"lr"`
	GradNorm                         []float64 `json:"grad_norm"`
}

func loadCurves(t testing.TB) *curves {
	b, err := os.ReadFile("../testdata/train/curves.json")
	if err != nil {
		t.Fatal(err)
	}
	var c curves
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// settingsFor turns a golden run's configuration into the loop's pieces,
// starting from PyTorch's defaults as nntrain does.
func (c *curves) settingsFor(t testing.TB, opt, sched string) (OptimizerSettings, ScheduleSettings) {
	o := c.Optimizers[opt]
	os, err := OptimizerDefaults(opt)
	if err != nil {
		t.Fatal(err)
	}
	os.LR, os.Momentum, os.Dampening, os.Nesterov, os.Centered = o.LR, o.Momentum, o.Dampening, o.Nesterov, o.Centered
	if o.WeightDecay != nil {
		os.WeightDecay = *o.WeightDecay
	}
	if o.Betas != [2]float64{} {
		os.Betas = o.Betas
	}
	if o.Eps != 0 {
		os.Eps = o.Eps
	}
	if o.Alpha != 0 {
		os.Alpha = o.Alpha
	}
	ss := ScheduleSettings{Name: sched, HasValSet: true}
	if s := c.Schedulers[sched]; s != nil {
		ss.StepSize, ss.Gamma, ss.TMax, ss.EtaMin = s.StepSize, s.Gamma, s.TMax, s.EtaMin
		ss.Plateau = optim.DefaultPlateau
		ss.Plateau.Factor, ss.Plateau.Patience, ss.Plateau.Threshold, ss.Plateau.Cooldown = s.Factor, s.Patience, s.Threshold, s.Cooldown
	}
	return os, ss
}

func relErr(got, want float64) float64 {
	return math.Abs(got-want) / math.Abs(want)
}

// TestParityWithPyTorch trains every golden configuration for 3 epochs
// (no shuffling, dropout off) and compares the per-epoch train and
// validation losses with PyTorch's: within 1e-4 relative (issue 5's
// requirement) of PyTorch's float32 run, or of the same PyTorch run
// replayed in float64 where PyTorch's float32 result is itself further
// than that from it.
//
// Ill-conditioned runs (curves.json "ill_conditioned": cnn_digits, whose
// conv.bias feeds a BatchNorm) under Adam, AdamW and RMSprop: that bias's
// gradient is 0 in exact arithmetic and rounding noise in float32, which
// those optimizers scale into steps of about lr with a random sign. The
// training-mode loss does not depend on the bias (BatchNorm removes it)
// and is held to 1e-4; the eval-mode loss does, and no float32
// implementation can reproduce PyTorch's there (PyTorch's own float32 and
// float64 runs differ by up to 3e-2): it is reported, not asserted.
// TestIllConditionedBiasBeforeBN checks that diagnosis.
func TestParityWithPyTorch(t *testing.T) {
	c := loadCurves(t)
	d, err := data.Load("../testdata/data/digits", data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	worst := map[parityKey]float64{}
	worstModel := map[string]float64{}
	var illRows, f64Notes []string
	gradWorst := 0.0
	for _, run := range c.Runs {
		name := fmt.Sprintf("%s/%s/%s/%s", run.Model, run.Optimizer, run.Scheduler, run.Reg)
		res := runGolden(t, c, d, run.Model, run.Optimizer, run.Scheduler, run.Reg)
		ill := c.IllConditioned[run.Model] != nil && run.Optimizer != "sgd"
		w := 0.0   // worst over epochs of min(error vs float32, error vs float64)
		w32 := 0.0 // the same against PyTorch's float32 run alone
		wVal32, torchVal := 0.0, 0.0
		for e, es := range res.Epochs {
			if es.LR != run.LR[e] {
				t.Errorf("%s epoch %d: lr %v, PyTorch %v", name, e+1, es.LR, run.LR[e])
			}
			tr := math.Min(relErr(es.TrainLoss, run.TrainLoss[e]), relErr(es.TrainLoss, run.TrainLoss64[e]))
			va := math.Min(relErr(es.ValLoss, run.ValLoss[e]), relErr(es.ValLoss, run.ValLoss64[e]))
			w = math.Max(w, tr)
			w32 = math.Max(w32, relErr(es.TrainLoss, run.TrainLoss[e]))
			// grad_norm (mean pre-clipping norm) depends only on training-mode
			// passes: held to the same 1e-4 as the losses.
			if g := relErr(es.GradNorm, run.GradNorm[e]); g > 1e-4 {
				t.Errorf("%s epoch %d: grad_norm %v, PyTorch %v", name, e+1, es.GradNorm, run.GradNorm[e])
			} else {
				gradWorst = math.Max(gradWorst, g)
			}
			if ill {
				wVal32 = math.Max(wVal32, relErr(es.ValLoss, run.ValLoss[e]))
				torchVal = math.Max(torchVal, relErr(run.ValLoss[e], run.ValLoss64[e]))
				continue
			}
			w = math.Max(w, va)
			w32 = math.Max(w32, relErr(es.ValLoss, run.ValLoss[e]))
			// Accuracies count argmax hits; a near-tie flipped by float32
			// rounding would move one sample (1/1437, 1/360): allow one.
			if math.Abs(es.TrainAcc-run.TrainAcc[e]) > 1.0/1437+1e-12 || math.Abs(es.ValAcc-run.ValAcc[e]) > 1.0/360+1e-12 {
				t.Errorf("%s epoch %d: acc %v/%v, PyTorch %v/%v", name, e+1, es.TrainAcc, es.ValAcc, run.TrainAcc[e], run.ValAcc[e])
			}
		}
		// Issue 5: 1e-4 relative over 3 epochs. Float32 rounding (summation
		// order in GEMM, convolution, reductions) starts near 1e-7 and grows
		// through training; observed worst: see the table.
		if w > 1e-4 {
			t.Errorf("%s: relative error %.3g > 1e-4\n  train %v\n  torch %v\n  val   %v\n  torch %v\n  f64   %v / %v", name, w,
				losses(res, true), run.TrainLoss, losses(res, false), run.ValLoss, run.TrainLoss64, run.ValLoss64)
		}
		if ill {
			illRows = append(illRows, fmt.Sprintf("| %s | %s | %s | %.1e | %.1e | %.1e |", run.Optimizer, run.Scheduler, run.Reg, w, wVal32, torchVal))
			continue
		}
		k := parityKey{run.Optimizer, run.Scheduler, run.Reg}
		worst[k] = math.Max(worst[k], w)
		if w32 > 1e-4 {
			f64Notes = append(f64Notes, fmt.Sprintf("%s: %.1e from PyTorch float32, %.1e from its float64 replay; PyTorch float32 is %.1e from that replay", name, w32, w, t64Err(run)))
		}
		worstModel[run.Model] = math.Max(worstModel[run.Model], w)
	}
	t.Log("\nworst relative error of train_loss and val_loss, 3 epochs, over mlp_digits, bn_mlp_digits, cnn_bn_digits (and cnn_digits with SGD):\n" +
		parityTable(worst, worstModel) + "closer to the float64 replay than PyTorch's float32 run:\n  " + strings.Join(f64Notes, "\n  "))
	t.Logf("worst relative error of grad_norm over all runs: %.1e", gradWorst)
	t.Log("\ncnn_digits (conv.bias before BatchNorm) with adaptive optimizers:\n" +
		"| optimizer | scheduler | reg | train_loss (asserted) | val_loss vs PyTorch f32 | PyTorch f32 vs f64 val_loss |\n|---|---|---|---|---|---|\n" +
		strings.Join(illRows, "\n"))
}

// runGolden trains one golden configuration.
func runGolden(t testing.TB, c *curves, d *data.Data, model, optName, schedName, regName string) *Result {
	t.Helper()
	m, err := onnxio.ReadFile(filepath.Join("..", c.Models[model].Path))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := exec.Compile(m, exec.Options{OverrideDropout: true, DropoutRatio: 0})
	if err != nil {
		t.Fatalf("%s: %v", model, err)
	}
	os, ss := c.settingsFor(t, optName, schedName)
	opt, err := NewOptimizer(os)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := NewSchedule(ss, os.LR)
	if err != nil {
		t.Fatal(err)
	}
	reg := c.Regularizers[regName]
	l := &Loop{Model: prog, Train: d.Train, Val: d.Val, Loss: loss.CrossEntropy{}, Opt: opt, Sched: sched,
		Epochs: c.Epochs, BatchSize: c.BatchSize, Shuffle: false, BatchNormInputs: BatchNormInputs(m),
		ClipNorm: reg.ClipNorm, ClipValue: reg.ClipValue, L1: reg.L1}
	res, err := l.Run()
	if err != nil {
		t.Fatalf("%s/%s/%s/%s: %v", model, optName, schedName, regName, err)
	}
	return res
}

// t64Err is how far PyTorch's float32 run is from its float64 replay.
func t64Err(run goldenRun) float64 {
	w := 0.0
	for e := range run.TrainLoss {
		w = math.Max(w, math.Max(relErr(run.TrainLoss[e], run.TrainLoss64[e]), relErr(run.ValLoss[e], run.ValLoss64[e])))
	}
	return w
}

func losses(r *Result, train bool) []float64 {
	var out []float64
	for _, e := range r.Epochs {
		if train {
			out = append(out, e.TrainLoss)
		} else {
			out = append(out, e.ValLoss)
		}
	}
	return out
}

// parityTable formats optimizer × scheduler rows with one column per
// regularizer: the worst relative error over models, epochs and
// train/val loss.
type parityKey struct{ opt, sched, reg string }

func parityTable(worst map[parityKey]float64, models map[string]float64) string {
	type row struct{ opt, sched string }
	cells := map[row]map[string]float64{}
	var regs []string
	seen := map[string]bool{}
	for k, v := range worst {
		kk := k
		r := row{kk.opt, kk.sched}
		if cells[r] == nil {
			cells[r] = map[string]float64{}
		}
		cells[r][kk.reg] = v
		if !seen[kk.reg] {
			seen[kk.reg] = true
			regs = append(regs, kk.reg)
		}
	}
	order := map[string]int{"none": 0, "clip": 1, "l1": 2, "clip+l1": 3, "clipvalue": 4}
	sort.Slice(regs, func(i, j int) bool { return order[regs[i]] < order[regs[j]] })
	var rows []row
	for r := range cells {
		rows = append(rows, r)
	}
	optOrder := map[string]int{"sgd": 0, "adam": 1, "adamw": 2, "rmsprop": 3}
	schedOrder := map[string]int{"none": 0, "step": 1, "cosine": 2, "plateau": 3}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].opt != rows[j].opt {
			return optOrder[rows[i].opt] < optOrder[rows[j].opt]
		}
		return schedOrder[rows[i].sched] < schedOrder[rows[j].sched]
	})
	var b strings.Builder
	fmt.Fprintf(&b, "| optimizer | scheduler |")
	for _, r := range regs {
		fmt.Fprintf(&b, " %s |", r)
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(regs)) + "\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |", r.opt, r.sched)
		for _, reg := range regs {
			if v, ok := cells[r][reg]; ok {
				fmt.Fprintf(&b, " %.1e |", v)
			} else {
				b.WriteString(" — |")
			}
		}
		b.WriteByte('\n')
	}
	var ms []string
	for m, v := range models {
		ms = append(ms, fmt.Sprintf("%s %.1e", m, v))
	}
	sort.Strings(ms)
	b.WriteString("worst per model: " + strings.Join(ms, ", ") + "\n")
	return b.String()
}
