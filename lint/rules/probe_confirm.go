package rules

import (
	"fmt"
	"math"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// Static rules about signal propagation (NN101 saturating chains, NN102
// depth without normalization, NN103 deep plain stacks, NN203 init scale)
// state a hypothesis: that activations or gradients shrink or grow over a
// stretch of layers. When the probe ran, it measured that stretch. The
// rules then report the measured numbers: at full severity when the
// measurement confirms the hypothesis, lowered to info when it shows
// healthy propagation.

// Bands on the measured stretch: the activation std's change in and out,
// and the early/late ratio of relative gradients (lint.GradFlow). Within
// 10× either way both: healthy, the finding becomes info. Beyond 100×
// either way for one: the probe confirms the hypothesis. In between: the
// finding keeps its severity and quotes the milder measurement.
// Calibrated on the real-architecture corpus (testdata/lint/realarch):
// healthy training exports measure early/late ratios of 0.05 to 57 over
// the whole network and activation stds of 0.03 to 2 at the last layer;
// the seeded faults measure 4e-6 (deep plain ReLU MLP), 4e-9 (deep sigmoid
// MLP), 205 (deep plain BatchNorm stack), 0.028 (deep tanh MLP).
const (
	healthyBand = 10
	confirmBand = 100
)

// stretch returns the probe's measurements of the weighted layers between
// nodes from and to (by graph position, both included).
func stretch(p *lint.Pass, from, to *ir.Node) []lint.ProbeLayer {
	if p.Probe == nil || len(p.Probe.Layers) != len(p.Facts.Layers) {
		return nil
	}
	f := p.Facts
	lo, hi := f.Position(from), f.Position(to)
	if lo > hi {
		lo, hi = hi, lo
	}
	var out []lint.ProbeLayer
	for i, l := range f.Layers {
		if pos := f.Position(l.Node); pos >= lo && pos <= hi {
			out = append(out, p.Probe.Layers[i])
		}
	}
	return out
}

// propagation judges the measured stretch (healthy, milder or confirmed,
// see the bands above); text quotes the numbers; ok is false when there is
// nothing to judge.
func propagation(ls []lint.ProbeLayer) (verdict int, text string, ok bool) {
	if len(ls) < 2 {
		return 0, "", false
	}
	// The signal that reaches the stretch's last layer: its own output
	// scale is an initialization choice (torchvision's SqueezeNet and ViT
	// start their classifiers small on purpose), not propagation.
	in, out := ls[0].InStd, ls[len(ls)-1].InStd
	early, late, gok := lint.GradFlow(ls)
	if in <= 0 || math.IsNaN(in) || math.IsNaN(out) || math.IsInf(out, 0) || !gok || late == 0 {
		return 0, "", false
	}
	act := out / in
	g := early / late
	within := func(x, band float64) bool { return x >= 1/band && x <= band }
	switch {
	case within(act, healthyBand) && within(g, healthyBand):
		verdict = healthy
	case !within(act, confirmBand) || !within(g, confirmBand):
		verdict = confirmed
	default:
		verdict = milder
	}
	text = fmt.Sprintf("activation std %s at its first layer's input → %s at its last layer's (×%s) and early/late relative gradient ‖∇W‖/‖W‖ %s / %s = %s over its %d weighted layers",
		num(in), num(out), num(act), sci(early), sci(late), num(g), len(ls))
	return verdict, text, true
}

// Verdicts of propagation.
const (
	healthy = iota + 1
	milder
	confirmed
)

// confirm adds the probe's verdict on the stretch from..to to d: the
// numbers either way; severity lowered to info when propagation measured
// healthy.
func confirm(p *lint.Pass, d *lint.Diagnostic, from, to *ir.Node) {
	verdict, text, ok := propagation(stretch(p, from, to))
	switch {
	case !ok:
	case verdict == healthy:
		d.Severity = lint.Info
		d.Message += "; the probe measured healthy propagation through it (" + text + "), so this is informational"
		if d.Fix != "" {
			d.Fix = "Nothing is needed while propagation measures healthy; if the model gets deeper or stops training: " + d.Fix
		}
	case verdict == confirmed:
		d.Message += "; the probe confirms it: " + text
	default:
		d.Message += "; the probe measures a milder effect: " + text
	}
}
