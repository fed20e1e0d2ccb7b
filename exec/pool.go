package exec

import (
	"os"
	"runtime"
	"sync/atomic"
	"time"
)

// pool runs loops on a fixed set of goroutines. Work is split into at most
// `threads` contiguous parts, deterministically (the split depends only on
// the loop length and the thread count); which goroutine computes which
// part does not matter (each part is computed once, and loops must not
// depend on who computes it). Nothing is allocated per call: the functions
// handed to run are created once, when a plan is built.
//
// Hand-off. A loop's parts are claimed through one atomic word (the call's
// generation and the next unclaimed part): the calling goroutine takes the
// first part at once, the workers take the others, and when the caller is
// done with its own it takes whatever no worker has claimed yet, so a
// worker the machine delays never holds a call up — the call just runs on
// fewer threads. A worker that has just finished a part spins on that word
// for a while (spinWindow or longer, yielding to the Go scheduler between
// checks) before it parks on its channel: products and loops follow each other
// within microseconds in a training step, and waking a parked goroutine
// costs tens of microseconds (a futex wake of another thread, then the
// runtime's delay before it takes a goroutine queued on a running P) —
// measured, a parked worker started its half of a call only after the
// caller had finished its own 20 µs half. The caller waits for the
// claimed parts the same way: a bounded spin, then its own channel.
//
// NNKIT_WAIT_POLICY=passive in the environment turns spinning off (as
// OMP_WAIT_POLICY=PASSIVE does for OpenMP): idle workers and waiting
// callers park at once, the caller still taking parts no worker started.
//
// The workers hold only the pool's shared state, never the pool: a cleanup
// tells them to exit once the pool itself is unreachable.
type pool struct {
	threads int
	s       *poolShared
	busy    atomic.Bool
}

// spinWindow is how long an idle worker, or a caller waiting for the
// workers, checks for work before it parks, at least: long enough to span
// the serial code between two parallel loops of a step, short enough that
// an idle pool gives its CPU back soon. After long parts the window is a
// quarter of the part's time, up to maxSpinWindow: two halves of a 3 ms
// product end 50 µs or more apart as often as not, and the next call
// comes that much later for the one that finished first.
const (
	spinWindow    = 50 * time.Microsecond
	maxSpinWindow = time.Millisecond
)

// spinAllowed is false with NNKIT_WAIT_POLICY=passive.
var spinAllowed = os.Getenv("NNKIT_WAIT_POLICY") != "passive"

// window is the spin window after parts that took busy nanoseconds.
func window(busy int64) int64 {
	return min(max(busy/4, int64(spinWindow)), int64(maxSpinWindow))
}

// poolShared is what the workers see of a pool.
type poolShared struct {
	// claim: generation of the current call (high 32 bits) and the next
	// part to claim (low 32 bits).
	claim atomic.Uint64
	// the current call: f over [0, n) in k parts
	f    atomic.Value // func(lo, hi int)
	n, k atomic.Int64
	// parts claimed but not yet finished, plus the unclaimed ones
	left atomic.Int64
	// when the current call was published (now())
	published atomic.Int64
	// panicked holds the first panic raised by a part on a worker; run
	// re-raises it on the calling goroutine, where the caller (nnlint's
	// per-file recovery) can catch it. A panic on a worker goroutine would
	// otherwise end the process.
	panicked atomic.Pointer[workerPanic]

	workers        []*poolWorker
	callerSleeping atomic.Bool
	callerWake     chan struct{} // capacity 1
	quit           atomic.Bool
	spin           bool // threads ≤ GOMAXPROCS when the pool was made, and spinAllowed
}

type poolWorker struct {
	sleeping atomic.Bool
	wake     chan struct{} // capacity 1
	score    int           // spin while > 0 (worker goroutine only)
	window   int64         // spin window, ns (worker goroutine only)
}

// spin scores: a call caught by a spin or arriving within the window
// while parked gains spinWin, a spin that timed out loses spinLoss; the
// score stays in [0, spinMax]. A step that alternates five quick calls
// with one long serial stretch keeps spinning; a machine where the spin
// rarely catches anything stops after a few tries.
const (
	spinWin  = 1
	spinLoss = 2
	spinMax  = 8
)

// epoch is the origin of pool timestamps (monotonic nanoseconds).
var epoch = time.Now()

func now() int64 { return int64(time.Since(epoch)) }

// workerPanic is a panic value caught on a worker goroutine.
type workerPanic struct{ val any }

func noLoop(lo, hi int) {}

func newPool(threads int) *pool {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &pool{threads: threads}
	if threads > 1 {
		s := &poolShared{callerWake: make(chan struct{}, 1), spin: spinAllowed && threads <= runtime.GOMAXPROCS(0)}
		s.f.Store(noLoop)
		for range threads - 1 {
			w := &poolWorker{wake: make(chan struct{}, 1), score: spinMax / 2, window: int64(spinWindow)}
			s.workers = append(s.workers, w)
			go s.work(w)
		}
		p.s = s
		runtime.AddCleanup(p, func(s *poolShared) {
			s.quit.Store(true)
			for _, w := range s.workers {
				signal(w.wake)
			}
		}, s)
	}
	return p
}

// signal leaves a wake-up token in c unless one is there already.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// work is a worker goroutine: wait for a new generation, claim parts of
// it until none is left, repeat.
func (s *poolShared) work(w *poolWorker) {
	seen := s.claim.Load() >> 32
	for {
		gen, ok := s.await(w, seen)
		if !ok {
			return
		}
		seen = gen
		if busy := s.claimParts(gen); busy > 0 {
			w.window = window(busy)
		}
	}
}

// await returns the first generation after seen, spinning for up to the
// worker's window and then parking; ok is false when the pool is gone.
func (s *poolShared) await(w *poolWorker, seen uint64) (gen uint64, ok bool) {
	idle := now()
	if s.spin && w.score > 0 {
		for i := 1; ; i++ {
			if g := s.claim.Load() >> 32; g != seen {
				w.score = min(w.score+spinWin, spinMax)
				return g, true
			}
			if i%16 == 0 {
				if now()-idle > w.window {
					w.score = max(w.score-spinLoss, 0)
					break
				}
				runtime.Gosched()
			}
		}
	}
	defer func() {
		// would a spin have caught this call?
		if ok && s.spin && s.published.Load()-idle <= w.window {
			w.score = min(w.score+spinWin, spinMax)
		}
	}()
	for {
		w.sleeping.Store(true)
		// a caller that published after this load sees sleeping and
		// leaves a token; one that published before is seen here
		if g := s.claim.Load() >> 32; g != seen {
			w.sleeping.Store(false)
			return g, true
		}
		if s.quit.Load() {
			return 0, false
		}
		<-w.wake // tokens left from earlier calls only cost a loop
		w.sleeping.Store(false)
		if s.quit.Load() {
			return 0, false
		}
	}
}

// claimParts computes unclaimed parts of generation gen until none is
// left (or a newer generation replaced it: then gen's parts are all done),
// and returns the nanoseconds it spent on them.
func (s *poolShared) claimParts(gen uint64) (busy int64) {
	// n, k and f are those of gen whenever a claim below succeeds: a
	// newer call writes them only after every part of gen was claimed
	f, _ := s.f.Load().(func(lo, hi int))
	n, k := s.n.Load(), s.k.Load()
	for {
		c := s.claim.Load()
		if c>>32 != gen || int64(c&0xffffffff) >= k {
			return busy
		}
		if !s.claim.CompareAndSwap(c, c+1) {
			continue
		}
		i := int64(c & 0xffffffff)
		t := now()
		s.runPart(f, int(i*n/k), int((i+1)*n/k))
		busy += now() - t
		if s.left.Add(-1) == 0 && s.callerSleeping.Load() {
			signal(s.callerWake)
		}
	}
}

// runPart calls f(lo, hi) on a worker, keeping a panic for the caller.
func (s *poolShared) runPart(f func(lo, hi int), lo, hi int) {
	defer func() {
		if r := recover(); r != nil {
			s.panicked.CompareAndSwap(nil, &workerPanic{r})
		}
	}()
	f(lo, hi)
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
	if k == 1 || p.s == nil || !p.busy.CompareAndSwap(false, true) {
		f(0, n)
		return
	}
	s := p.s
	s.f.Store(f)
	s.n.Store(int64(n))
	s.k.Store(int64(k))
	s.left.Store(int64(k))
	gen := (s.claim.Load()>>32 + 1) & 0xffffffff
	s.published.Store(now())
	// publish, with part 0 already claimed by the caller
	s.claim.Store(gen<<32 | 1)
	for _, w := range s.workers[:k-1] {
		if w.sleeping.Load() {
			signal(w.wake)
		}
	}
	ok, wait := false, int64(spinWindow)
	defer func() { p.finish(gen, ok, wait) }()
	t := now()
	f(0, n/k)
	ok, wait = true, window(now()-t)
	s.left.Add(-1)
	s.claimParts(gen) // whatever the workers have not started
}

// finish waits until every part of generation gen is done — also when the
// caller's own part panicked (ok false), for the workers must be done with
// the loop before the panic goes on — then re-raises a worker's panic.
// It spins for up to wait nanoseconds before it parks.
func (p *pool) finish(gen uint64, ok bool, wait int64) {
	s := p.s
	if !ok {
		// hand out no more parts; the caller's and the unclaimed ones
		// will never finish
		for {
			c := s.claim.Load()
			if s.claim.CompareAndSwap(c, gen<<32|uint64(s.k.Load())) {
				s.left.Add(-1 - (s.k.Load() - int64(c&0xffffffff)))
				break
			}
		}
		s.waitLeft(wait)
		s.panicked.Store(nil) // the caller's panic is the one that goes on
		p.done()
		return
	}
	s.waitLeft(wait)
	p.done()
	if wp := s.panicked.Swap(nil); wp != nil {
		panic(wp.val)
	}
}

func (p *pool) done() {
	p.s.f.Store(noLoop) // the pool holds no closure between calls
	p.busy.Store(false)
}

// waitLeft returns when no claimed part is still running: a spin of up to
// wait nanoseconds, then parked until the worker that finishes the last
// one wakes it.
func (s *poolShared) waitLeft(wait int64) {
	if s.spin {
		start := now()
		for i := 1; s.left.Load() != 0; i++ {
			if i%16 == 0 {
				if now()-start > wait {
					break
				}
				runtime.Gosched()
			}
		}
	}
	for s.left.Load() != 0 {
		s.callerSleeping.Store(true)
		if s.left.Load() == 0 {
			s.callerSleeping.Store(false)
			break
		}
		<-s.callerWake
		s.callerSleeping.Store(false)
	}
}

// runAll is run with grain 1 (for package sgemm, which sizes its own parts).
func (p *pool) runAll(n int, f func(lo, hi int)) { p.run(n, 1, f) }
