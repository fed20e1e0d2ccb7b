package exec

import "github.com/nnkit/nnkit/ir"

// Streaming plans (Options.Stream): a Run that builds its plan anew and
// runs every node no trainable value reaches as soon as it is planned. Such
// a node has no backward step (its outputs need no gradient), so once its
// outputs have been observed and read by their consumers, nothing of it is
// needed: its step, closures and tensors are dropped and its buffers go
// back to a pool for later nodes. A plan normally holds every node's step
// (≈ 500 bytes a node) for as long as the Program lives; nnlint's probe of
// a 200k-node parameter-free chain held 100 MB of them (issue 9).
//
// The nodes a trainable value reaches are planned as usual and run by
// run() afterwards; that the others run first changes nothing, as they
// read none of their values. A forward error of an early node is reported
// in run() when the steps before it have run, so that the error reported
// is the one the plain plan's Run would report.

// streamState is a streaming plan's bookkeeping while it is built.
type streamState[T Float] struct {
	rc runCtx
	// uses counts the readers not yet run of each value an early node
	// computed; at zero its buffer is given back (unless the value is a
	// graph output or kept).
	uses map[*ir.Value]int
	// later marks the outputs of the nodes left to run(): a node reading
	// one cannot run early.
	later map[*tensor[T]]bool
	freeF [][]T
	freeI [][]int64
	// err is the first forward error of an early node, errID its node.
	err   error
	errID int
}

// beginStream starts a streaming build: the inputs are fed now, as early
// nodes run while the plan is built.
func (e *engine[T]) beginStream(p *plan[T]) {
	p.stream = &streamState[T]{uses: map[*ir.Value]int{}, later: map[*tensor[T]]bool{},
		rc: runCtx{mode: e.streamMode, step: e.step, seed: e.opts.Seed, override: e.opts.OverrideDropout, ratio: e.opts.DropoutRatio}}
	if e.feed != nil {
		e.feed(p)
	}
}

// runEarly runs c's node now when no input carries a gradient or is
// computed by a node left to run() (and reports true); otherwise it marks
// which outputs will carry one (as build does for every step once all are
// planned) and leaves the node to run().
func (e *engine[T]) runEarly(p *plan[T], c *nodeCtx[T]) bool {
	st := p.stream
	req, later := false, false
	for _, t := range c.in {
		if t != nil {
			req = req || t.req
			later = later || st.later[t]
		}
	}
	if req || later {
		for _, o := range c.out {
			o.req = req && c.bwd != nil && o.kind == kFloat && !o.nograd
			st.later[o] = true
		}
		return false
	}
	for _, t := range c.out {
		if t.deferred {
			st.take(t)
		}
	}
	if st.err == nil {
		if err := c.fwd(&st.rc); err != nil {
			st.err, st.errID = &PlanError{c.n.Label(), c.n.OpType, err}, c.id
		}
	}
	for _, v := range c.n.Outputs {
		t := p.vals[v]
		if v == nil || t == nil {
			continue
		}
		if st.err == nil && e.opts.Observe != nil && e.opts.Watch != nil && e.opts.Watch(v.Name) {
			e.observe(c.id, []watched[T]{{c.id, v.Name, t}})
		}
		st.uses[v] = len(v.Uses)
		e.release(p, v, false)
	}
	for _, v := range c.n.Inputs {
		if v != nil {
			e.release(p, v, true)
		}
	}
	return true
}

// release counts one reader of v done (read) or none (a value just
// computed) and gives v's buffer back when no reader is left.
func (e *engine[T]) release(p *plan[T], v *ir.Value, read bool) {
	st := p.stream
	n, ok := st.uses[v]
	if !ok {
		return // not computed by an early node
	}
	if read {
		n--
	}
	if n > 0 {
		st.uses[v] = n
		return
	}
	delete(st.uses, v)
	if v.IsOutput || e.opts.Keep(v.Name) {
		return
	}
	t := p.vals[v]
	delete(p.vals, v)
	if t.kind == kFloat {
		st.freeF = append(st.freeF, t.f[:cap(t.f)])
	} else {
		st.freeI = append(st.freeI, t.i[:cap(t.i)])
	}
}

// take gives t a free buffer (the smallest that fits) or a new one.
func (st *streamState[T]) take(t *tensor[T]) {
	t.deferred = false
	if t.kind == kFloat {
		if j := bestFit(st.freeF, t.size); j >= 0 {
			t.f = st.freeF[j][:t.size]
			st.freeF = append(st.freeF[:j], st.freeF[j+1:]...)
		} else {
			t.f = make([]T, t.size)
		}
	} else {
		if j := bestFit(st.freeI, t.size); j >= 0 {
			t.i = st.freeI[j][:t.size]
			st.freeI = append(st.freeI[:j], st.freeI[j+1:]...)
		} else {
			t.i = make([]int64, t.size)
		}
	}
	t.setPub()
}

func bestFit[E any](free [][]E, n int) int {
	best := -1
	for j, b := range free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(free[best])) {
			best = j
		}
	}
	return best
}

// endStream drops what only the build needed, keeping the first early
// error for run().
func (p *plan[T]) endStream() {
	st := p.stream
	st.uses, st.later, st.freeF, st.freeI = nil, nil, nil, nil
}

// streaming reports whether Runs build streaming plans: Options.Stream on
// a training program with Options.Keep (which says what to keep of the
// values early nodes compute).
func (e *engine[T]) streaming() bool {
	return e.opts.Stream && !e.opts.Inference && e.opts.Keep != nil
}
