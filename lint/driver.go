package lint

import (
	"fmt"
	"runtime/debug"
	"sort"

	"github.com/nnkit/nnkit/ir"
)

// Options configure Check.
type Options struct {
	// File is how diagnostics name the model.
	File string
	// Rules are the rules to run (see Select); rules with NeedsProbe run
	// only when Probe is set.
	Rules []*Rule
	// Config supplies thresholds, severity overrides and suppressions; nil
	// means defaults.
	Config *Config
	// Probe is the probe's report, nil when it did not run.
	Probe *ProbeReport
	// ProbeErr is why the probe could not run, when it was asked to.
	ProbeErr error
	// Facts may carry an analysis already made for this model (the probe
	// needs one too); nil makes a new one.
	Facts *Facts
}

// Check runs the rules on m and returns their diagnostics after the
// configuration's severity overrides and suppressions, sorted by position
// in the graph and then by rule ID.
func Check(m *ir.Model, o Options) (diags []Diagnostic, err error) {
	f := o.Facts
	if f == nil {
		if f, err = NewFacts(m, o.File); err != nil {
			return nil, fmt.Errorf("%s: %w", o.File, err)
		}
	}
	var raw []Diagnostic
	for _, r := range o.Rules {
		if r.NeedsProbe && o.Probe == nil {
			continue
		}
		p := &Pass{Rule: r, Model: m, Graph: m.Graph, Facts: f, Probe: o.Probe, ProbeErr: o.ProbeErr, out: &raw}
		if o.Config != nil {
			p.params = o.Config.Rules[r.ID].Params
		}
		if err := runRule(r, p); err != nil {
			return nil, fmt.Errorf("%s: %w", o.File, err)
		}
	}
	for _, d := range raw {
		if o.Config != nil {
			if s := o.Config.Rules[d.Rule].Severity; s != 0 {
				d.Severity = s
			}
			if o.Config.suppressed(d) {
				continue
			}
		}
		diags = append(diags, d)
	}
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i], diags[j]
		if a.pos != b.pos {
			return a.pos < b.pos
		}
		return a.Rule < b.Rule
	})
	return diags, nil
}

// runRule runs one rule, turning a panic (a bug in the rule) into an error
// that names the rule, so one broken rule cannot take the others down
// silently.
func runRule(r *Rule, p *Pass) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("internal error in rule %s (%s): %v\n%s", r.ID, r.Name, x, debug.Stack())
		}
	}()
	r.Run(p)
	return nil
}

// Count tallies diagnostics by severity.
func Count(diags []Diagnostic) map[Severity]int {
	c := map[Severity]int{}
	for _, d := range diags {
		c[d.Severity]++
	}
	return c
}

// AtLeast reports whether any diagnostic is at or above min (never for
// min 0, i.e. --fail-on none).
func AtLeast(diags []Diagnostic, min Severity) bool {
	if min == 0 {
		return false
	}
	for _, d := range diags {
		if d.Severity >= min {
			return true
		}
	}
	return false
}
