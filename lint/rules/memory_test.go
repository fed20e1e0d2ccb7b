package rules

import (
	"runtime"
	"testing"

	"github.com/nnkit/nnkit/internal/irtest"
	"github.com/nnkit/nnkit/lint"
)

// TestStaticLintMemoryPerNode guards what the static analysis costs per
// node of a long chain, on top of the IR (issue 9: nnlint on a 200k-node
// chain once took 10 KB a node). Measured on this 20k-node chain: NewFacts
// keeps 16 B a node (order, element types and value IDs as slices; 81 B
// with maps, at e243ffc) and allocates 235 B a node while computing them
// (shape inference that forgets what no later node reads; 359 B before);
// the static rules allocate 150 B a node (their per-value tables are
// slices by value ID; 578 B with maps). Each bound leaves ≈ 30 % above the
// measurement for Go versions and platforms, and fails if a map per value
// comes back.
func TestStaticLintMemoryPerNode(t *testing.T) {
	const n = 20000
	m := irtest.Chain(n)
	var static []*lint.Rule
	for _, r := range All {
		if !r.NeedsProbe {
			static = append(static, r)
		}
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before, total := ms.HeapAlloc, ms.TotalAlloc
	facts, err := lint.NewFacts(m, "chain.onnx")
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	factsAlloc := float64(ms.TotalAlloc-total) / n
	runtime.GC()
	runtime.ReadMemStats(&ms)
	factsLive := (float64(ms.HeapAlloc) - float64(before)) / n
	total = ms.TotalAlloc
	diags, err := lint.Check(m, lint.Options{File: "chain.onnx", Rules: static, Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	checkAlloc := float64(ms.TotalAlloc-total) / n
	t.Logf("facts: %.0f B/node live, %.0f B/node allocated; static rules: %.0f B/node allocated, %d findings", factsLive, factsAlloc, checkAlloc, len(diags))
	if factsLive > 21 {
		t.Errorf("lint facts keep %.0f B per node of a chain; want ≤ 21", factsLive)
	}
	if factsAlloc > 320 {
		t.Errorf("computing lint facts allocates %.0f B per node of a chain; want ≤ 320", factsAlloc)
	}
	if checkAlloc > 200 {
		t.Errorf("the static rules allocate %.0f B per node of a chain; want ≤ 200", checkAlloc)
	}
	runtime.KeepAlive(facts)
	runtime.KeepAlive(m)
}
