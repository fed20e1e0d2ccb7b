package doctor

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/train"
)

// Settings are the run's settings; the doctor quotes them in its advice
// and changes them in fix mode.
type Settings struct {
	Optimizer train.OptimizerSettings
	Schedule  train.ScheduleSettings
	// Dropout is the dropout ratio the run overrides the model's with
	// when DropoutSet; otherwise the model's own ratios apply (the doctor
	// reads the largest from the graph).
	Dropout    float64
	DropoutSet bool
	// EarlyStopping is early stopping's patience (0: off).
	EarlyStopping int
}

// Config configures the doctor.
type Config struct {
	Mode Mode
	// Every is the sampling period, in steps, of the per-layer and
	// activation statistics (default 10).
	Every int
	// MaxRepairs bounds the repairs of fix mode (default 4 in all, at most
	// 2 per kind).
	MaxRepairs int
	// Summary receives the end-of-run table (nil: none). A run without
	// diagnoses prints nothing.
	Summary io.Writer
	// Seed seeds re-initializations.
	Seed uint64
	// Published applies the published criteria as they are — the
	// initial loss as reference, AUTOTRAINER's oscillation count without
	// the trend test, underfitting from epoch 4, no finding suppressed by
	// its cause — for comparison (go run ./testdata/doctor prints both).
	Published bool
}

// Diagnosis is one finding.
type Diagnosis struct {
	Kind        Kind
	Epoch, Step int    // Step is global (1-based); 0 for epoch-level findings
	Layer       string // "" when the finding is about the whole model
	Evidence    map[string]any
	Advice      train.Text // what to do, naming the settings to change
	Fix         string     // Advice as the loop words it (Loop.Name)
	Message     string     // the terminal line
	Count       int        // how many times the condition was seen
}

// Repair is one remedy applied in fix mode.
type Repair struct {
	Kind     Kind
	Epoch    int
	Step     int
	Action   string         // what was done
	Changes  []train.Change // the settings that make it permanent (none for a re-initialization)
	Rollback int            // the epoch rolled back to (-1: no rollback; 0: the initial weights)
}

// Doctor is the training loop hook. Create it with New.
type Doctor struct {
	cfg   Config
	set   Settings
	model *ir.Model
	name  func(train.Change) string // the loop's wording of settings

	layers []*layer
	acts   []*actSite
	values interface{ Value(string) *exec.Tensor }

	lnC        float64 // ln(classes) for a cross-entropy model, else NaN
	initLoss   float64 // mean of the first steps' losses
	firstLoss  []float64
	baseNorms  []float64
	baseline   float64 // median gradient norm of the first 20 steps
	bigSteps   int     // consecutive steps with a gradient norm ≥ 100× baseline
	lastGrad   float64 // the last finite step's gradient norm
	epochLoss  []float64
	epochMin   float64
	epochMax   float64
	stepsInEp  int
	ratioMax   []float64 // largest per-layer update ratio of each sample in the first epoch
	ratioHist  []float64 // the last sampled largest per-layer update ratios
	highFactor float64   // LR factor for lr-too-high
	epochMark  int       // diagnoses+repairs when the epoch began
	highRatio  int       // consecutive samples with a high update ratio
	vanishRun  int
	lastVanish map[string]any
	prevW      [][]float32 // weights before the sampled step
	hasPrev    bool

	epochs []train.EpochStats

	diags    []*Diagnosis
	byKey    map[string]*Diagnosis
	active   map[Kind]bool // kinds diagnosed since the last repair
	repairs  []Repair
	attempts map[Kind]int
	good     *state // last good state (fix mode)
	best     *state // best-validation state (fix mode)
	bestVal  float64
	earlyOn  bool
	dropout  float64 // current dropout ratio (model's max when not overridden)
	pending  []pendingRepair
	lastEp   int
	rng      uint64
	rngSrc   *rand.Rand
}

type pendingRepair struct {
	kind  Kind
	layer *actSite
}

// New builds a doctor for model m (the graph the program was compiled
// from: it names the activation layers).
func New(m *ir.Model, s Settings, c Config) *Doctor {
	if c.Every <= 0 {
		c.Every = 10
	}
	if c.MaxRepairs <= 0 {
		c.MaxRepairs = 4
	}
	d := &Doctor{cfg: c, set: s, model: m, lnC: math.NaN(), byKey: map[string]*Diagnosis{}, active: map[Kind]bool{}, attempts: map[Kind]int{},
		rng: c.Seed*0x9e3779b97f4a7c15 + 1}
	d.dropout = s.Dropout
	if !s.DropoutSet {
		d.dropout = modelDropout(m)
	}
	return d
}

// Diagnoses returns what the doctor found, in order.
func (d *Doctor) Diagnoses() []Diagnosis {
	out := make([]Diagnosis, len(d.diags))
	for i, g := range d.diags {
		out[i] = *g
	}
	return out
}

// Repairs returns the remedies applied (fix mode).
func (d *Doctor) Repairs() []Repair { return slices.Clone(d.repairs) }

// Kinds returns the distinct kinds diagnosed.
func (d *Doctor) Kinds() []Kind {
	var ks []Kind
	for _, g := range d.diags {
		if !slices.Contains(ks, g.Kind) {
			ks = append(ks, g.Kind)
		}
	}
	return ks
}

func (d *Doctor) OnStart(l *train.Loop) error {
	if d.cfg.Mode == Off {
		return nil
	}
	d.name = l.Name
	d.layers = findLayers(l.Model.Params())
	if v, ok := l.Model.(interface{ Value(string) *exec.Tensor }); ok {
		d.values = v
		d.acts = findActivations(d.model, l.Model.Params())
	}
	if l.Loss.Name() == "ce" {
		if o := d.model.Graph.Outputs; len(o) > 0 {
			if k := classes(o[0]); k > 1 {
				d.lnC = math.Log(float64(k))
			}
		}
	}
	d.epochMin, d.epochMax = math.Inf(1), math.Inf(-1)
	d.bestVal = math.Inf(1)
	if d.cfg.Mode == Fix {
		d.good = save(l, 0)
	}
	d.prevW, d.hasPrev = d.copyWeights(nil), true
	return nil
}

func classes(v *ir.Value) int {
	if v.Type == nil || len(v.Type.Shape) != 2 {
		return 0
	}
	return int(v.Type.Shape[1].Value)
}

func (d *Doctor) OnStep(l *train.Loop, s *train.StepStats) error {
	if d.cfg.Mode == Off {
		return nil
	}
	if s.Step == 1 {
		d.epochMin, d.epochMax, d.stepsInEp = math.Inf(1), math.Inf(-1), 0
		d.epochMark = d.events()
	}
	d.stepsInEp++
	d.epochMin, d.epochMax = min(d.epochMin, s.Loss), max(d.epochMax, s.Loss)
	if len(d.firstLoss) < 5 {
		d.firstLoss = append(d.firstLoss, s.Loss)
		d.initLoss = mean(d.firstLoss)
	}
	if err := d.checkExploding(l, s); err != nil {
		return err
	}
	if d.hasPrev && (l.Step <= earlySteps || l.Step%d.cfg.Every == 0) {
		if err := d.updateRatio(l, s); err != nil {
			return err
		}
	}
	if l.Step%d.cfg.Every == 0 {
		if err := d.sample(l, s); err != nil {
			return err
		}
	}
	d.hasPrev = false
	if next := l.Step + 1; next <= earlySteps || next%d.cfg.Every == 0 {
		d.prevW, d.hasPrev = d.copyWeights(d.prevW), true
	}
	return d.runPending(l)
}

// OnDiverged reports nan-loss and, in fix mode, rolls back and lowers the
// learning rate.
func (d *Doctor) OnDiverged(l *train.Loop, e *train.DivergedError) (bool, error) {
	if d.cfg.Mode == Off {
		return false, nil
	}
	lr := l.Opt.LR()
	ev := map[string]any{"loss": e.Value, "lr": lr, "last_grad_norm": d.lastNorm(), "baseline_grad_norm": d.baseline}
	msg := fmt.Sprintf("training loss is %v at epoch %d step %d (lr %g", e.Value, e.Epoch, l.Step, lr)
	if d.lastGrad > 0 {
		msg += fmt.Sprintf(", gradient norm %.3g at the step before", d.lastGrad)
	}
	if d.baseline > 0 {
		msg += fmt.Sprintf(", median of the first steps %.3g", d.baseline)
	}
	msg += ")" + d.initNote(l, ev)
	fix := d.lowerLRAdvice(l, 10, true)
	if err := d.diagnose(l, NaNLoss, "", l.Step, ev, msg, fix); err != nil {
		return false, err
	}
	if d.cfg.Mode != Fix || !d.canRepair(NaNLoss) {
		return false, nil
	}
	return true, d.repairLR(l, NaNLoss, 0.1, true)
}

// events counts diagnoses (also repeated ones) and repairs: a good epoch
// adds none.
func (d *Doctor) events() int {
	n := len(d.repairs)
	for _, g := range d.diags {
		n += g.Count
	}
	return n
}

func (d *Doctor) lastNorm() float64 { return d.lastGrad }

func (d *Doctor) OnEpoch(l *train.Loop, e *train.EpochStats) error {
	if d.cfg.Mode == Off {
		return nil
	}
	d.epochs = append(d.epochs, *e)
	d.epochLoss = append(d.epochLoss, e.TrainLoss)
	if err := d.epochRules(l, e); err != nil {
		return err
	}
	if err := d.runPending(l); err != nil {
		return err
	}
	if d.cfg.Mode == Fix {
		if d.events() == d.epochMark && !math.IsNaN(e.TrainLoss) {
			d.good = save(l, e.Epoch)
		}
		if !math.IsNaN(e.ValLoss) && e.ValLoss < d.bestVal {
			d.bestVal = e.ValLoss
			d.best = save(l, e.Epoch)
		}
	}
	return nil
}

func (d *Doctor) OnEnd(l *train.Loop, r *train.Result, err error) error {
	if d.cfg.Mode == Off {
		return nil
	}
	var div *train.DivergedError
	if errors.As(err, &div) && div.Step == 0 { // validation loss: the loop asks no hook
		ev := map[string]any{"val_loss": div.Value, "lr": l.Opt.LR()}
		d.diagnose(l, NaNLoss, "", 0, ev, fmt.Sprintf("validation loss is %v after epoch %d", div.Value, div.Epoch), d.lowerLRAdvice(l, 10, true))
	}
	if d.cfg.Summary != nil && len(d.diags) > 0 {
		d.WriteSummary(d.cfg.Summary)
	}
	return nil
}

// diagnose records a finding and emits it once per kind and layer.
func (d *Doctor) diagnose(l *train.Loop, k Kind, layer string, step int, ev map[string]any, msg string, advice train.Text) error {
	key := string(k)
	d.active[k] = true
	if g := d.byKey[key]; g != nil {
		g.Count++
		return nil
	}
	fix := l.Say(advice)
	g := &Diagnosis{Kind: k, Epoch: l.Epoch, Step: step, Layer: layer, Evidence: ev, Advice: advice, Fix: fix, Count: 1}
	where := fmt.Sprintf("epoch %d", l.Epoch)
	if step > 0 {
		where += fmt.Sprintf(" step %d", step)
	}
	if layer != "" {
		where += " (" + layer + ")"
	}
	g.Message = fmt.Sprintf("doctor: %s at %s: %s — %s", k, where, msg, fix)
	d.diags = append(d.diags, g)
	d.byKey[key] = g
	fields := map[string]any{"kind": string(k), "step": step, "layer": layer, "evidence": clean(ev), "fix": fix}
	return l.Emit(train.Event{Name: "diagnosis", Message: g.Message, Fields: fields})
}

// clean makes evidence JSON-safe: non-finite floats become strings.
func clean(ev map[string]any) map[string]any {
	out := make(map[string]any, len(ev))
	for k, v := range ev {
		if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			v = fmt.Sprint(f)
		} else if ok {
			v = sig(f)
		}
		out[k] = v
	}
	return out
}

// sig rounds to 4 significant digits (evidence, not bit patterns).
func sig(f float64) float64 {
	if f == 0 {
		return 0
	}
	p := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(f))))
	r := math.Round(f*p) / p
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return f
	}
	return r
}

// WriteSummary prints the end-of-run table.
func (d *Doctor) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "doctor: %d diagnos%s\n", len(d.diags), plural(len(d.diags), "is", "es"))
	rows := [][]string{{"kind", "first seen", "layer", "times", "fix"}}
	order := map[Kind]int{}
	for i, v := range Vocabulary {
		order[v.Kind] = i
	}
	ds := slices.Clone(d.diags)
	sort.SliceStable(ds, func(i, j int) bool { return order[ds[i].Kind] < order[ds[j].Kind] })
	for _, g := range ds {
		at := fmt.Sprintf("epoch %d", g.Epoch)
		if g.Step > 0 {
			at += fmt.Sprintf(" step %d", g.Step)
		}
		layer := g.Layer
		if layer == "" {
			layer = "-"
		}
		rows = append(rows, []string{string(g.Kind), at, layer, fmt.Sprint(g.Count), g.Fix})
	}
	table(w, rows)
	if d.cfg.Mode != Fix {
		return
	}
	if len(d.repairs) == 0 {
		fmt.Fprintln(w, "doctor: no repair applied")
		return
	}
	fmt.Fprintf(w, "doctor: %d repair%s applied\n", len(d.repairs), plural(len(d.repairs), "", "s"))
	rows = [][]string{{"kind", "at", "action"}}
	for _, r := range d.repairs {
		at := fmt.Sprintf("epoch %d", r.Epoch)
		if r.Step > 0 {
			at += fmt.Sprintf(" step %d", r.Step)
		}
		rows = append(rows, []string{string(r.Kind), at, r.Action})
	}
	table(w, rows)
	if f := d.PermanentText(); f != "" {
		fmt.Fprintf(w, "doctor: to make the repairs permanent, train with: %s\n", f)
	}
}

// Permanent lists the settings that reproduce the repairs' final values,
// each once with its last value, in the order they were first changed.
func (d *Doctor) Permanent() []train.Change {
	var out []train.Change
	for _, r := range d.repairs {
		for _, c := range r.Changes {
			if i := slices.IndexFunc(out, func(o train.Change) bool { return o.Setting == c.Setting }); i >= 0 {
				out[i] = c // later repairs win
			} else {
				out = append(out, c)
			}
		}
	}
	return out
}

// PermanentText words Permanent as the loop words settings, sorted by the
// settings' words, space-separated ("" when no repair changed a setting).
func (d *Doctor) PermanentText() string {
	cs := d.Permanent()
	key := func(c train.Change) string { return train.Say(train.Change{Setting: c.Setting}).Words(d.name) }
	slices.SortStableFunc(cs, func(a, b train.Change) int { return strings.Compare(key(a), key(b)) })
	return changesText(cs, d.name)
}

// changesText words changes space-separated.
func changesText(cs []train.Change, name func(train.Change) string) string {
	t := make(train.Text, 0, 2*len(cs))
	for i, c := range cs {
		if i > 0 {
			t = append(t, train.Part{Text: " "})
		}
		t = append(t, train.Part{Change: c})
	}
	return t.Words(name)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func table(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r[:len(r)-1] {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-len([]rune(c))+2))
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// g formats a number for messages.
func g(f float64) string { return fmt.Sprintf("%.3g", f) }
