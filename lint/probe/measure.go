package probe

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// ChooseBatch picks the probe's batch from the model's size: as many
// samples as fit MACBudget (forward + backward ≈ 3× the forward's
// multiply-accumulates) and MemBudget (every activation and its gradient,
// with half again for the ops' scratch), between MinBatch and MaxBatch.
// Per-sample costs come from shape inference with the batch set to 1 and
// other symbolic sizes to dimSize. The note says what was chosen and why.
//
// A few samples are enough for a large input: the probe's measurements
// are means over every value of a layer (std over N·C·H·W values, BatchNorm
// statistics over N·H·W positions), so two 224×224 images give each
// statistic thousands of values.
func ChooseBatch(m *ir.Model, f *lint.Facts, specs []exec.InputSpec, dimSize int) (int, string) {
	macs, acts := perSample(m, f, specs, dimSize)
	if macs <= 0 && acts <= 0 {
		return MaxBatch, fmt.Sprintf("batch %d (the model's per-sample cost could not be inferred)", MaxBatch)
	}
	b := float64(MaxBatch)
	if macs > 0 {
		b = math.Min(b, MACBudget/(3*macs))
	}
	if acts > 0 {
		b = math.Min(b, MemBudget/(2*4*1.5*acts))
	}
	n := int(b)
	if n < MinBatch {
		n = MinBatch
	}
	if n > MaxBatch {
		n = MaxBatch
	}
	note := fmt.Sprintf("batch %d chosen from the model's size: %s MACs and %s activation values per sample", n, human(macs), human(acts))
	if n < MaxBatch {
		note += fmt.Sprintf(" (budgets: %s MACs for forward+backward, %d MiB of activations and gradients); the measurements average over every value of a layer, so a few large samples suffice", human(MACBudget), MemBudget>>20)
	}
	return n, note
}

// perSample estimates the multiply-accumulates of the weighted layers and
// the number of float values computed, for one sample. The shapes come
// from shape inference streamed over the graph (ir.EachType): nothing is
// written into the model, and a long graph's shapes are not all held at
// once (issue 9).
func perSample(m *ir.Model, f *lint.Facts, specs []exec.InputSpec, dimSize int) (macs, acts float64) {
	g := m.Graph
	env := map[string]int64{}
	for _, s := range specs {
		v := g.Value(s.Name)
		if v == nil {
			continue
		}
		for i, d := range v.Shape() {
			if d.Param == "" || d.Value > 0 {
				continue
			}
			if i == batchAxis(v.Shape()) {
				env[d.Param] = 1
			} else if _, ok := env[d.Param]; !ok {
				env[d.Param] = int64(dimSize)
			}
		}
	}
	numel := func(sh ir.Shape) float64 {
		if sh == nil {
			return 0
		}
		e := sh.NumElements()
		if e.Value > 0 {
			return float64(e.Value)
		}
		for _, sym := range (ir.Shape{e}).Symbols() {
			if _, ok := env[sym]; !ok {
				// A symbol no input declares: the exporter names the
				// dynamic axes of intermediate values itself
				// ("Gemmoutput_dim_0"), and they are the batch.
				env[sym] = 1
			}
		}
		x, ok := e.Eval(env)
		if !ok || x < 0 {
			return 0
		}
		return float64(x)
	}
	// Values computed from the inputs only: an eval export's Identity
	// copies of de-duplicated weights, and a training export's weight
	// transposes, are not activations. Indexed by the facts' value IDs.
	fromInput := make([]bool, f.NumValueIDs())
	mark := func(v *ir.Value) {
		if id, ok := f.ValueID(v); ok {
			fromInput[id] = true
		}
	}
	marked := func(v *ir.Value) bool {
		id, ok := f.ValueID(v)
		return ok && fromInput[id]
	}
	for _, v := range g.Inputs {
		mark(v)
	}
	// What a weighted layer's MACs need of its output's shape.
	type layerOut struct {
		numel float64
		last  int64 // the last dim when it is a number, else 0
	}
	weighted := map[*ir.Node]*lint.Layer{}
	for _, l := range f.Layers {
		if l.Weight != nil && l.Weight.Init != nil {
			weighted[l.Node] = l
		}
	}
	outs := make(map[*lint.Layer]layerOut, len(weighted))
	ir.EachType(m, func(v *ir.Value, t *ir.TypeInfo) {
		var sh ir.Shape
		if t != nil {
			sh = t.Shape
		}
		n := v.Producer
		if l := weighted[n]; l != nil && n.Out(0) == v {
			o := layerOut{numel: numel(sh)}
			if len(sh) > 0 && sh[len(sh)-1].Value > 0 {
				o.last = sh[len(sh)-1].Value
			}
			outs[l] = o
		}
		data := false
		for _, in := range n.Inputs {
			data = data || marked(in)
		}
		if !data {
			return
		}
		mark(v)
		if f.DType(v) == ir.Float32 {
			acts += numel(sh)
		}
	})
	for _, l := range f.Layers {
		if weighted[l.Node] != l {
			continue
		}
		w := float64(l.Weight.Init.Len())
		for _, v := range l.Weights[1:] {
			if v.Init != nil {
				w += float64(v.Init.Len())
			}
		}
		o := outs[l]
		var feat float64
		switch {
		case l.Kind == lint.Conv && len(l.Weight.Init.Dims) > 0:
			feat = float64(l.Weight.Init.Dims[0])
		case l.Kind == lint.Recurrent && len(l.Weight.Init.Dims) > 1:
			feat = float64(l.Weight.Init.Dims[1])
		case o.last > 0:
			feat = float64(o.last)
		}
		if o.numel > 0 && feat > 0 {
			macs += o.numel * w / feat
		} else {
			macs += w
		}
	}
	return macs, acts
}

func batchAxis(sh ir.Shape) int {
	for i, d := range sh {
		if d.Param != "" && containsFold(d.Param, "batch") {
			return i
		}
	}
	return 0
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		ok := true
		for j := 0; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func human(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.1f G", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.1f M", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1f k", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// substituteZeroHeads gives output layers whose weights are all zero by
// design (torchvision's ViT zero-initializes its head) LeCun-normal
// weights N(0, 1/fan_in) for the measurement: with a zero head no gradient
// reaches any layer before it, which says nothing about gradient flow once
// the first step has moved the head. Not done when every layer is zero
// (that is a broken initialization, NN201, and the probe must show it).
func substituteZeroHeads(f *lint.Facts, params map[string]*exec.Param, seed uint64, rep *lint.ProbeReport) map[*lint.Layer]bool {
	var zero []*lint.Layer
	nonzero := false
	for _, l := range f.Layers {
		if l.Weight == nil {
			continue
		}
		p := params[l.Weight.Name]
		if p == nil {
			continue
		}
		if sumsq(p.Value) == 0 {
			zero = append(zero, l)
		} else {
			nonzero = true
		}
	}
	if !nonzero || len(zero) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x6865616473)) // "heads"
	done := map[*lint.Layer]bool{}
	for _, l := range zero {
		if !isOutputLayer(f, l) {
			continue
		}
		p := params[l.Weight.Name]
		fanIn := l.FanIn
		if fanIn <= 0 && len(p.Shape) > 0 && p.Shape[0] > 0 {
			fanIn = len(p.Value) / p.Shape[0]
		}
		if fanIn <= 0 {
			continue
		}
		sd := 1 / math.Sqrt(float64(fanIn))
		for i := range p.Value {
			p.Value[i] = float32(rng.NormFloat64() * sd)
		}
		done[l] = true
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s is all zeros (a zero-initialized output head, as in torchvision's ViT), so no gradient would reach the layers before it at step 0; the probe measured with LeCun-normal weights N(0, 1/%d) in its place, the gradient flow once the first steps have moved the head", l.Weight.Name, fanIn))
	}
	return done
}

// isOutputLayer reports whether l's output reaches a graph output without
// passing another weighted layer.
func isOutputLayer(f *lint.Facts, l *lint.Layer) bool {
	seen := map[*ir.Value]bool{}
	queue := []*ir.Value{l.Out}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		if v == nil || seen[v] {
			continue
		}
		seen[v] = true
		if v.IsOutput {
			return true
		}
		for _, u := range v.Uses {
			if u.Node.Graph != f.Graph || f.LayerOf(u.Node) != nil {
				continue
			}
			queue = append(queue, u.Node.Outputs...)
		}
	}
	return false
}

// shiftSite is a BatchNormalization with Dropout upstream of it.
type shiftSite struct {
	bn             *ir.Node
	in             *ir.Value
	drops, through []*ir.Node
}

// shiftSites finds the BatchNormalization nodes a Dropout (ratio > 0)
// reaches without an intervening normalization: directly, or through
// weighted layers (Li et al.'s Dropout → Conv/Linear → BN), reshapes,
// pooling and activations.
func shiftSites(f *lint.Facts) []shiftSite {
	var sites []shiftSite
	for _, n := range f.Order {
		if n.OpType != "BatchNormalization" || n.In(0) == nil {
			continue
		}
		s := shiftSite{bn: n, in: n.In(0)}
		seenN := map[*ir.Node]bool{}
		queue := []*ir.Value{n.In(0)}
		for steps := 0; len(queue) > 0 && steps < 512; steps++ {
			v := queue[0]
			queue = queue[1:]
			p := v.Producer
			if p == nil || seenN[p] || p.Graph != f.Graph {
				continue
			}
			seenN[p] = true
			if p.OpType == "Dropout" {
				if dropRatio(p) > 0 {
					s.drops = append(s.drops, p)
				}
				continue // the nearest Dropout on this path
			}
			if f.IsNorm(p) || f.LayerOf(p) != nil && f.LayerOf(p).Folded {
				continue
			}
			if f.LayerOf(p) != nil {
				s.through = append(s.through, p)
			}
			for _, slot := range f.DataSlots(p) {
				queue = append(queue, p.In(slot))
			}
		}
		if len(s.drops) > 0 {
			sites = append(sites, s)
		}
	}
	return sites
}

// dropRatio is a Dropout's ratio (the ratio input from opset 12, the
// attribute before; 0.5 by default).
func dropRatio(n *ir.Node) float64 {
	if v := n.In(1); v != nil {
		if r, ok := lint.ConstScalar(v); ok {
			return r
		}
		return 0.5 // computed at run time: assume active
	}
	return float64(n.Float("ratio", 0.5))
}

// channelVar is the variance of each channel (axis 1) of t over the batch
// and the positions, nil when t is not a float tensor of rank ≥ 2.
func channelVar(t *exec.Tensor) []float64 {
	if t == nil || t.DType != ir.Float32 || len(t.Shape) < 2 {
		return nil
	}
	c := t.Shape[1]
	inner := 1
	for _, d := range t.Shape[2:] {
		inner *= d
	}
	if c == 0 || inner == 0 {
		return nil
	}
	sum := make([]float64, c)
	sq := make([]float64, c)
	for i, x := range t.F {
		ch := (i / inner) % c
		sum[ch] += float64(x)
		sq[ch] += float64(x) * float64(x)
	}
	cnt := float64(len(t.F) / c)
	out := make([]float64, c)
	for i := range out {
		m := sum[i] / cnt
		out[i] = math.Max(0, sq[i]/cnt-m*m)
	}
	return out
}

// shift returns the mean and the largest per-channel variance shift
// max(a/b, b/a) between two runs. Channels constant in both count as no
// shift; a channel constant in one run only is an infinite shift.
func shift(a, b []float64) (mean, max float64) {
	for i := range a {
		r := 1.0
		switch {
		case a[i] == 0 && b[i] == 0:
		case a[i] == 0 || b[i] == 0:
			r = math.Inf(1)
		default:
			r = math.Max(a[i]/b[i], b[i]/a[i])
		}
		mean += r
		max = math.Max(max, r)
	}
	return mean / float64(len(a)), max
}

func labels(ns []*ir.Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Label()
	}
	return out
}
