package exec

import (
	"sync"
	"testing"
	"time"
)

// Every index of a loop is visited exactly once whoever claims which part —
// workers that spin, workers that park between calls (the pauses), the
// caller taking parts no worker started — and a second goroutine calling
// run on the same pool meanwhile runs its loop serially.
func TestPoolRunCoversOnce(t *testing.T) {
	for _, threads := range []int{2, 3, 4} {
		p := newPool(threads)
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 300 {
					n := 1 + (i*7+g)%50
					seen := make([]int32, n)
					p.run(n, 1, func(lo, hi int) {
						for j := lo; j < hi; j++ {
							seen[j]++
						}
					})
					for j, c := range seen {
						if c != 1 {
							t.Errorf("threads %d, n %d: index %d visited %d times", threads, n, j, c)
							return
						}
					}
					if i%50 == 0 {
						time.Sleep(100 * time.Microsecond) // past the spin window: workers park
					}
				}
			}()
		}
		wg.Wait()
	}
}
