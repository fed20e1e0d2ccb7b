package rules

import (
	"math"
	"testing"

	"github.com/nnkit/nnkit/lint"
)

// binomialTail against hand-computed values: P(X ≥ 6 | 8, ½) = (28+8+1)/256,
// P(X ≥ 8 | 8, ½) = 1/256, P(X ≥ 0) = 1.
func TestBinomialTail(t *testing.T) {
	for _, c := range []struct {
		n, k int
		want float64
	}{{8, 6, 37.0 / 256}, {8, 8, 1.0 / 256}, {8, 0, 1}, {12, 10, 79.0 / 4096}, {1, 1, 0.5}} {
		// Lgamma-based terms: exact to ≈ 1e-13 relative for these sizes.
		if got := binomialTail(c.n, c.k); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("binomialTail(%d, %d) = %g, want %g", c.n, c.k, got, c.want)
		}
	}
}

// propagation's verdicts on measured stretches.
func TestPropagationVerdicts(t *testing.T) {
	layer := func(in, g, w float64) lint.ProbeLayer {
		return lint.ProbeLayer{InStd: in, GradNorm: g, WeightNorm: w}
	}
	for _, c := range []struct {
		name string
		ls   []lint.ProbeLayer
		want int
	}{
		{"healthy", []lint.ProbeLayer{layer(1, 1, 1), layer(0.5, 2, 1)}, healthy},
		{"milder", []lint.ProbeLayer{layer(1, 1, 1), layer(0.05, 1, 1)}, milder},
		{"confirmed by gradients", []lint.ProbeLayer{layer(1, 1e-4, 1), layer(1, 1, 1)}, confirmed},
		{"confirmed by activations", []lint.ProbeLayer{layer(1, 1, 1), layer(1e-3, 1, 1)}, confirmed},
	} {
		v, text, ok := propagation(c.ls)
		if !ok || v != c.want || text == "" {
			t.Errorf("%s: verdict %d (%q, %v), want %d", c.name, v, text, ok, c.want)
		}
	}
	if _, _, ok := propagation([]lint.ProbeLayer{layer(1, 1, 1)}); ok {
		t.Error("one layer judged")
	}
}
