package ir_test

import (
	"runtime"
	"testing"

	"github.com/nnkit/nnkit/internal/irtest"
	"github.com/nnkit/nnkit/ir"
)

// TestEachTypeMemory: streaming the types of a long chain holds next to
// nothing per node, where InferShapes leaves a TypeInfo and its Shape on
// every value (issue 9: that was most of the probe's extra memory on a
// 200k-node chain). Live heap at the last visit of a 4,000-node chain
// beyond the model itself, measured: 0 bytes per node with EachType (the
// measurement's noise is a few) and 166 after InferShapes; the bound, 16,
// is far from either.
func TestEachTypeMemory(t *testing.T) {
	const n = 4000
	m := irtest.Chain(n)
	var before, at runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	visits := 0
	ir.EachType(m, func(v *ir.Value, ti *ir.TypeInfo) {
		if visits++; visits == n {
			runtime.GC()
			runtime.ReadMemStats(&at)
		}
	})
	if visits != n {
		t.Fatalf("EachType visited %d values, want %d", visits, n)
	}
	stream := (float64(at.HeapAlloc) - float64(before.HeapAlloc)) / n
	if _, err := ir.InferShapes(m); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&at)
	written := (float64(at.HeapAlloc) - float64(before.HeapAlloc)) / n
	runtime.KeepAlive(m)
	t.Logf("types of a %d-node chain: %.0f bytes per node live while streamed, %.0f written by InferShapes", n, stream, written)
	if stream > 16 {
		t.Errorf("EachType held %.0f bytes per node; want ≤ 16", stream)
	}
	if written < 4*16 {
		t.Errorf("InferShapes left only %.0f bytes per node: the comparison no longer shows what streaming saves", written)
	}
}
