package exec

import "github.com/nnkit/nnkit/ir"

// layout=1 for LSTM, GRU and RNN: batch-first X [N, T, I], initial states
// [N, D, H], Y [N, T, D, H], Y_h / Y_c [N, D, H]. The recurrent kernels
// work time-major; the wrapper gives them time-major copies of the inputs
// and writes their outputs back batch-first (gradients the other way).

// permute writes (or, with acc, adds) src of shape in into dst with
// dst[idx permuted by perm] = src[idx]: dst's axis a is src's axis perm[a].
func permute[T Float](src []T, in []int, perm []int, dst []T, acc bool) {
	out := make([]int, len(in))
	for a, p := range perm {
		out[a] = in[p]
	}
	ost := stridesOf(out)
	// stride in dst of each src axis
	dstOf := make([]int, len(in))
	for a, p := range perm {
		dstOf[p] = ost[a]
	}
	idx := make([]int, len(in))
	for _, v := range src {
		o := 0
		for a, x := range idx {
			o += x * dstOf[a]
		}
		if acc {
			dst[o] += v
		} else {
			dst[o] = v
		}
		for a := len(idx) - 1; a >= 0; a-- {
			idx[a]++
			if idx[a] < in[a] {
				break
			}
			idx[a] = 0
		}
	}
}

// withLayout1 plans a recurrent op given batch-first tensors: core sees
// time-major stand-ins for X and the initial states (inputs states) and
// creates time-major outputs, which are replaced by batch-first ones.
func withLayout1[T Float](c *nodeCtx[T], states []int, core func(*nodeCtx[T]) error) error {
	swap01 := func(s []int) []int {
		s = append([]int(nil), s...)
		if len(s) >= 2 {
			s[0], s[1] = s[1], s[0]
		}
		return s
	}
	// ir's output shapes, asked with the batch-first inputs (a refusal is
	// kept for the core, after its own checks); the core is given them
	// time-major
	_, _ = c.inferred(0)
	bf := make([][]int, len(c.inf))
	for j, o := range c.inf {
		if o == nil {
			continue
		}
		bf[j] = dims(o.Shape)
		tm := swap01(bf[j])
		if j == 0 { // Y [N, T, D, H] → [T, D, N, H]
			tm = []int{bf[j][1], bf[j][2], bf[j][0], bf[j][3]}
		}
		c.inf[j] = &ir.Operand{Elem: o.Elem, Shape: i64s(tm)}
	}
	type proxy struct{ real, tm *tensor[T] }
	var ins []proxy
	for _, i := range append([]int{0}, states...) {
		t := c.input(i)
		if t == nil || t.kind != kFloat || len(t.shape) != 3 {
			continue
		}
		p := &tensor[T]{name: t.name, kind: kFloat, shape: swap01(t.shape), size: t.size, f: make([]T, t.size)}
		ins = append(ins, proxy{t, p})
		c.in[i] = p
	}
	if err := core(c); err != nil {
		return err
	}
	var outs []proxy
	for j, tm := range c.out {
		if tm == nil {
			continue
		}
		tm.alloc()
		real := c.output(j, kFloat, bf[j])
		outs = append(outs, proxy{real, tm})
	}
	fwd, bwd := c.fwd, c.bwd
	c.fwd = func(rc *runCtx) error {
		for _, p := range ins {
			permute(p.real.f, p.real.shape, []int{1, 0, 2}, p.tm.f, false)
		}
		if err := fwd(rc); err != nil {
			return err
		}
		for j, p := range outs {
			perm := []int{1, 0, 2}
			if j == 0 {
				perm = []int{2, 0, 1, 3}
			}
			permute(p.tm.f, p.tm.shape, perm, p.real.f, false)
		}
		return nil
	}
	c.bwd = func() {
		for j, p := range outs {
			if p.real.g == nil {
				p.tm.g = nil
				continue
			}
			if p.tm.g == nil {
				p.tm.g = make([]T, p.tm.size)
			}
			perm := []int{1, 0, 2}
			if j == 0 { // [N, T, D, H] → [T, D, N, H]
				perm = []int{1, 2, 0, 3}
			}
			permute(p.real.g, p.real.shape, perm, p.tm.g, false)
		}
		for _, p := range ins {
			if p.real.g == nil {
				p.tm.g = nil
				continue
			}
			if p.tm.g == nil {
				p.tm.g = make([]T, p.tm.size)
			}
			clear(p.tm.g)
		}
		bwd()
		for _, p := range ins {
			if p.real.g != nil {
				permute(p.tm.g, p.tm.shape, []int{1, 0, 2}, p.real.g, true)
			}
		}
	}
	return nil
}
