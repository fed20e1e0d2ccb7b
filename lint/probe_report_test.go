package lint_test

import (
	"math"
	"testing"

	"github.com/nnkit/nnkit/lint"
)

func TestGradFlow(t *testing.T) {
	l := func(g, w float64) lint.ProbeLayer { return lint.ProbeLayer{GradNorm: g, WeightNorm: w} }
	for _, c := range []struct {
		name        string
		ls          []lint.ProbeLayer
		early, late float64
		ok          bool
	}{
		// Fewer than eight layers: first vs last relative gradient.
		{"two", []lint.ProbeLayer{l(1, 2), l(3, 1)}, 0.5, 3, true},
		// Eight layers: medians of two.
		{"quartiles", []lint.ProbeLayer{l(1, 1), l(3, 1), l(9, 1), l(9, 1), l(9, 1), l(9, 1), l(5, 1), l(7, 1)}, 2, 6, true},
		// Zero weights (NaN) and exactly-zero gradients (blocked by a
		// zero-initialized layer downstream) are left out.
		{"zeros skipped", []lint.ProbeLayer{l(1, 0), l(0, 1), l(2, 1), l(0, 1), l(4, 1)}, 2, 4, true},
		{"nothing to compare", []lint.ProbeLayer{l(0, 1), l(1, 1)}, 0, 0, false},
	} {
		e, la, ok := lint.GradFlow(c.ls)
		if ok != c.ok || ok && (math.Abs(e-c.early) > 1e-12 || math.Abs(la-c.late) > 1e-12) {
			t.Errorf("%s: GradFlow = %g, %g, %v; want %g, %g, %v", c.name, e, la, ok, c.early, c.late, c.ok)
		}
	}
}
