package probe

import (
	"runtime"
	"testing"

	"github.com/nnkit/nnkit/internal/irtest"
	"github.com/nnkit/nnkit/lint"
)

// TestProbeMemoryPerNode: probing a long chain of parameter-free layers
// (issue 9's model) must hold next to nothing per node. The probe takes
// its statistics as the executor computes each value (exec Options.Observe)
// and streams the plan (Options.Stream): nodes no parameter reaches run as
// they are planned and leave nothing behind, so what stays is the
// executor's node order and op table and the probe's measurements of the
// 1,000 ReLUs. Live heap after Backward of this 4,000-node chain at batch
// 32 (1 KiB per activation), measured: 96 bytes per node; 912 with the
// whole plan held and the ReLU outputs kept (before Observe and Stream).
// The bound, 150, is about 50 % above the measurement (map growth steps)
// and far below that. Bytes allocated over the whole probe (the plan is
// still built, then dropped node by node), measured: 678 per node (1,164
// before); bound 900.
func TestProbeMemoryPerNode(t *testing.T) {
	const n = 4000
	m := irtest.Chain(n)
	f, err := lint.NewFacts(m, "chain.onnx")
	if err != nil {
		t.Fatal(err)
	}
	var before, at, after runtime.MemStats
	testHookProbed = func() {
		runtime.GC()
		runtime.ReadMemStats(&at)
	}
	defer func() { testHookProbed = nil }()
	runtime.GC()
	runtime.ReadMemStats(&before)
	rep, err := Run(m, f, Options{Batch: 32, Threads: 1})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ReLUs) != n/4 {
		t.Fatalf("the probe measured %d ReLUs, want %d", len(rep.ReLUs), n/4)
	}
	live := (float64(at.HeapAlloc) - float64(before.HeapAlloc)) / n
	alloc := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("probe of a %d-node chain at batch 32: %.0f bytes live after Backward and %.0f allocated, per node", n, live, alloc)
	if live > 150 {
		t.Errorf("the probe held %.0f bytes per node after Backward; want ≤ 150", live)
	}
	if alloc > 900 {
		t.Errorf("probing allocated %.0f bytes per node; want ≤ 900", alloc)
	}
}
