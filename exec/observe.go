package exec

// Observing values while a Run computes them (Options.Watch and Observe):
// a caller that only needs a statistic of an intermediate value (nnlint's
// probe: a layer's standard deviation, a rectifier's dead units) takes it
// when the value is produced, so the value need not be kept until the Run
// ends and can share memory with others (issue 9: a long chain of
// rectifiers kept one activation per rectifier only to count dead units).

// watched is one value Observe is called with: the index of the step that
// computes it, its name and its tensor.
type watched[T Float] struct {
	step int
	name string
	t    *tensor[T]
}

// planWatch lists, in step order, the step outputs Options.Watch selects.
// Values no step computes (inputs, parameters, constants and what the
// plan folded) are left to Value, which always has them.
func (p *plan[T]) planWatch(watch func(string) bool) {
	p.watch = nil
	for i, s := range p.steps {
		for _, v := range s.node.Outputs {
			if v != nil && p.vals[v] != nil && watch(v.Name) {
				p.watch = append(p.watch, watched[T]{i, v.Name, p.vals[v]})
			}
		}
	}
}

// observe hands the watched values of step i to Options.Observe; w is the
// rest of the plan's watch list, returned without the values handed over.
func (e *engine[T]) observe(i int, w []watched[T]) []watched[T] {
	for len(w) > 0 && w[0].step == i {
		name, t := w[0].name, w[0].t
		e.view = Tensor{DType: t.kind.dtype(), Shape: t.shape}
		if t.kind != kFloat {
			e.view.I = t.i
		} else if is32[T]() {
			e.view.F = asF32(t.f)
		}
		e.opts.Observe(name, &e.view)
		w = w[1:]
	}
	e.view = Tensor{}
	return w
}
