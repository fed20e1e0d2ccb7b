package exec

import "testing"

// A panic on a worker goroutine reaches the goroutine that called run,
// where it can be recovered (nnlint reports it per file), instead of ending
// the process; the pool stays usable afterwards.
func TestPoolPanicReachesCaller(t *testing.T) {
	p := newPool(4)
	got := func() (r any) {
		defer func() { r = recover() }()
		p.run(1<<16, 1, func(lo, hi int) {
			if lo > 0 {
				panic("worker boom")
			}
		})
		return nil
	}()
	if got != "worker boom" {
		t.Fatalf("recovered %v, want the worker's panic", got)
	}
	sum := 0
	p.run(4, 1, func(lo, hi int) {})
	p.run(1, 1, func(lo, hi int) { sum += hi - lo })
	if sum != 1 {
		t.Fatalf("pool unusable after a panic")
	}
}
