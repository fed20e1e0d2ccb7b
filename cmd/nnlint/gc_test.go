package main

import (
	"runtime/debug"
	"testing"
)

// gcPercent reads the collector's setting.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// The collector is tightened for very large graphs only, restored after,
// and left alone when the environment sets GOGC or GOMEMLIMIT.
func TestGCTuner(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	saved := userGC
	defer func() { userGC = saved }()
	userGC = false

	var small gcTuner
	small.graph(bigGraphNodes - 1)
	if p := gcPercent(); p != 100 {
		t.Errorf("a %d-node graph set GOGC=%d", bigGraphNodes-1, p)
	}
	var big gcTuner
	big.graph(bigGraphNodes)
	big.graph(bigGraphNodes) // reported twice: still restores 100
	if p := gcPercent(); p != bigGraphGCPercent {
		t.Errorf("a %d-node graph: GOGC=%d, want %d", bigGraphNodes, p, bigGraphGCPercent)
	}
	big.restore()
	big.restore()
	if p := gcPercent(); p != 100 {
		t.Errorf("after restore: GOGC=%d, want 100", p)
	}
	userGC = true
	var env gcTuner
	env.graph(10 * bigGraphNodes)
	if p := gcPercent(); p != 100 {
		t.Errorf("with GOGC/GOMEMLIMIT in the environment: GOGC=%d, want it left at 100", p)
	}
}
