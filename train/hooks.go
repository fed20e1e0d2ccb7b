package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/nnkit/nnkit/train/loss"
)

// Hook is anything the loop calls back: a value implementing one or more of
// StartHook, StepHook, EpochHook, EventHook and EndHook.
type Hook any

// StartHook runs once before the first epoch.
type StartHook interface{ OnStart(l *Loop) error }

// StepHook runs after every training step.
type StepHook interface {
	OnStep(l *Loop, s *StepStats) error
}

// EpochHook runs after every epoch (training, validation and the schedule's
// step); it may call l.Stop.
type EpochHook interface {
	OnEpoch(l *Loop, e *EpochStats) error
}

// EventHook receives the events hooks and the loop emit.
type EventHook interface{ OnEvent(l *Loop, e Event) error }

// EndHook runs once at the end, also after a failure (err).
type EndHook interface {
	OnEnd(l *Loop, r *Result, err error) error
}

// DivergeHook is consulted when the training loss becomes NaN or infinite,
// before the loop gives up. A hook that repaired the run (rolled the model
// back to a good state, e.g. the training doctor in fix mode) returns true:
// the loop then drops the batch and goes on.
type DivergeHook interface {
	OnDiverged(l *Loop, e *DivergedError) (recovered bool, err error)
}

// Event is something worth a log line that is not an epoch summary: early
// stopping, a learning-rate reduction, divergence, a checkpoint, a
// diagnosis. Name becomes the JSON log's "event" field.
type Event struct {
	Name    string
	Epoch   int
	Message string
	Fields  map[string]any
}

// JSONLog writes one JSON object per epoch and per event (JSON lines).
type JSONLog struct {
	w   io.Writer
	err error
}

// NewJSONLog logs to w.
func NewJSONLog(w io.Writer) *JSONLog { return &JSONLog{w: w} }

// num is a float that is written as null when it is NaN or infinite (JSON
// has no NaN).
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

func (j *JSONLog) write(v any) error {
	if j.err != nil {
		return j.err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, j.err = j.w.Write(append(b, '\n'))
	return j.err
}

func (j *JSONLog) OnEpoch(l *Loop, e *EpochStats) error {
	type line struct {
		Epoch     int     `json:"epoch"`
		TrainLoss num     `json:"train_loss"`
		TrainAcc  num     `json:"train_acc"`
		ValLoss   num     `json:"val_loss"`
		ValAcc    num     `json:"val_acc"`
		LR        num     `json:"lr"`
		GradNorm  num     `json:"grad_norm"`
		Seconds   float64 `json:"seconds"`
		Steps     int     `json:"steps"`
	}
	return j.write(line{e.Epoch, num(e.TrainLoss), num(e.TrainAcc), num(e.ValLoss), num(e.ValAcc), num(e.LR), num(e.GradNorm),
		math.Round(e.Seconds*1e6) / 1e6, e.Steps})
}

func (j *JSONLog) OnEvent(l *Loop, e Event) error {
	m := map[string]any{}
	for k, v := range e.Fields {
		if f, ok := v.(float64); ok {
			v = num(f)
		}
		m[k] = v
	}
	m["event"] = e.Name
	m["epoch"] = e.Epoch
	if e.Message != "" {
		m["message"] = e.Message
	}
	return j.write(m)
}

// Progress prints training progress: on a terminal a line redrawn as
// the epoch goes (batch i/N, running loss, samples per second, time left
// in the epoch) and one summary line per epoch; otherwise only the
// summary lines. Events are printed as lines too.
type Progress struct {
	w   io.Writer
	tty bool
	// Width is the terminal's width in columns; the live line is cut to
	// fit it (0: 80).
	Width      int
	lastDraw   time.Time
	epochStart time.Time
	drawn      bool
	epochs     int
	lossSum    float64
	seen       int
}

// NewProgress writes to w; tty selects the redrawn line.
func NewProgress(w io.Writer, tty bool) *Progress { return &Progress{w: w, tty: tty} }

func (p *Progress) OnStart(l *Loop) error {
	p.epochs = l.Epochs
	p.epochStart = time.Now()
	val := "no validation"
	if l.Val != nil {
		val = fmt.Sprintf("%d validation samples", l.Val.N)
	}
	fmt.Fprintf(p.w, "training on %d samples (%s), %d epochs, batch %d, %s lr %g\n", l.Train.N, val, l.Epochs, l.BatchSize, optName(l), l.Opt.LR())
	if l.perSample > 1 {
		ign := ""
		if ce, ok := l.Loss.(loss.CrossEntropy); ok && ce.Ignore {
			ign = fmt.Sprintf(", labels %d ignored", ce.IgnoreIndex)
		}
		fmt.Fprintf(p.w, "labels per position %v: cross-entropy over the class axis at %d positions per sample%s; accuracy is per position\n", l.Train.LabelShape, l.perSample, ign)
	}
	return nil
}

func (p *Progress) OnStep(l *Loop, s *StepStats) error {
	if s.Step == 1 {
		p.lossSum, p.seen = 0, 0
	}
	p.lossSum += s.Loss * float64(s.Samples)
	p.seen += s.Samples
	if !p.tty || (time.Since(p.lastDraw) < 100*time.Millisecond && s.Step != s.Steps) {
		return nil
	}
	p.lastDraw = time.Now()
	fmt.Fprint(p.w, "\r\x1b[K"+p.line(s, time.Since(p.epochStart).Seconds()))
	p.drawn = true
	return nil
}

// line is the live progress line after step s of an epoch that has run
// for elapsed seconds, cut to the terminal's width.
func (p *Progress) line(s *StepStats, elapsed float64) string {
	const barWidth = 20
	done := barWidth * s.Step / s.Steps
	bar := strings.Repeat("=", done)
	if done < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-done-1)
	}
	txt := fmt.Sprintf("epoch %*d/%d [%s] %d/%d  loss %.4f", digits(p.epochs), s.Epoch, p.epochs, bar, s.Step, s.Steps, p.lossSum/float64(p.seen))
	if elapsed > 0 {
		rate := float64(p.seen) / elapsed
		eta := elapsed / float64(s.Step) * float64(s.Steps-s.Step)
		txt += fmt.Sprintf("  %s samples/s  ETA %s", rateString(rate), duration(eta))
	}
	width := p.Width
	if width <= 0 {
		width = 80
	}
	if r := []rune(txt); len(r) > width-1 { // the last column would wrap on some terminals
		txt = string(r[:max(0, width-1)])
	}
	return txt
}

// rateString prints a rate with 3 significant digits: 850, 12.4k, 1.05M.
func rateString(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.3gM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.3gk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

func (p *Progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

func (p *Progress) OnEpoch(l *Loop, e *EpochStats) error {
	p.clear()
	defer func() { p.epochStart = time.Now() }()
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %*d/%d  train_loss %.4f", digits(p.epochs), e.Epoch, p.epochs, e.TrainLoss)
	if !math.IsNaN(e.TrainAcc) {
		fmt.Fprintf(&b, "  train_acc %.4f", e.TrainAcc)
	}
	if !math.IsNaN(e.ValLoss) {
		fmt.Fprintf(&b, "  val_loss %.4f", e.ValLoss)
	}
	if !math.IsNaN(e.ValAcc) {
		fmt.Fprintf(&b, "  val_acc %.4f", e.ValAcc)
	}
	fmt.Fprintf(&b, "  lr %.3g  grad_norm %.3g  %s", e.LR, e.GradNorm, duration(e.Seconds))
	fmt.Fprintln(p.w, b.String())
	return nil
}

func (p *Progress) OnEvent(l *Loop, e Event) error {
	p.clear()
	// A divergence ends the run with an error the caller reports.
	if e.Message != "" && e.Name != "diverged" {
		fmt.Fprintln(p.w, e.Message)
	}
	return nil
}

func (p *Progress) OnEnd(l *Loop, r *Result, err error) error {
	p.clear()
	return nil
}

func digits(n int) int { return len(fmt.Sprint(n)) }

// duration prints seconds readably: 12ms, 3.4s, 2m05s.
func duration(s float64) string {
	switch {
	case s < 1:
		return fmt.Sprintf("%.0fms", s*1000)
	case s < 60:
		return fmt.Sprintf("%.1fs", s)
	}
	return fmt.Sprintf("%dm%02.0fs", int(s)/60, math.Mod(s, 60))
}

func optName(l *Loop) string { return l.Opt.Name() }

// EarlyStopping stops training when the validation loss has not improved
// by more than MinDelta for Patience epochs, and puts back the weights (and
// BatchNorm statistics) of the best epoch at the end.
type EarlyStopping struct {
	Patience int
	MinDelta float64

	// BestEpoch and Best are the best epoch so far and its validation loss.
	BestEpoch int
	Best      float64
	wait      int
	best      [][]float32
	resumed   bool // Resume set the state: OnStart keeps it
}

func (s *EarlyStopping) OnStart(l *Loop) error {
	if l.Val == nil {
		return errors.New("early stopping needs a validation set (Loop.Val is nil)")
	}
	if s.resumed {
		s.resumed = false
		return nil
	}
	s.Best, s.BestEpoch, s.wait, s.best = math.Inf(1), 0, 0, nil
	return nil
}

func (s *EarlyStopping) OnEpoch(l *Loop, e *EpochStats) error {
	if e.ValLoss < s.Best-s.MinDelta {
		s.Best, s.BestEpoch, s.wait = e.ValLoss, e.Epoch, 0
		s.best = snapshot(l.Model)
		return nil
	}
	s.wait++
	if s.wait >= s.Patience {
		reason := fmt.Sprintf("early stopping at epoch %d: val_loss has not improved by more than %g for %d epochs; best epoch %d (val_loss %.6g)",
			e.Epoch, s.MinDelta, s.wait, s.BestEpoch, s.Best)
		l.Stop(reason)
		return l.Emit(Event{Name: "early_stop", Message: reason, Fields: map[string]any{"best_epoch": s.BestEpoch, "best_val_loss": s.Best, "patience": s.Patience, "min_delta": s.MinDelta}})
	}
	return nil
}

// OnEnd restores the best weights unless the last epoch was the best.
func (s *EarlyStopping) OnEnd(l *Loop, r *Result, err error) error {
	if err != nil || s.best == nil || len(r.Epochs) == 0 || r.Epochs[len(r.Epochs)-1].Epoch == s.BestEpoch {
		return nil
	}
	restore(l.Model, s.best)
	return l.Emit(Event{Name: "best_restored", Epoch: len(r.Epochs),
		Message: fmt.Sprintf("keeping the weights of epoch %d (best val_loss %.6g)", s.BestEpoch, s.Best),
		Fields:  map[string]any{"best_epoch": s.BestEpoch, "best_val_loss": s.Best}})
}

// Checkpoint calls Save every Every epochs (the command writes the model
// there, atomically, so an interrupted run leaves the latest weights).
type Checkpoint struct {
	Every int
	Save  func(epoch int) (path string, err error)
}

func (c *Checkpoint) OnEpoch(l *Loop, e *EpochStats) error {
	if c.Every <= 0 || e.Epoch%c.Every != 0 || e.Epoch == l.Epochs {
		return nil
	}
	path, err := c.Save(e.Epoch)
	if err != nil {
		return err
	}
	return l.Emit(Event{Name: "checkpoint", Message: fmt.Sprintf("checkpoint: epoch %d written to %s", e.Epoch, path), Fields: map[string]any{"path": path}})
}
