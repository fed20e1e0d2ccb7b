package exec

// bmap describes how k inputs, broadcast numpy-style, line up with an
// output. The output is walked as rows of length inner; row r of input j
// starts at off[j][r] and advances by step[j] (1, or 0 where the input is
// broadcast along the row). Dimensions of size 1 are dropped and adjacent
// dimensions that broadcast alike are merged first, so inner is as long as
// possible (a same-shape operation is a single row).
type bmap struct {
	n     int // output elements
	rows  int
	inner int
	off   [][]int
	step  []int
}

// newBmap builds the map; every input shape must broadcast to out.
func newBmap(out []int, ins ...[]int) *bmap {
	k := len(ins)
	rank := len(out)
	// full[j][d]: input j varies along output dim d.
	type dim struct {
		size int
		full []bool
	}
	var dims []dim
	for d := 0; d < rank; d++ {
		if out[d] == 1 {
			continue
		}
		f := make([]bool, k)
		for j, s := range ins {
			o := rank - len(s)
			f[j] = d >= o && s[d-o] != 1
		}
		if n := len(dims); n > 0 {
			same := true
			for j := range f {
				if dims[n-1].full[j] != f[j] {
					same = false
					break
				}
			}
			if same {
				dims[n-1].size *= out[d]
				continue
			}
		}
		dims = append(dims, dim{out[d], f})
	}
	m := &bmap{n: numel(out), off: make([][]int, k), step: make([]int, k)}
	if len(dims) == 0 {
		m.rows, m.inner = 1, 1
		for j := range m.off {
			m.off[j] = []int{0}
		}
		return m
	}
	last := dims[len(dims)-1]
	m.inner = last.size
	outer := dims[:len(dims)-1]
	m.rows = 1
	for _, d := range outer {
		m.rows *= d.size
	}
	// strides of each input over the merged dims
	st := make([][]int, k)
	for j := range ins {
		st[j] = make([]int, len(dims))
		s := 1
		for d := len(dims) - 1; d >= 0; d-- {
			if dims[d].full[j] {
				st[j][d] = s
				s *= dims[d].size
			}
		}
		if last.full[j] {
			m.step[j] = 1
		}
		m.off[j] = make([]int, m.rows)
	}
	idx := make([]int, len(outer))
	for r := 0; r < m.rows; r++ {
		for j := range ins {
			o := 0
			for d := range outer {
				o += idx[d] * st[j][d]
			}
			m.off[j][r] = o
		}
		for d := len(outer) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < outer[d].size {
				break
			}
			idx[d] = 0
		}
	}
	return m
}

// gather copies input j (data src) broadcast to the output shape into dst.
func bGather[E any](m *bmap, j int, dst, src []E) {
	s := m.step[j]
	for r := 0; r < m.rows; r++ {
		o := m.off[j][r]
		row := dst[r*m.inner : (r+1)*m.inner]
		if s == 1 {
			copy(row, src[o:o+m.inner])
		} else {
			v := src[o]
			for t := range row {
				row[t] = v
			}
		}
	}
}

// bReduce adds src (output-shaped) into dst (input j's shape), summing
// over broadcast dimensions: the adjoint of bGather.
func bReduce[T Float](m *bmap, j int, dst, src []T) {
	s := m.step[j]
	for r := 0; r < m.rows; r++ {
		o := m.off[j][r]
		row := src[r*m.inner : (r+1)*m.inner]
		if s == 1 {
			d := dst[o : o+m.inner]
			for t, v := range row {
				d[t] += v
			}
		} else {
			var acc T
			for _, v := range row {
				acc += v
			}
			dst[o] += acc
		}
	}
}
