package train

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/train/optim"
)

// TrainState is everything a training run needs to continue exactly where
// it stopped after a completed epoch: weights, BatchNorm statistics,
// optimizer moments, the schedule, early stopping (with its best weights),
// the random state and the history. Resuming from it reaches bit for bit
// the result of the uninterrupted run.
//
// The random state is small: the data order of epoch e is a pure function
// of (Seed, e) (data.Order), and the dropout masks of a step are a
// function of (Seed, the executor's step counter), so Seed, Epoch and
// ExecStep restore both streams.
type TrainState struct {
	Version int
	// Settings are what the run was made with that must not change on
	// resume (the caller's settings, data, model), as name → value.
	Settings map[string]string
	Epoch    int    // completed epochs
	Step     int    // training steps so far (Loop.Step)
	ExecStep uint64 // the executor's step counter (dropout masks)
	Seed     uint64
	History  []EpochStats
	Stopped  string // early stopping's reason, when it ended the run

	Params, Buffers []Tensor
	Opt             optim.SavedState
	Sched           optim.ScheduleState
	Early           *EarlyState
}

// Tensor is a named array of a checkpoint.
type Tensor struct {
	Name  string
	Shape []int
	Value []float32
}

// EarlyState is early stopping's state.
type EarlyState struct {
	Best      float64
	BestEpoch int
	Wait      int
	BestVals  [][]float32 // snapshot of the best epoch (params, then buffers)
}

const stateVersion = 1

// stateMagic starts every checkpoint file.
const stateMagic = "nnkit training checkpoint\n"

// stepper is what the executor offers for the dropout stream.
type stepper interface {
	Step() uint64
	SetStep(uint64)
}

// CaptureState copies the loop's state after its epoch l.Epoch; es may be
// nil. The copy shares nothing with the running loop.
func CaptureState(l *Loop, res []EpochStats, es *EarlyStopping, settings map[string]string) (*TrainState, error) {
	st := &TrainState{Version: stateVersion, Settings: maps.Clone(settings), Epoch: l.Epoch, Step: l.Step,
		Seed: l.Seed, History: slices.Clone(res), Stopped: l.stopReason}
	if s, ok := l.Model.(stepper); ok {
		st.ExecStep = s.Step()
	}
	for _, p := range l.Model.Params() {
		st.Params = append(st.Params, Tensor{p.Name, slices.Clone(p.Shape), slices.Clone(p.Value)})
	}
	for _, p := range l.Model.Buffers() {
		st.Buffers = append(st.Buffers, Tensor{p.Name, slices.Clone(p.Shape), slices.Clone(p.Value)})
	}
	so, ok := l.Opt.(optim.Exporter)
	if !ok {
		return nil, fmt.Errorf("the %s optimizer cannot save its state", l.Opt.Name())
	}
	st.Opt = so.ExportState(l.Model.Params())
	if l.Sched != nil {
		ss, ok := l.Sched.(optim.StatefulSchedule)
		if !ok {
			return nil, errors.New("the learning-rate schedule cannot save its state")
		}
		st.Sched = ss.State()
	}
	if es != nil {
		st.Early = &EarlyState{Best: es.Best, BestEpoch: es.BestEpoch, Wait: es.wait}
		for _, v := range es.best {
			st.Early.BestVals = append(st.Early.BestVals, slices.Clone(v))
		}
	}
	return st, nil
}

// SaveState is an epoch hook that captures the state after every epoch
// and hands it to Save (which writes it, e.g. with Encode). Put it
// after EarlyStopping in the hooks, so that its decision is included.
type SaveState struct {
	ES       *EarlyStopping // nil without early stopping
	Settings map[string]string
	Save     func(*TrainState) (path string, err error)

	history []EpochStats
}

func (s *SaveState) OnStart(l *Loop) error {
	s.history = slices.Clone(l.History)
	return nil
}

func (s *SaveState) OnEpoch(l *Loop, e *EpochStats) error {
	s.history = append(s.history, *e)
	st, err := CaptureState(l, s.history, s.ES, s.Settings)
	if err != nil {
		return err
	}
	path, err := s.Save(st)
	if err != nil {
		return fmt.Errorf("writing the checkpoint: %w", err)
	}
	return l.Emit(Event{Name: "state_checkpoint", Fields: map[string]any{"path": path}})
}

// Resume is a start hook that puts a saved state back into the loop. Put
// it first among the hooks, so that every other hook starts from the
// restored state (a hook that remembers the weights at the start, such as
// the training doctor's rollback point, must see the resumed ones);
// EarlyStopping keeps the state Resume gives it. Run then continues with
// epoch State.Epoch+1, or ends at once when the state says early stopping
// had ended the run.
type Resume struct {
	State *TrainState
	ES    *EarlyStopping
}

func (r *Resume) OnStart(l *Loop) error {
	st := r.State
	if err := restoreTensors("parameter", l.Model.Params(), st.Params); err != nil {
		return err
	}
	if err := restoreTensors("buffer", l.Model.Buffers(), st.Buffers); err != nil {
		return err
	}
	so, ok := l.Opt.(optim.Exporter)
	if !ok {
		return fmt.Errorf("the %s optimizer cannot restore its state", l.Opt.Name())
	}
	if err := so.ImportState(l.Model.Params(), st.Opt); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if l.Sched != nil {
		ss, ok := l.Sched.(optim.StatefulSchedule)
		if !ok || st.Sched == nil {
			return errors.New("checkpoint: no learning-rate schedule state to restore")
		}
		if err := ss.SetState(st.Sched); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if r.ES != nil {
		if st.Early == nil {
			return errors.New("checkpoint: written without early stopping")
		}
		r.ES.Best, r.ES.BestEpoch, r.ES.wait, r.ES.resumed = st.Early.Best, st.Early.BestEpoch, st.Early.Wait, true
		r.ES.best = nil
		for _, v := range st.Early.BestVals {
			r.ES.best = append(r.ES.best, slices.Clone(v))
		}
		if len(r.ES.best) > 0 && len(r.ES.best) != len(l.Model.Params())+len(l.Model.Buffers()) {
			return errors.New("checkpoint: early stopping's best weights do not fit the model")
		}
	}
	if s, ok := l.Model.(stepper); ok {
		s.SetStep(st.ExecStep)
	}
	l.Step = st.Step
	l.History = slices.Clone(st.History)
	if st.Stopped != "" {
		l.Stop(st.Stopped)
	}
	msg := fmt.Sprintf("resuming after epoch %d of %d", st.Epoch, l.Epochs)
	if st.Stopped != "" {
		msg = fmt.Sprintf("the checkpoint's run had ended (%s): keeping its result", st.Stopped)
	} else if st.Epoch >= l.Epochs {
		msg = l.Say(Say(fmt.Sprintf("the checkpoint has all %d epochs: nothing left to train (raise ", st.Epoch), SettingEpochs, " to train longer)"))
	}
	return l.Emit(Event{Name: "resumed", Epoch: st.Epoch, Message: msg, Fields: map[string]any{"from_epoch": st.Epoch}})
}

func restoreTensors(what string, dst []*exec.Param, src []Tensor) error {
	if len(dst) != len(src) {
		return fmt.Errorf("checkpoint has %d %ss, the model %d", len(src), what, len(dst))
	}
	for i, p := range dst {
		s := src[i]
		if s.Name != p.Name || !slices.Equal(s.Shape, p.Shape) || len(s.Value) != len(p.Value) {
			return fmt.Errorf("checkpoint %s %d is %q %v, the model's is %q %v", what, i, s.Name, s.Shape, p.Name, p.Shape)
		}
		copy(p.Value, s.Value)
	}
	return nil
}

// SettingsDiff lists the settings that differ between a checkpoint and
// the current run, as "name: checkpoint → now".
func SettingsDiff(saved, now map[string]string) []string {
	var out []string
	keys := slices.Collect(maps.Keys(saved))
	for k := range now {
		if _, ok := saved[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if saved[k] != now[k] {
			out = append(out, fmt.Sprintf("%s: %s → %s", k, orNone(saved[k]), orNone(now[k])))
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

// Encode writes the state: a magic line, the gob-encoded state and the
// SHA-256 of both, so that a damaged file is recognized as such.
func (st *TrainState) Encode(w io.Writer) error {
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<20)
	if _, err := io.WriteString(bw, stateMagic); err != nil {
		return err
	}
	if err := gob.NewEncoder(bw).Encode(st); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(h.Sum(nil))
	return err
}

// ErrNotCheckpoint is DecodeState's error for data that does not begin
// with a training checkpoint's magic line.
var ErrNotCheckpoint = errors.New("not a training checkpoint")

// VersionError is a checkpoint of a format version DecodeState does not
// read.
type VersionError struct{ Version, Reads int }

func (e *VersionError) Error() string {
	return fmt.Sprintf("checkpoint version %d; this package reads version %d", e.Version, e.Reads)
}

// DecodeState reads what Encode wrote, checking the magic line and the
// checksum first.
func DecodeState(b []byte) (*TrainState, error) {
	if !bytes.HasPrefix(b, []byte(stateMagic)) {
		return nil, ErrNotCheckpoint
	}
	if len(b) < len(stateMagic)+sha256.Size {
		return nil, errors.New("checkpoint truncated")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, errors.New("checkpoint damaged: its checksum does not match")
	}
	st := &TrainState{}
	if err := gob.NewDecoder(bytes.NewReader(body[len(stateMagic):])).Decode(st); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if st.Version != stateVersion {
		return nil, &VersionError{Version: st.Version, Reads: stateVersion}
	}
	return st, nil
}

// Describe summarizes the state for messages.
func (st *TrainState) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %d, step %d, %s lr %g", st.Epoch, st.Step, st.Opt.Name, st.Opt.LR)
	if n := len(st.History); n > 0 {
		fmt.Fprintf(&b, ", train_loss %.4f", st.History[n-1].TrainLoss)
	}
	return b.String()
}
