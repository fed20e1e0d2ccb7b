package exec

// Scratch buffers shared by the nodes of a plan. A convolution's column
// matrices and its parts' weight-gradient sums are temporaries: written
// and read within one forward or backward of the node, never read after
// it returns. The steps of a plan run one at a time, so the nodes can use
// the same memory for them: one buffer per key (a role and the part that
// uses it, since a node's parts run at once), as large as the largest
// request. VGG-11 at 224×224 keeps one set of column buffers instead of
// one per convolution.

// scratchKey names a shared buffer: what it holds and which part of a
// node uses it.
type scratchKey struct {
	role string
	part int
}

type scratchSlot[T Float] struct {
	buf   []T
	users []*[]T // every slice handed out, re-pointed when buf grows
}

// scratch sets *dst to n elements of the plan's buffer for key. A later,
// larger request for the same key replaces the buffer and re-points
// every earlier user's slice (their lengths kept), so nodes must read
// their scratch through dst at run time, never keep a copy of the slice.
// Contents are whatever the last user left.
func (p *plan[T]) scratch(key scratchKey, n int, dst *[]T) {
	if p.scratches == nil {
		p.scratches = map[scratchKey]*scratchSlot[T]{}
	}
	s := p.scratches[key]
	if s == nil {
		s = &scratchSlot[T]{}
		p.scratches[key] = s
	}
	if n > len(s.buf) {
		s.buf = make([]T, n)
		for _, u := range s.users {
			*u = s.buf[:len(*u)]
		}
	}
	*dst = s.buf[:n]
	s.users = append(s.users, dst)
}
