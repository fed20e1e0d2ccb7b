package exec

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// pool runs loops on a fixed set of goroutines. Work is split into at most
// `threads` contiguous parts, deterministically (the split depends only on
// the loop length and the thread count), and the calling goroutine does the
// first part itself. Nothing is allocated per call: the functions handed to
// run are created once, when a plan is built.
//
// The workers hold only the job channel; it is closed (and the workers
// exit) by a cleanup once the pool itself is unreachable. Everything that
// can submit work (a running loop, a job in flight via its WaitGroup, the
// engine, its closures) holds the pool, so the channel is never closed
// while in use, however early the Program that owns it dies.
type pool struct {
	threads int
	jobs    chan job
	wg      sync.WaitGroup
	busy    atomic.Bool
	// panicked holds the first panic raised by a worker during run; run
	// re-raises it on the calling goroutine, where the caller (nnlint's
	// per-file recovery) can catch it. A panic on a worker goroutine would
	// otherwise end the process.
	panicked atomic.Pointer[workerPanic]
}

// workerPanic is a panic value caught on a worker goroutine.
type workerPanic struct{ val any }

type job struct {
	f      func(lo, hi int)
	lo, hi int
	p      *pool
}

func newPool(threads int) *pool {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &pool{threads: threads}
	if threads > 1 {
		p.jobs = make(chan job, 4*threads)
		for range threads - 1 {
			go worker(p.jobs)
		}
		runtime.AddCleanup(p, func(jobs chan job) { close(jobs) }, p.jobs)
	}
	return p
}

func worker(jobs <-chan job) {
	for j := range jobs {
		j.do()
	}
}

func (j job) do() {
	defer j.p.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			j.p.panicked.CompareAndSwap(nil, &workerPanic{r})
		}
	}()
	j.f(j.lo, j.hi)
}

// parts is how many pieces run(n, grain, ·) splits a loop of n into.
func (p *pool) parts(n, grain int) int {
	if grain < 1 {
		grain = 1
	}
	k := min(p.threads, n/grain)
	if k < 1 {
		k = 1
	}
	return k
}

// run calls f over [0, n) split into p.parts(n, grain) ranges, in parallel.
// A call made from inside another run (nested parallelism) runs serially.
func (p *pool) run(n, grain int, f func(lo, hi int)) {
	if n <= 0 {
		return
	}
	k := p.parts(n, grain)
	if k == 1 || p.jobs == nil || !p.busy.CompareAndSwap(false, true) {
		f(0, n)
		return
	}
	p.wg.Add(k - 1)
	for i := 1; i < k; i++ {
		p.jobs <- job{f, i * n / k, (i + 1) * n / k, p}
	}
	defer func() {
		p.wg.Wait() // also when f panics: the workers must be done with the loop
		p.busy.Store(false)
		if wp := p.panicked.Swap(nil); wp != nil {
			panic(wp.val)
		}
	}()
	f(0, n/k)
}

// runAll is run with grain 1 (for package sgemm, which sizes its own parts).
func (p *pool) runAll(n int, f func(lo, hi int)) { p.run(n, 1, f) }
