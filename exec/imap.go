package exec

// imap describes an output whose every element is read from one place in a
// source tensor, or is a constant: transposes, slices, pads, tiles. Output
// dimension d reads source position idx[d][o] (−1: constant) scaled by
// stride[d]; the output is walked as rows (all dimensions but the last)
// with precomputed source offsets, and the last dimension by col.
type imap struct {
	rows, inner int
	rowOff      []int // source offset of each row, −1 if the row is constant
	col         []int // source offset of each column, −1 if constant
}

func newImap(outShape []int, idx [][]int, stride []int) *imap {
	r := len(outShape)
	m := &imap{}
	if r == 0 {
		m.rows, m.inner = 1, 1
		m.rowOff, m.col = []int{0}, []int{0}
		return m
	}
	m.inner = outShape[r-1]
	m.rows = numel(outShape[:r-1])
	m.col = make([]int, m.inner)
	for t := range m.col {
		if s := idx[r-1][t]; s < 0 {
			m.col[t] = -1
		} else {
			m.col[t] = s * stride[r-1]
		}
	}
	m.rowOff = make([]int, m.rows)
	pos := make([]int, r-1)
	for row := 0; row < m.rows; row++ {
		off := 0
		for d := 0; d < r-1; d++ {
			s := idx[d][pos[d]]
			if s < 0 {
				off = -1
				break
			}
			off += s * stride[d]
		}
		m.rowOff[row] = off
		for d := r - 2; d >= 0; d-- {
			pos[d]++
			if pos[d] < outShape[d] {
				break
			}
			pos[d] = 0
		}
	}
	return m
}

// contiguous reports whether column offsets are 0, 1, 2, ... (row copies).
func (m *imap) contiguous() bool {
	for t, c := range m.col {
		if c != t {
			return false
		}
	}
	return true
}

func imapGather[E any](m *imap, dst, src []E, fill E, lo, hi int) {
	cont := m.contiguous()
	for r := lo; r < hi; r++ {
		row := dst[r*m.inner : (r+1)*m.inner]
		o := m.rowOff[r]
		switch {
		case o < 0:
			for t := range row {
				row[t] = fill
			}
		case cont:
			copy(row, src[o:o+m.inner])
		default:
			for t, c := range m.col {
				if c < 0 {
					row[t] = fill
				} else {
					row[t] = src[o+c]
				}
			}
		}
	}
}

// imapScatter adds dst-shaped g into the source-shaped gs (the adjoint).
func imapScatter[T Float](m *imap, gs, g []T, lo, hi int) {
	for r := lo; r < hi; r++ {
		o := m.rowOff[r]
		if o < 0 {
			continue
		}
		row := g[r*m.inner : (r+1)*m.inner]
		for t, c := range m.col {
			if c >= 0 {
				gs[o+c] += row[t]
			}
		}
	}
}

// injective reports whether no two outputs read the same source element
// (then the scatter can run in parallel).
func injective(idx [][]int) bool {
	for _, d := range idx {
		seen := map[int]bool{}
		for _, s := range d {
			if s < 0 {
				continue
			}
			if seen[s] {
				return false
			}
			seen[s] = true
		}
	}
	return true
}

// planIndexed finishes an op whose output is an imap of input x.
func planIndexed[T Float](c *nodeCtx[T], x *tensor[T], outShape []int, idx [][]int, stride []int, fill T) {
	m := newImap(outShape, idx, stride)
	y := c.output(0, x.kind, outShape)
	inj := injective(idx)
	rowGrain := max(1, grain/max(1, m.inner))
	fwd := func(lo, hi int) {
		if x.kind == kFloat {
			imapGather(m, y.f, x.f, fill, lo, hi)
		} else {
			imapGather(m, y.i, x.i, int64(fill), lo, hi)
		}
	}
	c.fwd = func(*runCtx) error {
		if y.size > 0 {
			c.e.pool.run(m.rows, rowGrain, fwd)
		}
		return nil
	}
	bwd := func(lo, hi int) { imapScatter(m, x.g, y.g, lo, hi) }
	c.bwd = func() {
		if x.g == nil || y.size == 0 {
			return
		}
		if inj {
			c.e.pool.run(m.rows, rowGrain, bwd)
		} else {
			bwd(0, m.rows)
		}
	}
}
