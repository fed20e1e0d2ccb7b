package vec

import "fmt"

// Triples lists row operations d[D] += a[A] ⊙ b[B] over rows of one width
// (see MulAddRows): three row indices per operation, with their maxima
// kept for the bounds check.
type Triples struct {
	idx        []int32
	maxD, maxA int
	maxB       int
}

// NewTriples returns the operations d[t[0]] += a[t[1]] ⊙ b[t[2]] for each t
// of ops, in that order.
func NewTriples(ops [][3]int) *Triples {
	t := &Triples{idx: make([]int32, 0, 3*len(ops)), maxD: -1, maxA: -1, maxB: -1}
	for _, o := range ops {
		for _, v := range o {
			if v < 0 || v > 1<<31-1 {
				panic(fmt.Sprintf("vec: row index %d out of range", v))
			}
		}
		t.idx = append(t.idx, int32(o[0]), int32(o[1]), int32(o[2]))
		t.maxD, t.maxA, t.maxB = max(t.maxD, o[0]), max(t.maxA, o[1]), max(t.maxB, o[2])
	}
	return t
}

// Len is the number of operations.
func (t *Triples) Len() int { return len(t.idx) / 3 }

// MulAddRows runs t's operations on rows of w floats: for each (D, A, B),
// d[D·w+j] += a[A·w+j]·b[B·w+j] for j < w, the product rounded before the
// sum (no fused multiply-add), operations in t's order. The assembly path
// takes w a multiple of 8; every path gives the same bits.
func MulAddRows(d, a, b []float32, t *Triples, w int) {
	if t.Len() == 0 || w == 0 {
		return
	}
	if (t.maxD+1)*w > len(d) || (t.maxA+1)*w > len(a) || (t.maxB+1)*w > len(b) {
		panic("vec: MulAddRows row out of range")
	}
	if haveAVX2 && w%8 == 0 {
		mulAddRowsAVX2(t.Len(), &t.idx[0], w, &d[0], &a[0], &b[0])
		return
	}
	for k := 0; k < len(t.idx); k += 3 {
		dd := d[int(t.idx[k])*w : int(t.idx[k])*w+w]
		aa := a[int(t.idx[k+1])*w : int(t.idx[k+1])*w+w]
		bb := b[int(t.idx[k+2])*w : int(t.idx[k+2])*w+w]
		for j := range dd {
			dd[j] += float32(aa[j] * bb[j])
		}
	}
}
