package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/loss"
	"github.com/nnkit/nnkit/train/optim"
)

// linear is a stand-in Model for testing the loop's mechanics without the
// executor: out = x·Wᵀ + b, in float64 internally.
type linear struct {
	in, out int
	w, b    *exec.Param
	x       []float32
	n       int
	runs    int
}

func newLinear(in, out int) *linear {
	m := &linear{in: in, out: out}
	m.w = &exec.Param{Name: "w", Shape: []int{out, in}, Value: make([]float32, in*out), Grad: make([]float32, in*out)}
	m.b = &exec.Param{Name: "b", Shape: []int{out}, Value: make([]float32, out), Grad: make([]float32, out)}
	for i := range m.w.Value {
		m.w.Value[i] = float32(math.Sin(float64(i))) * 0.1
	}
	return m
}

func (m *linear) Inputs() []exec.InputSpec {
	return []exec.InputSpec{{Name: "input", DType: ir.Float32, Shape: []int{-1, m.in}}}
}
func (m *linear) OutputNames() []string  { return []string{"output"} }
func (m *linear) Params() []*exec.Param  { return []*exec.Param{m.w, m.b} }
func (m *linear) Buffers() []*exec.Param { return nil }
func (m *linear) ZeroGrad()              { clear(m.w.Grad); clear(m.b.Grad) }
func (m *linear) Run(mode exec.Mode, in map[string]*exec.Tensor) (map[string]*exec.Tensor, error) {
	x := in["input"]
	m.runs++
	m.n = x.Shape[0]
	m.x = slices.Clone(x.F)
	o := make([]float32, m.n*m.out)
	for i := 0; i < m.n; i++ {
		for j := 0; j < m.out; j++ {
			s := float64(m.b.Value[j])
			for k := 0; k < m.in; k++ {
				s += float64(m.w.Value[j*m.in+k]) * float64(x.F[i*m.in+k])
			}
			o[i*m.out+j] = float32(s)
		}
	}
	return map[string]*exec.Tensor{"output": {DType: ir.Float32, Shape: []int{m.n, m.out}, F: o}}, nil
}
func (m *linear) Backward(g map[string]*exec.Tensor) error {
	d := g["output"].F
	for i := 0; i < m.n; i++ {
		for j := 0; j < m.out; j++ {
			m.b.Grad[j] += d[i*m.out+j]
			for k := 0; k < m.in; k++ {
				m.w.Grad[j*m.in+k] += d[i*m.out+j] * m.x[i*m.in+k]
			}
		}
	}
	return nil
}

// blobs is a separable 3-class problem in 4 features.
func blobs(n int, seed float64) *data.Set {
	s := &data.Set{File: "blobs", N: n, Shape: []int{4}}
	for i := 0; i < n; i++ {
		c := i % 3
		for k := 0; k < 4; k++ {
			v := float32(math.Sin(float64(i*4+k)+seed)) * 0.3
			if k == c {
				v += 1
			}
			s.X = append(s.X, v)
		}
		s.Labels = append(s.Labels, int64(c))
	}
	return s
}

func newLoop(t *testing.T, epochs int) (*Loop, *linear) {
	m := newLinear(4, 3)
	opt, err := optim.NewSGD(optim.SGDConfig{LR: 0.5, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	return &Loop{Model: m, Train: blobs(90, 0), Val: blobs(30, 1), Loss: loss.CrossEntropy{}, Opt: opt,
		Epochs: epochs, BatchSize: 16, Shuffle: true, Seed: 3}, m
}

func TestLoopLogsAndLearns(t *testing.T) {
	l, _ := newLoop(t, 5)
	var log, console bytes.Buffer
	l.Sched, _ = optim.NewStepLR(0.5, 2, 0.1)
	l.Hooks = []Hook{NewJSONLog(&log), NewProgress(&console, false)}
	res, err := l.Run()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Epochs) != 5 || res.Stopped != "" {
		t.Fatalf("%d epochs, stopped %q", len(res.Epochs), res.Stopped)
	}
	first, last := res.Epochs[0], res.Epochs[4]
	if !(last.ValLoss < first.ValLoss && last.ValAcc > 0.9) {
		t.Fatalf("did not learn: val loss %v → %v, acc %v", first.ValLoss, last.ValLoss, last.ValAcc)
	}
	if res.Epochs[2].LR != 0.05 || res.Epochs[1].NextLR != 0.05 {
		t.Fatalf("StepLR(2, 0.1) not applied after epoch 2: %+v", res.Epochs[2])
	}
	sc := bufio.NewScanner(&log)
	lines := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "grad_norm", "seconds"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("log line %q lacks %q", sc.Text(), k)
			}
		}
		lines++
	}
	if lines != 5 {
		t.Fatalf("%d log lines, want 5", lines)
	}
	if !strings.Contains(console.String(), "epoch 5/5  train_loss") || strings.Contains(console.String(), "\r") {
		t.Fatalf("console output (not a TTY):\n%s", console.String())
	}
}

// TestTrainLossIsPreUpdateMean checks the definition of train_loss: the
// sample-weighted mean of each batch's loss computed before its update.
func TestTrainLossIsPreUpdateMean(t *testing.T) {
	l, m := newLoop(t, 1)
	l.Shuffle = false
	ref, _ := newLoop(t, 1)
	ref.Shuffle = false
	if err := ref.Setup(); err != nil {
		t.Fatal(err)
	}
	var want float64
	for b := range ref.Train.Batches(16, data.Order(90, false, 0, 0)) {
		lv, _, _, _, err := ref.TrainStep(b)
		if err != nil {
			t.Fatal(err)
		}
		want += lv * float64(b.N)
	}
	want /= 90
	res, err := l.Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.Epochs[0].TrainLoss != want {
		t.Fatalf("train_loss %v, step-by-step %v", res.Epochs[0].TrainLoss, want)
	}
	_ = m
}

func TestEarlyStoppingKeepsBest(t *testing.T) {
	l, m := newLoop(t, 30)
	// Validation labels disagree with training labels: after a first
	// improvement, fitting the training set makes the validation loss worse.
	l.Opt, _ = optim.NewSGD(optim.SGDConfig{LR: 0.05})
	for i := range l.Val.Labels {
		if i%2 == 0 {
			l.Val.Labels[i] = (l.Val.Labels[i] + 1) % 3
		}
	}
	es := &EarlyStopping{Patience: 2}
	var log bytes.Buffer
	l.Hooks = []Hook{es, NewJSONLog(&log)}
	res, err := l.Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped == "" || len(res.Epochs) == 30 {
		t.Fatalf("did not stop early: %d epochs", len(res.Epochs))
	}
	if !strings.Contains(log.String(), `"event":"early_stop"`) {
		t.Fatalf("no early_stop event in\n%s", log.String())
	}
	// The restored weights give the best epoch's validation loss.
	vl, _, err := l.Evaluate(l.Val)
	if err != nil {
		t.Fatal(err)
	}
	if vl != es.Best {
		t.Fatalf("after restoring: val loss %v, best epoch %d had %v", vl, es.BestEpoch, es.Best)
	}
	if last := res.Epochs[len(res.Epochs)-1]; last.Epoch != es.BestEpoch+es.Patience {
		t.Fatalf("stopped at epoch %d, best %d, patience %d", last.Epoch, es.BestEpoch, es.Patience)
	}
	_ = m
}

func TestDivergence(t *testing.T) {
	l, m := newLoop(t, 3)
	m.w.Value[0] = float32(math.Inf(1))
	_, err := l.Run()
	var d *DivergedError
	if err == nil || !asDiverged(err, &d) || d.Epoch != 1 || d.Step != 1 {
		t.Fatalf("infinite weight: %v", err)
	}
}

func asDiverged(err error, d **DivergedError) bool {
	e, ok := err.(*DivergedError)
	*d = e
	return ok
}

func TestSetupErrors(t *testing.T) {
	l, _ := newLoop(t, 1)
	l.Train.Labels[5] = 3
	_, err := l.Run()
	if err == nil || !strings.Contains(err.Error(), "blobs sample 5: label 3 is out of range for a model with 3 outputs") {
		t.Fatalf("bad label: %v", err)
	}
	l, _ = newLoop(t, 1)
	l.Train = blobs(33, 0)            // 2 batches of 16 + 1
	l.BatchNormInputs = []string{"x"} // linear has no Value method: assumed [1, C]
	if _, err := l.Run(); err == nil || !strings.Contains(err.Error(), "leave a batch of one sample") {
		t.Fatalf("batch of one with BatchNorm: %v", err)
	}
	l.DropLast = true
	if _, err := l.Run(); err != nil {
		t.Fatalf("--drop-last: %v", err)
	}
	l, _ = newLoop(t, 1)
	l.Train.Shape = []int{2, 2}
	l.Train.X = l.Train.X[:4*l.Train.N]
	bad := &data.Set{File: "wide", N: 2, Shape: []int{5}, X: make([]float32, 10), Labels: []int64{0, 1}}
	l.Val = bad
	if _, err := l.Run(); err == nil || !strings.Contains(err.Error(), "[5]") || !strings.Contains(err.Error(), "[4]") {
		t.Fatalf("shape mismatch: %v", err)
	}
}

func TestFindLR(t *testing.T) {
	l, m := newLoop(t, 1)
	l.Loss = loss.MSE{} // quadratic in the weights: a large enough LR diverges
	before := slices.Clone(m.w.Value)
	opt, _ := optim.NewSGD(optim.SGDConfig{LR: 1})
	r, err := l.FindLR(opt, 1e-4, 1e3, 60)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, m.w.Value) {
		t.Fatal("weights not restored after the range test")
	}
	if r.Stopped == "" {
		t.Fatalf("an LR of 1000 did not blow up the loss: %v", r.Smoothed)
	}
	if !(r.Suggested > 1e-4 && r.Suggested < r.LRs[len(r.LRs)-1]) {
		t.Fatalf("suggested %v outside the sweep", r.Suggested)
	}
	if l.Opt == opt {
		t.Fatal("the loop's optimizer was not put back")
	}
}

func TestProgressOnTerminal(t *testing.T) {
	l, _ := newLoop(t, 2)
	var out bytes.Buffer
	l.Hooks = []Hook{NewProgress(&out, true)}
	if _, err := l.Run(); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "\r\x1b[Kepoch 1/2 [") || !strings.Contains(s, "6/6  loss ") || !strings.Contains(s, "epoch 2/2  train_loss") {
		t.Fatalf("terminal output: %q", s)
	}
}

// Setup's forward (output width, BatchNorm shapes) runs a batch of the
// training batch size, so the executor plans the shapes training uses
// instead of a second plan for one sample; a set smaller than a batch
// runs whole.
func TestSetupForwardUsesTrainingBatch(t *testing.T) {
	for _, c := range []struct{ n, batch, want int }{{90, 16, 16}, {5, 16, 5}, {90, 1, 1}} {
		l, m := newLoop(t, 1)
		l.Train, l.BatchSize = blobs(c.n, 0), c.batch
		if err := l.Setup(); err != nil {
			t.Fatal(err)
		}
		if m.runs != 1 || m.n != c.want {
			t.Errorf("%d samples, batches of %d: Setup ran %d forwards, the last of %d samples; want 1 of %d", c.n, c.batch, m.runs, m.n, c.want)
		}
	}
}
