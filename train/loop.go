package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/loss"
	"github.com/nnkit/nnkit/train/optim"
)

// Model is what the loop needs of a compiled program; *exec.Program
// provides it.
type Model interface {
	Inputs() []exec.InputSpec
	OutputNames() []string
	Params() []*exec.Param
	Buffers() []*exec.Param
	Run(mode exec.Mode, inputs map[string]*exec.Tensor) (map[string]*exec.Tensor, error)
	Backward(outGrads map[string]*exec.Tensor) error
	ZeroGrad()
}

// Loop trains Model on Train, validating on Val after every epoch.
type Loop struct {
	Model Model
	Train *data.Set
	Val   *data.Set // nil: no validation
	Loss  loss.Func
	Opt   optim.Optimizer
	Sched optim.Schedule // nil: constant learning rate

	Epochs    int
	BatchSize int
	Shuffle   bool
	// DropLast drops a last, incomplete batch (DataLoader's drop_last).
	DropLast bool
	Seed     uint64

	ClipNorm  float64 // > 0: clip_grad_norm_(max_norm)
	ClipValue float64 // > 0: clip_grad_value_ (applied after ClipNorm)
	L1        float64 // > 0: λ·Σ|θ| added to the loss

	// BatchNormInputs names the data inputs of the model's
	// BatchNormalization nodes (see BatchNormInputs). A training batch of
	// one sample is refused when one of them would then normalize a single
	// value per channel, as PyTorch refuses it.
	BatchNormInputs []string

	Hooks []Hook

	// Explain, when set, words the loop's errors for the user in the
	// caller's terms (nntrain names its flags); the events the loop emits
	// about an error carry that text. nil: the error's own message.
	Explain func(error) string
	// Name, when set, words a setting (with its value) in the caller's
	// terms in the messages of the loop and its hooks that advise
	// changing one (see Text). nil: Change.String.
	Name func(Change) string

	// History holds the epochs completed before this Run (a resumed run,
	// see Resume): Run continues with epoch len(History)+1 and reports
	// them in its Result.
	History []EpochStats

	// Epoch (1-based) and Step (global, 1-based) of the work in progress,
	// for hooks.
	Epoch, Step int

	input, output string
	outGrad       exec.Tensor
	// intInput: the model's input is an integer tensor (token ids); the
	// float32 features are converted into inBuf for each batch.
	intInput bool
	inBuf    []int64
	// perSample is the number of labels per sample: the positions of an
	// [N, C, d1, …] output under per-position cross-entropy (1 otherwise).
	perSample   int
	stopReason  string
	interrupted atomic.Bool
}

// StepStats describes one training step.
type StepStats struct {
	Epoch, Step int // Step counts within the epoch, from 1
	Steps       int // steps in this epoch
	Samples     int
	Loss        float64 // criterion, without the L1 term
	GradNorm    float64 // total gradient norm before clipping
}

// EpochStats is one epoch's summary: what the JSON log's epoch lines hold.
type EpochStats struct {
	Epoch     int
	TrainLoss float64 // sample-weighted mean of the batch losses (no L1 term)
	TrainAcc  float64 // NaN when accuracy means nothing (float targets)
	ValLoss   float64 // NaN without validation
	ValAcc    float64
	LR        float64 // the learning rate used in this epoch
	NextLR    float64 // after the schedule's step
	GradNorm  float64 // mean total gradient norm (before clipping) over the steps
	Seconds   float64 // wall time of the training part
	Steps     int
}

// Result is what Run returns.
type Result struct {
	Epochs []EpochStats
	// Stopped says why training ended before Epochs ("" when it ran them
	// all), e.g. early stopping.
	Stopped string
}

// DivergedError is returned when the loss becomes NaN or infinite: the
// training failed.
type DivergedError struct {
	Epoch, Step int
	What        string // "train loss", "validation loss"
	Value       float64
}

func (e *DivergedError) Error() string {
	if e.Step > 0 {
		return fmt.Sprintf("training diverged: %s is %v at epoch %d, step %d", e.What, e.Value, e.Epoch, e.Step)
	}
	return fmt.Sprintf("training diverged: %s is %v after epoch %d", e.What, e.Value, e.Epoch)
}

// SetupKind says which setting a SetupError is about.
type SetupKind int

const (
	// InputCount: the model has other than one data input.
	InputCount SetupKind = iota + 1
	// InputType: the model's input is neither float32 nor int64.
	InputType
	// OutputShape: the output has no batch dimension.
	OutputShape
	// DropLastEmpty: DropLast leaves no batch.
	DropLastEmpty
	// SingleSampleBatchNorm: the last batch holds one sample and a
	// BatchNorm would normalize one value per channel; BatchSize or
	// DropLast fix it.
	SingleSampleBatchNorm
	// LabelsNeedCE: labels per position need the cross-entropy loss.
	LabelsNeedCE
	// StepSizeMissing: a step schedule needs a step size ≥ 1.
	StepSizeMissing
	// PlateauNeedsVal: the plateau schedule watches the validation loss.
	PlateauNeedsVal
)

// SetupError is a setting of the loop that does not fit the model or the
// data. Problem says what is wrong without naming a setting; Error adds
// the setting in the Loop's terms, and a command line can word it with
// its own flags (Kind says which).
type SetupError struct {
	Kind    SetupKind
	Problem string
}

func (e *SetupError) Error() string {
	switch e.Kind {
	case InputCount, InputType:
		return e.Problem + "; the loop feeds exactly one float32 or int64 input"
	case OutputShape:
		return e.Problem + "; the loop needs [batch, ...]"
	case DropLastEmpty:
		return "DropLast " + e.Problem
	case SingleSampleBatchNorm:
		return e.Problem + ": change BatchSize or set DropLast"
	case LabelsNeedCE:
		return e.Problem + " need the cross-entropy loss"
	case StepSizeMissing:
		return "the step schedule needs a step size ≥ 1 (" + e.Problem + ")"
	case PlateauNeedsVal:
		return "the plateau schedule " + e.Problem + ": give Loop.Val"
	}
	return e.Problem
}

// Stop asks the loop to end after the current epoch; hooks call it (early
// stopping).
func (l *Loop) Stop(reason string) {
	if l.stopReason == "" {
		l.stopReason = reason
	}
}

// Interrupt asks the loop to stop after the current epoch; unlike Stop it
// may be called from another goroutine (a signal handler).
func (l *Loop) Interrupt() { l.interrupted.Store(true) }

// Emit passes an event to every hook that takes events (the JSON log, the
// console).
func (l *Loop) Emit(e Event) error {
	if e.Epoch == 0 {
		e.Epoch = l.Epoch
	}
	for _, h := range l.Hooks {
		if eh, ok := h.(EventHook); ok {
			if err := eh.OnEvent(l, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Setup checks the model and data against each other. Run calls it; it is
// exported for callers (the LR finder) that need the checks alone.
func (l *Loop) Setup() error {
	if l.BatchSize < 1 {
		return fmt.Errorf("batch size must be ≥ 1, got %d", l.BatchSize)
	}
	ins := l.Model.Inputs()
	if len(ins) != 1 {
		names := make([]string, len(ins))
		for i, in := range ins {
			names[i] = in.Name
		}
		return &SetupError{InputCount, fmt.Sprintf("the model has %d data inputs (%v)", len(ins), names)}
	}
	switch ins[0].DType {
	case ir.Float32:
	case ir.Int64:
		l.intInput = true
	default:
		return &SetupError{InputType, fmt.Sprintf("the model's input %q is %v", ins[0].Name, ins[0].DType)}
	}
	outs := l.Model.OutputNames()
	if len(outs) == 0 {
		return errors.New("the model has no outputs")
	}
	l.input, l.output = ins[0].Name, outs[0]
	sample := ins[0].Shape
	if len(sample) > 0 {
		sample = sample[1:] // the batch dimension
	}
	for _, s := range []*data.Set{l.Train, l.Val} {
		if s == nil {
			continue
		}
		if err := s.Reshape(sample); err != nil {
			return err
		}
	}
	if l.Train.N == 0 {
		return fmt.Errorf("%s: no training samples", l.Train.File)
	}
	if l.intInput {
		for _, s := range []*data.Set{l.Train, l.Val} {
			if s == nil {
				continue
			}
			if err := s.CheckIntegers(); err != nil {
				return err
			}
		}
	}
	if l.DropLast && l.Train.N < l.BatchSize {
		return &SetupError{DropLastEmpty, fmt.Sprintf("with %d training samples and batches of %d leaves nothing to train on", l.Train.N, l.BatchSize)}
	}
	// The output width, from one eval-mode forward (no state changes).
	k, err := l.outputWidth()
	if err != nil {
		return err
	}
	if !l.DropLast && (l.Train.N%l.BatchSize == 1 || l.Train.N == 1) {
		if name := l.singleValueBatchNorm(); name != "" {
			return &SetupError{SingleSampleBatchNorm, fmt.Sprintf("%d training samples in batches of %d leave a batch of one sample, and BatchNorm over %q would normalize a single value per channel (PyTorch refuses it too)", l.Train.N, l.BatchSize, name)}
		}
	}
	return l.checkTargets(k)
}

// singleValueBatchNorm returns the first BatchNormalization input that
// holds one value per channel for a one-sample batch ([1, C] or
// [1, C, 1, 1]), using the values of the probe forward Setup just ran. A
// model that cannot show its intermediate values is assumed to have one.
func (l *Loop) singleValueBatchNorm() string {
	v, ok := l.Model.(interface{ Value(string) *exec.Tensor })
	for _, name := range l.BatchNormInputs {
		if !ok {
			return name
		}
		t := v.Value(name)
		if t == nil || len(t.Shape) < 2 {
			return name
		}
		per := 1
		for _, d := range t.Shape[2:] {
			per *= d
		}
		if per == 1 {
			return name
		}
	}
	return ""
}

// outputWidth runs the first training batch forward in eval mode: a batch
// of the size training uses, so that the executor's plan for it (buffers
// for every value) is the one the training steps reuse rather than a
// second one for a single sample (0.14 GB for a VGG-11 at 224×224). A
// model whose input declares a fixed batch size gets one sample, as it
// always did.
func (l *Loop) outputWidth() (int, error) {
	n := min(l.BatchSize, l.Train.N)
	if s := l.Model.Inputs()[0].Shape; n < 1 || len(s) > 0 && s[0] >= 0 {
		n = 1
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	b := l.Train.Subset(idx)
	out, err := l.Model.Run(exec.Eval, map[string]*exec.Tensor{l.input: l.inputTensor(b.X, n, b.Shape)})
	if err != nil {
		return 0, err
	}
	o := out[l.output]
	if o == nil || o.DType != ir.Float32 {
		return 0, fmt.Errorf("the model's output %q is not a float32 tensor", l.output)
	}
	if len(o.Shape) == 0 || o.Shape[0] != n {
		what := "one sample"
		if n > 1 {
			what = fmt.Sprintf("a batch of %d", n)
		}
		return 0, &SetupError{OutputShape, fmt.Sprintf("the model's output %q has shape %v for %s", l.output, o.Shape, what)}
	}
	l.perSample = 1
	if ls := l.Train.LabelShape; ls != nil {
		if l.Loss.Name() != "ce" {
			return 0, &SetupError{LabelsNeedCE, fmt.Sprintf("%s: labels of shape %v per sample (one class per position)", l.Train.File, ls)}
		}
		if len(o.Shape) < 3 || !slices.Equal(o.Shape[2:], ls) {
			return 0, fmt.Errorf("%s: labels of shape %v per sample need an output [batch, classes, %s]; %q has %v",
				l.Train.File, ls, strings.Trim(fmt.Sprint(ls), "[]"), l.output, o.Shape)
		}
		l.perSample = len(o.F) / n / o.Shape[1]
		return o.Shape[1], nil
	}
	if l.Loss.Name() == "ce" && len(o.Shape) != 2 {
		return 0, fmt.Errorf("cross-entropy needs an output of shape [batch, classes], or [batch, classes, d1, ...] with integer labels [d1, ...] per sample; %q has %v", l.output, o.Shape)
	}
	return len(o.F) / n, nil
}

// checkTargets checks labels and targets against the loss and the output
// width k, for both sets, before any training.
func (l *Loop) checkTargets(k int) error {
	var errs ir.ErrorList
	for _, s := range []*data.Set{l.Train, l.Val} {
		if s == nil || (s == l.Val && l.Val.File == l.Train.File && len(errs) > 0 && s.Labels == nil) {
			continue // a held-out part of the same file: its width problem is already reported
		}
		switch {
		case s.Labels != nil && l.Loss.Name() == "ce":
			ce, _ := l.Loss.(loss.CrossEntropy)
			if err := s.CheckLabels(k, ce.Ignore, ce.IgnoreIndex); err != nil {
				errs = append(errs, err)
			}
		case s.Labels != nil && l.Loss.Name() == "bce" && k == 1:
			if err := s.CheckBinary(); err != nil {
				errs = append(errs, err)
			}
		case s.Labels != nil && k > 1: // one-hot targets for bce/mse/l1
			if err := s.CheckClasses(k); err != nil {
				errs = append(errs, err)
			}
		case s.Labels == nil && l.Loss.Name() == "ce" && s.TargetWidth != k:
			errs = append(errs, fmt.Errorf("%s: cross-entropy with float targets needs %d class probabilities per sample; the data has %d (integer labels are class indices)", s.File, k, s.TargetWidth))
		case s.Labels == nil && s.TargetWidth != k:
			errs = append(errs, fmt.Errorf("%s: %d target values per sample, but the model has %d outputs", s.File, s.TargetWidth, k))
		}
	}
	return errs.Err()
}

func (l *Loop) inputTensor(x []float32, n int, shape []int) *exec.Tensor {
	if l.intInput {
		// whole numbers within ±2^24, checked by Setup
		l.inBuf = slices.Grow(l.inBuf[:0], len(x))[:len(x)]
		for i, v := range x {
			l.inBuf[i] = int64(v)
		}
		return &exec.Tensor{DType: ir.Int64, Shape: append([]int{n}, shape...), I: l.inBuf}
	}
	return &exec.Tensor{DType: ir.Float32, Shape: append([]int{n}, shape...), F: x}
}

func (l *Loop) target(b data.Batch) loss.Target {
	return loss.Target{Labels: b.Labels, Values: b.Targets, PerSample: l.perSample}
}

// TrainStep runs one step on a batch: forward (train mode), loss and its
// gradient, backward, L1, clipping, optimizer step. It returns the
// criterion's value (without L1), the pre-clipping gradient norm and the
// number of correct predictions.
func (l *Loop) TrainStep(b data.Batch) (lossv, gradNorm float64, correct, counted int, err error) {
	l.Model.ZeroGrad()
	out, err := l.Model.Run(exec.Train, map[string]*exec.Tensor{l.input: l.inputTensor(b.X, b.N, l.Train.Shape)})
	if err != nil {
		return 0, 0, 0, 0, err
	}
	o := out[l.output]
	k := len(o.F) / b.N
	g := &l.outGrad
	g.DType, g.Shape = ir.Float32, slices.Clone(o.Shape)
	if cap(g.F) < len(o.F) {
		g.F = make([]float32, len(o.F))
	}
	g.F = g.F[:len(o.F)]
	t := l.target(b)
	lossv = l.Loss.Eval(g.F, o.F, b.N, k, t)
	correct, counted = l.Loss.Correct(o.F, b.N, k, t)
	if math.IsNaN(lossv) || math.IsInf(lossv, 0) {
		return lossv, 0, correct, counted, nil
	}
	if err := l.Model.Backward(map[string]*exec.Tensor{l.output: g}); err != nil {
		return 0, 0, 0, 0, err
	}
	params := l.Model.Params()
	if l.L1 > 0 {
		optim.AddL1Grad(params, l.L1)
	}
	var norm float32
	if l.ClipNorm > 0 {
		norm = optim.ClipGradNorm(params, l.ClipNorm)
	} else {
		norm = optim.GradNorm(params)
	}
	if l.ClipValue > 0 {
		optim.ClipGradValue(params, l.ClipValue)
	}
	l.Opt.Step(params)
	return lossv, float64(norm), correct, counted, nil
}

// Evaluate runs s in eval mode in batches and returns the sample-weighted
// mean loss and the accuracy (NaN when not defined).
func (l *Loop) Evaluate(s *data.Set) (lossv, acc float64, err error) {
	grad := []float32(nil)
	var total float64
	correct, counted := 0, 0
	for b := range s.Batches(l.BatchSize, data.Order(s.N, false, 0, 0)) {
		out, err := l.Model.Run(exec.Eval, map[string]*exec.Tensor{l.input: l.inputTensor(b.X, b.N, s.Shape)})
		if err != nil {
			return 0, 0, err
		}
		o := out[l.output]
		if cap(grad) < len(o.F) {
			grad = make([]float32, len(o.F))
		}
		k := len(o.F) / b.N
		t := l.target(b)
		total += l.Loss.Eval(grad[:len(o.F)], o.F, b.N, k, t) * float64(b.N)
		c, n := l.Loss.Correct(o.F, b.N, k, t)
		correct += c
		counted += n
	}
	acc = math.NaN()
	if counted > 0 {
		acc = float64(correct) / float64(counted)
	}
	return total / float64(s.N), acc, nil
}

// Run trains for Epochs epochs (fewer if a hook stops it). A schedule
// steps the optimizer's learning rate (see optim.Schedule).
func (l *Loop) Run() (*Result, error) {
	if err := l.Setup(); err != nil {
		return nil, err
	}
	if l.Sched != nil {
		l.Sched.Attach(l.Opt)
	}
	for _, h := range l.Hooks {
		if sh, ok := h.(StartHook); ok {
			if err := sh.OnStart(l); err != nil {
				return nil, err
			}
		}
	}
	res := &Result{Epochs: slices.Clone(l.History)}
	runErr := l.epochs(res)
	res.Stopped = l.stopReason
	for _, h := range l.Hooks {
		if eh, ok := h.(EndHook); ok {
			if err := eh.OnEnd(l, res, runErr); err != nil && runErr == nil {
				runErr = err
			}
		}
	}
	return res, runErr
}

func (l *Loop) epochs(res *Result) error {
	n := l.Train.N
	steps := (n + l.BatchSize - 1) / l.BatchSize
	if l.DropLast {
		steps = n / l.BatchSize
	}
	for l.Epoch = len(res.Epochs) + 1; l.Epoch <= l.Epochs && l.stopReason == ""; l.Epoch++ {
		es := EpochStats{Epoch: l.Epoch, LR: l.Opt.LR(), Steps: steps, ValLoss: math.NaN(), ValAcc: math.NaN()}
		start := time.Now()
		var sum, normSum float64
		correct, counted, seen, step := 0, 0, 0, 0
		for b := range l.Train.Batches(l.BatchSize, data.Order(n, l.Shuffle, l.Seed, l.Epoch)) {
			if l.DropLast && b.N < l.BatchSize {
				break
			}
			step++
			l.Step++
			lv, norm, c, k, err := l.TrainStep(b)
			if err != nil {
				return err
			}
			if math.IsNaN(lv) || math.IsInf(lv, 0) {
				e := &DivergedError{Epoch: l.Epoch, Step: step, What: "train loss", Value: lv}
				if ok, err := l.recovered(e); err != nil || ok {
					if err != nil {
						return err
					}
					continue
				}
				l.Emit(Event{Name: "diverged", Message: l.explain(e), Fields: map[string]any{"step": step}})
				return e
			}
			sum += lv * float64(b.N)
			normSum += norm
			correct += c
			counted += k
			seen += b.N
			ss := StepStats{Epoch: l.Epoch, Step: step, Steps: steps, Samples: b.N, Loss: lv, GradNorm: norm}
			for _, h := range l.Hooks {
				if sh, ok := h.(StepHook); ok {
					if err := sh.OnStep(l, &ss); err != nil {
						return err
					}
				}
			}
		}
		es.Seconds = time.Since(start).Seconds()
		es.TrainLoss = sum / float64(seen)
		es.GradNorm = normSum / float64(step)
		es.TrainAcc = math.NaN()
		if counted > 0 {
			es.TrainAcc = float64(correct) / float64(counted)
		}
		metric := es.TrainLoss
		if l.Val != nil {
			vl, va, err := l.Evaluate(l.Val)
			if err != nil {
				return err
			}
			es.ValLoss, es.ValAcc = vl, va
			metric = vl
			if math.IsNaN(vl) || math.IsInf(vl, 0) {
				e := &DivergedError{Epoch: l.Epoch, What: "validation loss", Value: vl}
				l.Emit(Event{Name: "diverged", Message: l.explain(e)})
				return e
			}
		}
		es.NextLR = es.LR
		if l.Sched != nil {
			l.Sched.Attach(l.Opt) // a hook may have replaced the optimizer
			es.NextLR = l.Sched.Step(metric)
		}
		res.Epochs = append(res.Epochs, es)
		for _, h := range l.Hooks {
			if eh, ok := h.(EpochHook); ok {
				if err := eh.OnEpoch(l, &res.Epochs[len(res.Epochs)-1]); err != nil {
					return err
				}
			}
		}
		if r, ok := l.Sched.(optim.Reducer); ok {
			if reduced, patience := r.Reduced(); reduced {
				l.Emit(Event{Name: "lr_reduced", Message: fmt.Sprintf("validation loss has not improved for more than %d epochs: learning rate %g → %g", patience, es.LR, es.NextLR),
					Fields: map[string]any{"lr": es.NextLR}})
			}
		}
		if l.interrupted.Load() && l.stopReason == "" {
			l.Stop(fmt.Sprintf("interrupted after epoch %d", l.Epoch))
			if err := l.Emit(Event{Name: "interrupted", Message: l.stopReason}); err != nil {
				return err
			}
		}
		if l.stopReason != "" {
			break
		}
	}
	return nil
}

// explain words err for the user (see Loop.Explain).
func (l *Loop) explain(err error) string {
	if l.Explain != nil {
		return l.Explain(err)
	}
	return err.Error()
}

// recovered asks the DivergeHooks whether one of them repaired the run.
func (l *Loop) recovered(e *DivergedError) (bool, error) {
	for _, h := range l.Hooks {
		if dh, ok := h.(DivergeHook); ok {
			ok, err := dh.OnDiverged(l, e)
			if err != nil || ok {
				return ok, err
			}
		}
	}
	return false, nil
}

// snapshot copies every parameter and buffer value.
func snapshot(m Model) [][]float32 {
	var s [][]float32
	for _, p := range append(m.Params(), m.Buffers()...) {
		s = append(s, slices.Clone(p.Value))
	}
	return s
}

// restore writes a snapshot back.
func restore(m Model, s [][]float32) {
	for i, p := range append(m.Params(), m.Buffers()...) {
		copy(p.Value, s[i])
	}
}
