package exec

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkPoolHandoff measures how long the pool takes to hand a loop's
// second part to a worker, on the wall clock: "empty" is a run of two empty
// parts (hand-off there and back); "gap" runs two parts of about 20 µs of
// work each after an idle gap of the given length on the caller (what a
// training step's serial code between two products looks like), and
// reports the median delay from the call to the worker starting its part
// ("start-µs") and the wall time beyond one part ("extra-µs").
func BenchmarkPoolHandoff(b *testing.B) {
	b.Run("empty", func(b *testing.B) {
		p := newPool(2)
		f := func(lo, hi int) {}
		for b.Loop() {
			p.run(2, 1, f)
		}
	})
	for _, gap := range []time.Duration{0, 20 * time.Microsecond, 200 * time.Microsecond, 2 * time.Millisecond} {
		b.Run("gap="+gap.String(), func(b *testing.B) {
			p := newPool(2)
			var t0, started time.Time
			f := func(lo, hi int) {
				if lo > 0 {
					started = time.Now()
				}
				spinFor(20 * time.Microsecond)
			}
			var lag, extra []float64
			for b.Loop() {
				if gap > 0 {
					spinFor(gap) // the caller busy elsewhere, the worker idle
				}
				t0 = time.Now()
				p.run(2, 1, f)
				t1 := time.Now()
				lag = append(lag, float64(started.Sub(t0).Nanoseconds())/1e3)
				extra = append(extra, float64(t1.Sub(t0).Nanoseconds())/1e3-20)
			}
			slices.Sort(lag)
			slices.Sort(extra)
			b.ReportMetric(lag[len(lag)/2], "start-µs")
			b.ReportMetric(extra[len(extra)/2], "extra-µs")
			b.ReportMetric(lag[len(lag)*9/10], "start-p90-µs")
		})
	}
}

// spinFor busy-waits for d (a stand-in for computation).
func spinFor(d time.Duration) {
	t := time.Now()
	for time.Since(t) < d {
	}
}
