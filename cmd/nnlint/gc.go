package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

// Garbage-collector headroom for very large graphs (issue 9). Go lets the
// heap grow to twice what is live before collecting (GOGC=100). Reading
// and statically linting a graph of hundreds of thousands of nodes keeps
// its IR live the whole time while allocating about as much again in
// short-lived garbage, so half of nnlint's peak memory on such a model was
// headroom. For a graph of bigGraphNodes nodes or more, nnlint lets the
// heap grow only bigGraphGCPercent % past what is live while it reads the
// model and runs the static rules. That is a GC percentage, not a memory
// limit: the headroom follows what is live, so no model (gzip-compressed,
// with external data, ...) can make the collector run back to back; there
// are about 100/bigGraphGCPercent times as many collections, each costing
// time in proportion to the IR. Measured on the 200k-node chain (20 MB
// file, static rules): peak RSS ≈ 150 MB at GOGC=100 and ≈ 110 MB here,
// CPU time 0.52 s and 0.84 s (below the 1.1 s of e243ffc, before the
// allocations the reader, the lint facts and the rules no longer make).
// The test is on the node count, not the file size: a model whose file is
// mostly tensors (DenseNet-121, 28 MB, 900 nodes) reads 60 % slower with
// the tighter setting and gains nothing, its memory being its tensors.
// The setting holds through the probe as well (its activations are
// noscan memory the collector does not trace, so only the IR makes the
// extra cycles cost) and is restored once the file's result is in hand,
// after a collection: restoring it while the goal still counted the dead
// IR let the heap reach twice the IR again while the report was written.
// Measured on the same chain with the probe (nnlint --format json, three
// runs on a quiet machine): peak RSS 204–229 MB restoring before the probe,
// 140–147 MB with GOGC=20 to the end, for 1.8 → 2.8 s of CPU time.
// Setting GOGC or GOMEMLIMIT in the environment turns this off: the
// user's choice stands.
const (
	bigGraphNodes     = 20000
	bigGraphGCPercent = 20
)

// userGC reports whether the environment sets the collector's policy.
var userGC = os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != ""

// gcTuner tightens the collector for one very large graph and restores it.
type gcTuner struct {
	old   int
	tight bool
}

// graph is onnxio.ReadOptions.OnGraph: it tightens the collector when the
// graph is very large (once; the reader may report twice).
func (t *gcTuner) graph(nodes int) {
	if userGC || t.tight || nodes < bigGraphNodes {
		return
	}
	t.old = debug.SetGCPercent(bigGraphGCPercent)
	t.tight = true
}

// restore collects, so that the goal no longer counts the model just
// linted, and puts the previous setting back (harmless when there is none).
func (t *gcTuner) restore() {
	if t.tight {
		runtime.GC()
		debug.SetGCPercent(t.old)
		t.tight = false
	}
}
