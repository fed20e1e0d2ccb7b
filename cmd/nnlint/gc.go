package main

import (
	"os"
	"runtime/debug"
)

// Garbage-collector headroom for large models (issue 9). Go lets the heap
// grow to twice what is live before collecting (GOGC=100). Reading and
// linting a graph of hundreds of thousands of nodes keeps its IR live the
// whole time while allocating about as much again in short-lived garbage,
// so half of nnlint's peak memory on such a model was headroom. For a model
// file of bigModelBytes or more, nnlint lets the heap grow only
// bigModelGCPercent % past what is live while it reads the model and runs
// the static rules. That is a GC percentage, not a memory limit: the
// headroom follows what is live, so no model (gzip-compressed, with
// external data, ...) can make the collector run back to back; each
// collection costs time in proportion to the IR, and there are about
// 100/bigModelGCPercent times as many. Measured on the 200k-node chain
// (20 MB file, static rules): peak RSS ≈ 150 MB at GOGC=100 and ≈ 115 MB
// here, CPU time 0.52 s and 0.75 s (still below the 1.0 s before the
// allocations the rules and the reader no longer make). Smaller models
// keep Go's default: their heap is small and a collection costs more than
// it saves. The probe's own allocations (activations) run with the
// default too. Setting GOGC or GOMEMLIMIT in the environment turns this
// off: the user's choice stands.
const (
	bigModelBytes     = 8 << 20
	bigModelGCPercent = 30
)

// userGC reports whether the environment sets the collector's policy.
var userGC = os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != ""

// tightGC lowers the collector's headroom for the model file at path when
// it is big, and returns the function that restores the previous setting
// (a no-op otherwise; calling it twice is harmless).
func tightGC(path string) (restore func()) {
	if userGC {
		return func() {}
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() < bigModelBytes {
		return func() {}
	}
	old := debug.SetGCPercent(bigModelGCPercent)
	done := false
	return func() {
		if !done {
			debug.SetGCPercent(old)
			done = true
		}
	}
}
