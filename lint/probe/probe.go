package probe

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// Options configure a probe run.
type Options struct {
	// Batch is the batch size; 0 chooses it from the model's size
	// (ChooseBatch): up to MaxBatch samples for small models, down to
	// MinBatch for large ones.
	Batch int
	// Seed seeds the inputs, the labels and the dropout masks.
	Seed uint64
	// DimSize is the size given to symbolic dimensions other than the batch
	// (sequence lengths, image sizes left dynamic); default 16.
	DimSize int
	// Threads for the executor (0: all cores).
	Threads int
	// MaxBytes is the memory budget of the synthetic inputs and of the
	// executor's plan (0: exec.DefaultMaxBytes).
	MaxBytes int64
}

// Batch limits and budgets of the automatic batch size.
const (
	// MaxBatch is the batch of small models (and the most the probe picks).
	MaxBatch = 32
	// MinBatch is the least it picks: BatchNorm over a Linear output needs
	// two samples to have a variance at all.
	MinBatch = 2
	// MACBudget bounds the multiply-accumulates of the forward and backward
	// pass together (the backward costs about twice the forward): ≈ 1.5 s
	// of the executor's float32 GEMM on two cores.
	MACBudget = 6e9
	// MemBudget bounds the activations and their gradients (the training
	// plan keeps every intermediate value and a gradient for each).
	MemBudget = 512 << 20
)

// Run probes m. f must be the analysis of m. An error means the probe could
// not run (the model does not compile or run on the executor); measurements
// that came out NaN or Inf are not an error but part of the report.
func Run(m *ir.Model, f *lint.Facts, o Options) (*lint.ProbeReport, error) {
	if o.DimSize <= 0 {
		o.DimSize = 16
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = exec.DefaultMaxBytes
	}
	// The probe takes its statistics while the executor computes each
	// value (Options.Observe) and keeps only the values it reads after
	// Backward: the executor shares the others' buffers as long as no
	// backward step reads them (a long chain of parameter-free layers
	// would otherwise hold every activation; issue 9).
	sites := shiftSites(f)
	ms := newMeasures(f, sites)
	prog, err := exec.Compile(m, exec.Options{Seed: o.Seed, Threads: o.Threads, MaxBytes: o.MaxBytes, Stream: true,
		Keep:    func(name string) bool { return ms.keep[name] },
		Watch:   func(name string) bool { return ms.want[name] != nil },
		Observe: ms.observe})
	if err != nil {
		return nil, err
	}
	rep := &lint.ProbeReport{Seed: o.Seed}
	if o.Batch <= 0 {
		var note string
		o.Batch, note = ChooseBatch(m, f, prog.Inputs(), o.DimSize)
		if len(f.Order) >= collectAfterInference {
			runtime.GC()
		}
		rep.Notes = append(rep.Notes, note)
	}
	rep.Batch = o.Batch
	rng := rand.New(rand.NewPCG(o.Seed, 0x6e6e6c696e742d70)) // "nnlint-p"
	inputs, err := makeInputs(m.Graph, prog.Inputs(), o, rng, rep)
	if err != nil {
		return nil, err
	}
	params := map[string]*exec.Param{}
	for _, p := range prog.Params() {
		params[p.Name] = p
	}
	subst := substituteZeroHeads(f, params, o.Seed, rep)

	// Variance shift (Li et al., CVPR 2019): the same batch once with every
	// Dropout off, as eval sees it, then (below) with the model's Dropout.
	var without [][]float64
	if len(sites) > 0 {
		prog.SetDropout(true, 0)
		ms.begin(true)
		if _, err := prog.Run(exec.Train, inputs); err != nil {
			return nil, fmt.Errorf("running the model in train mode: %w", err)
		}
		ms.finish(prog)
		for _, s := range sites {
			without = append(without, ms.get(s.in.Name).cvar)
		}
		prog.SetDropout(false, 0)
	}

	ms.begin(false)
	outs, err := prog.Run(exec.Train, inputs)
	if err != nil {
		return nil, fmt.Errorf("running the model in train mode: %w", err)
	}
	ms.finish(prog)
	names := prog.OutputNames()
	if len(names) == 0 {
		return nil, fmt.Errorf("the model has no outputs")
	}
	out := outs[names[0]]
	if out == nil || out.DType != ir.Float32 || len(out.F) == 0 {
		return nil, fmt.Errorf("output %s is not a float tensor; nothing to take a loss of", names[0])
	}

	// Forward measurements, taken while the model ran.
	nonFinite := map[string]bool{}
	var nf []string
	flagged := func(name string, bad bool) {
		if !nonFinite[name] && bad {
			nonFinite[name] = true
			nf = append(nf, name)
		}
	}
	flag := func(name string, xs []float32) { flagged(name, hasNonFinite(xs)) }
	for _, l := range f.Layers {
		pl := lint.ProbeLayer{Node: l.Node.Label(), Op: l.Node.OpType, Param: l.Name(), Substituted: subst[l]}
		if v := ms.get(l.In.Name); v.float {
			pl.InStd = v.std
		}
		if v := ms.get(l.Out.Name); v.float {
			pl.OutStd = v.std
			flagged(l.Node.Label(), v.nonFinite)
		}
		rep.Layers = append(rep.Layers, pl)
	}
	for _, n := range f.Order {
		if !probedReLU(f, n) {
			continue
		}
		if v := ms.get(n.Out(0).Name); v.relu {
			rep.ReLUs = append(rep.ReLUs, lint.ProbeReLU{Node: n.Label(), Op: n.OpType, Units: v.units, Dead: v.dead})
		}
	}
	for i, s := range sites {
		with := ms.get(s.in.Name).cvar
		if with == nil || len(with) != len(without[i]) {
			continue
		}
		mean, max := shift(with, without[i])
		rep.Shifts = append(rep.Shifts, lint.ProbeShift{Node: s.bn.Label(), Dropouts: labels(s.drops), Through: labels(s.through),
			Channels: len(with), Mean: mean, Max: max})
	}
	flag(names[0], out.F)

	grad := &exec.Tensor{DType: ir.Float32, Shape: append([]int(nil), out.Shape...), F: make([]float32, len(out.F))}
	rep.Loss, rep.LossKind = loss(out, grad.F, rng)
	prog.ZeroGrad()
	if err := prog.Backward(map[string]*exec.Tensor{names[0]: grad}); err != nil {
		return nil, fmt.Errorf("backward pass: %w", err)
	}
	if testHookProbed != nil {
		testHookProbed()
	}
	for i, l := range f.Layers {
		slots := []int{1}
		if l.Kind == lint.Recurrent {
			slots = []int{1, 2}
		}
		var wsq, gsq float64
		elems := 0
		for _, s := range slots {
			v := l.Node.In(s)
			if v == nil {
				continue
			}
			var w, g []float32
			if p := params[v.Name]; p != nil {
				w, g = p.Value, p.Grad
			} else {
				if t := prog.Value(v.Name); t != nil {
					w = t.F
				}
				if t := prog.Grad(v.Name); t != nil {
					g = t.F
				}
			}
			wsq += sumsq(w)
			gsq += sumsq(g)
			elems += len(w)
			flag("∇"+v.Name, g)
		}
		rep.Layers[i].WeightNorm = math.Sqrt(wsq)
		rep.Layers[i].GradNorm = math.Sqrt(gsq)
		rep.Layers[i].Elements = elems
	}
	rep.NonFinite = nf
	// exec closes a Program's worker pool in a cleanup once the Program is
	// unreachable; keep it reachable until every call on it has returned.
	runtime.KeepAlive(prog)
	return rep, nil
}

// collectAfterInference is the node count from which Run collects garbage
// once ChooseBatch's shape inference is dropped. That inference types
// every value (≈ 200 bytes a node, while it lasts); a collection during it
// sets the next heap goal at twice a live heap it inflated, which the
// plan's construction then fills: on the 200k-node chain the heap peaked
// at 230–275 MB, 200 MB with the collection (400k: 490–535, 400–410). The
// collection costs a mark of the live heap; the largest real architecture
// in the corpus (Swin-T, training export) has 4,166 nodes.
const collectAfterInference = 20000

// testHookProbed, set by a test, runs after Backward, when everything the
// probe holds is alive (TestProbeMemoryPerNode).
var testHookProbed func()

// maxInputElems bounds a synthetic input's element count, as the executor
// bounds every tensor: 2^40, or on 32-bit platforms the count whose bytes
// (8 for an int64 input) still fit an int.
const maxInputElems = min(1<<40, math.MaxInt/8)

func maxInputElemsText() string {
	if maxInputElems == 1<<40 {
		return "2^40"
	}
	return strconv.FormatInt(int64(maxInputElems), 10)
}

// probedReLU reports whether the probe counts n's dead units.
func probedReLU(f *lint.Facts, n *ir.Node) bool {
	a, ok := f.Act(n)
	return ok && a.Kind == lint.ActReLU && n.OpType != "ThresholdedRelu"
}

// measures are the forward statistics the probe takes of a Run's values,
// each right after the executor computes it (exec.Options.Observe).
type measures struct {
	// want says, by value name, which statistics to take: each layer's
	// input and output (std, and whether the output is finite), the
	// probed ReLUs' outputs (dead units along the unit axis) and the
	// inputs of the BatchNorms the variance shift watches (per-channel
	// variance).
	want map[string]*need
	// keep names the values read after Backward (a layer's weights when
	// they are computed rather than parameters); nothing else is kept.
	keep map[string]bool
	// shiftOnly: the Dropout-off run, which needs the channel variances
	// only.
	shiftOnly bool
	got       map[string]*measure
	f         *lint.Facts
}

type need struct {
	std, finite, cvar bool
	relu              *ir.Node // the ReLU whose output this is
}

// measure is what was found of one value; float is false when the value
// was not a float tensor (or not computed), as Value returning nil or an
// integer tensor was before.
type measure struct {
	float       bool
	std         float64
	nonFinite   bool
	relu        bool // units and dead were counted
	units, dead int
	cvar        []float64
}

func newMeasures(f *lint.Facts, sites []shiftSite) *measures {
	ms := &measures{want: map[string]*need{}, keep: map[string]bool{}}
	add := func(v *ir.Value) *need {
		if ms.want[v.Name] == nil {
			ms.want[v.Name] = &need{}
		}
		return ms.want[v.Name]
	}
	for _, l := range f.Layers {
		add(l.In).std = true
		o := add(l.Out)
		o.std, o.finite = true, true
		for _, v := range []*ir.Value{l.Node.In(1), l.Node.In(2)} {
			if v != nil {
				ms.keep[v.Name] = true
			}
		}
	}
	for _, n := range f.Order {
		if probedReLU(f, n) {
			add(n.Out(0)).relu = n
		}
	}
	for _, s := range sites {
		add(s.in).cvar = true
	}
	ms.f = f
	return ms
}

// begin starts the measurements of a Run.
func (ms *measures) begin(shiftOnly bool) {
	ms.shiftOnly = shiftOnly
	ms.got = make(map[string]*measure, len(ms.want))
}

// observe takes the statistics of value name that the probe wants.
func (ms *measures) observe(name string, t *exec.Tensor) {
	w := ms.want[name]
	if w == nil || ms.got[name] != nil {
		return
	}
	m := &measure{}
	ms.got[name] = m
	if t == nil || t.DType != ir.Float32 {
		return
	}
	m.float = true
	if w.cvar {
		m.cvar = channelVar(t)
	}
	if ms.shiftOnly {
		return
	}
	if w.std {
		m.std = std(t.F)
	}
	if w.finite {
		m.nonFinite = hasNonFinite(t.F)
	}
	if w.relu != nil && len(t.Shape) >= 2 {
		m.relu = true
		m.units, m.dead = deadUnits(t, unitAxis(ms.f, w.relu, len(t.Shape)))
	}
}

// finish measures the wanted values the Run did not compute itself (graph
// inputs, parameters, constants): Value has them.
func (ms *measures) finish(prog *exec.Program) {
	for name := range ms.want {
		if ms.got[name] == nil {
			if t := prog.Value(name); t != nil {
				ms.observe(name, t)
			}
		}
	}
}

// get returns what was measured of value name (zero if nothing).
func (ms *measures) get(name string) *measure {
	if m := ms.got[name]; m != nil {
		return m
	}
	return &measure{}
}

// makeInputs builds the synthetic inputs and notes the choices made.
func makeInputs(g *ir.Graph, specs []exec.InputSpec, o Options, rng *rand.Rand, rep *lint.ProbeReport) (map[string]*exec.Tensor, error) {
	sizes := map[string]int{}
	inputs := map[string]*exec.Tensor{}
	var total int64 // bytes of the inputs so far, against o.MaxBytes
	for _, s := range specs {
		v := g.Value(s.Name)
		var declared ir.Shape
		if v != nil {
			declared = v.Shape()
		}
		if declared == nil && len(s.Shape) == 0 && v != nil && v.Type == nil {
			return nil, fmt.Errorf("input %s has no declared shape", s.Name)
		}
		batchAxis := 0
		for i, d := range declared {
			if strings.Contains(strings.ToLower(d.Param), "batch") {
				batchAxis = i
				break
			}
		}
		shape := make([]int, len(s.Shape))
		n := 1
		for i, d := range s.Shape {
			if d < 0 {
				name := ""
				if i < len(declared) {
					name = declared[i].Param
				}
				switch {
				case i == batchAxis:
					d = o.Batch
				case name != "" && sizes[name] > 0:
					d = sizes[name]
				default:
					d = o.DimSize
					what := fmt.Sprintf("dimension %d", i)
					if name != "" {
						what = fmt.Sprintf("symbolic dimension %q", name)
					}
					rep.Notes = append(rep.Notes, fmt.Sprintf("%s of input %s set to %d", what, s.Name, d))
				}
				if name != "" {
					sizes[name] = d
				}
			}
			shape[i] = d
			if d > 0 && n > maxInputElems/d {
				return nil, fmt.Errorf("input %s: shape %s has more than %s elements; the probe cannot synthesize it", s.Name, ir.DimsString(shape[:i+1]), maxInputElemsText())
			}
			n *= d
		}
		per := int64(8) // integer and bool inputs are int64
		if s.DType.IsFloat() {
			per = 4
		}
		if b := int64(n) * per; total+b > o.MaxBytes {
			return nil, fmt.Errorf("input %s of shape %s needs %s, more than the probe's memory budget of %s (NNKIT_MAX_MEMORY raises it)", s.Name, ir.DimsString(shape), exec.HumanBytes(b), exec.HumanBytes(o.MaxBytes-total))
		} else {
			total += b
		}
		t := &exec.Tensor{DType: s.DType, Shape: shape}
		pi := lint.ProbeInput{Name: s.Name, DType: s.DType.String(), Shape: shape}
		switch {
		case s.DType.IsFloat():
			t.DType = ir.Float32
			t.F = make([]float32, n)
			for i := range t.F {
				t.F[i] = float32(rng.NormFloat64())
			}
			pi.Fill = "N(0,1)"
		case s.DType == ir.Bool:
			t.I = make([]int64, n)
			for i := range t.I {
				t.I[i] = int64(rng.IntN(2))
			}
			pi.Fill = "random booleans"
			rep.Notes = append(rep.Notes, fmt.Sprintf("bool input %s filled with random values", s.Name))
		case s.DType.IsInteger():
			hi, why := indexRange(v)
			t.I = make([]int64, n)
			for i := range t.I {
				t.I[i] = int64(rng.IntN(hi))
			}
			pi.Fill = fmt.Sprintf("integers in [0, %d)", hi)
			rep.Notes = append(rep.Notes, fmt.Sprintf("integer input %s filled with uniform integers in [0, %d) (%s)", s.Name, hi, why))
		default:
			return nil, fmt.Errorf("input %s has element type %s, which the probe cannot synthesize", s.Name, s.DType)
		}
		inputs[s.Name] = t
		rep.Inputs = append(rep.Inputs, pi)
	}
	return inputs, nil
}

// indexRange finds the number of rows of the embedding table an integer
// input indexes (Gather(table, input)), else 10.
func indexRange(v *ir.Value) (int, string) {
	if v != nil {
		for _, u := range v.Uses {
			n := u.Node
			if n.OpType == "Gather" && u.Index == 1 {
				if t := n.In(0); t != nil && t.Init != nil && len(t.Init.Dims) > 0 {
					axis, err := ir.NormAxis(n.Int("axis", 0), len(t.Init.Dims))
					if err == nil && t.Init.Dims[axis] > 0 {
						return int(t.Init.Dims[axis]), "the rows of " + t.Name
					}
				}
			}
		}
	}
	return 10, "no embedding table found to size them"
}

// loss fills grad with dLoss/dOutput and returns the loss and its
// description.
func loss(out *exec.Tensor, grad []float32, rng *rand.Rand) (float64, string) {
	c := 1
	if len(out.Shape) >= 2 {
		c = out.Shape[len(out.Shape)-1]
	}
	if c >= 2 {
		rows := len(out.F) / c
		total := 0.0
		p := make([]float64, c)
		for r := 0; r < rows; r++ {
			z := out.F[r*c : (r+1)*c]
			label := rng.IntN(c)
			mx := math.Inf(-1)
			for _, x := range z {
				mx = math.Max(mx, float64(x))
			}
			sum := 0.0
			for j, x := range z {
				p[j] = math.Exp(float64(x) - mx)
				sum += p[j]
			}
			total += math.Log(sum) + mx - float64(z[label])
			for j := range z {
				g := p[j] / sum
				if j == label {
					g--
				}
				grad[r*c+j] = float32(g / float64(rows))
			}
		}
		return total / float64(rows), fmt.Sprintf("cross-entropy against random labels over %d classes (ln %d = %.3f at a neutral start)", c, c, math.Log(float64(c)))
	}
	total := 0.0
	for i, x := range out.F {
		d := float64(x) - rng.NormFloat64()
		total += d * d
		grad[i] = float32(2 * d / float64(len(out.F)))
	}
	return total / float64(len(out.F)), "mean squared error against N(0,1) targets"
}

// unitAxis is the axis that indexes a rectifier's units: channels (axis 1)
// after a convolution, features (the last axis) otherwise.
func unitAxis(f *lint.Facts, n *ir.Node, rank int) int {
	v := n.In(0)
	for i := 0; i < 32 && v != nil && v.Producer != nil; i++ {
		p := v.Producer
		if l := f.LayerOf(p); l != nil {
			if l.Kind == lint.Conv && rank >= 3 {
				return 1
			}
			return rank - 1
		}
		v = p.In(0)
	}
	if rank >= 4 {
		return 1
	}
	return rank - 1
}

// deadUnits counts the units along axis that are never positive.
func deadUnits(t *exec.Tensor, axis int) (units, dead int) {
	units = t.Shape[axis]
	inner := 1
	for _, d := range t.Shape[axis+1:] {
		inner *= d
	}
	alive := make([]bool, units)
	for i, x := range t.F {
		if x > 0 {
			alive[(i/inner)%units] = true
		}
	}
	for _, a := range alive {
		if !a {
			dead++
		}
	}
	return units, dead
}

func std(xs []float32) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s, ss float64
	for _, x := range xs {
		s += float64(x)
		ss += float64(x) * float64(x)
	}
	m := s / float64(len(xs))
	v := ss/float64(len(xs)) - m*m
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	return math.Sqrt(math.Max(0, v))
}

func sumsq(xs []float32) float64 {
	var s float64
	for _, x := range xs {
		s += float64(x) * float64(x)
	}
	return s
}

func hasNonFinite(xs []float32) bool {
	for _, x := range xs {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return true
		}
	}
	return false
}
