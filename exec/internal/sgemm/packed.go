package sgemm

// Packed is one operand of C = op(A)·op(B) packed once, in the layout the
// micro-kernel reads, for many products: a convolution's weights in a
// forward-only program, multiplied by a new column matrix on every call.
// A product with a packed operand skips that operand's packing, which on
// thin products (few columns per weight) costs as much as the arithmetic.
// The bits of C are those of Gemm on the unpacked operand: packing copies,
// it does not compute.
//
// Layout: the k range in blocks of kc; block pc holds the whole operand's
// micro-panels for p in [pc, pc+kc), panel by panel, each panel p-major
// (A: mr rows, the last one possibly fewer; B: nr columns, the last one
// zero-padded) — what packA and packB write for one block.
type Packed struct {
	kr   *kernel
	a    bool // the A operand (rows of C) or the B operand (columns of C)
	m, k int  // op(A) is m×k, or op(B) is k×m
	pad  int  // floats per unit of k in one block: m for A, m rounded up to nr for B
	d    []float32
}

// Tile returns the selected micro-kernel's register block: mr rows by nr
// columns of C. A product with mr rows or fewer, or with a multiple of nr
// columns, wastes no arithmetic on padding.
func Tile() (mr, nr int) {
	if active == nil {
		return 0, 0
	}
	return active.mr, active.nr
}

// PackA packs op(A), m×k (A is k×m with row stride lda when tA), for GemmPA.
// It panics if no SIMD kernel is available.
func PackA(tA bool, m, k int, a []float32, lda int) *Packed {
	return packedA(active, tA, m, k, a, lda)
}

func packedA(kr *kernel, tA bool, m, k int, a []float32, lda int) *Packed {
	p := &Packed{kr: kr, a: true, m: m, k: k, pad: m, d: make([]float32, m*k)}
	for pc := 0; pc < k; pc += kc {
		kcb := min(kc, k-pc)
		packA(p.d[pc*m:], tA, a, lda, 0, m, pc, kcb, kr.mr)
	}
	return p
}

// PackB packs op(B), k×n (B is n×k with row stride ldb when tB), for GemmPB.
// It panics if no SIMD kernel is available.
func PackB(tB bool, k, n int, b []float32, ldb int) *Packed {
	return packedB(active, tB, k, n, b, ldb)
}

func packedB(kr *kernel, tB bool, k, n int, b []float32, ldb int) *Packed {
	pad := (n + kr.nr - 1) / kr.nr * kr.nr
	p := &Packed{kr: kr, m: n, k: k, pad: pad, d: make([]float32, pad*k)}
	for pc := 0; pc < k; pc += kc {
		kcb := min(kc, k-pc)
		packB(p.d[pc*pad:], tB, b, ldb, pc, kcb, 0, n, kr.nr)
	}
	return p
}

// Rows is m of op(A) for a packed A, n of op(B) for a packed B; Depth is k.
func (p *Packed) Rows() int  { return p.m }
func (p *Packed) Depth() int { return p.k }

// GemmPA computes rows [i0, i1) of C = alpha·op(A)·op(B) + beta·C on the
// calling goroutine, with A packed (op(A) m×k, C m×n, i0 a multiple of the
// kernel's mr, see Tile). Like Gemm it is safe for concurrent use on
// disjoint parts of C: a caller splits C's rows by calls with different
// ranges, or its columns by passing slices of B and C.
func GemmPA(pa *Packed, i0, i1 int, tB bool, n int, alpha float32, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !pa.a || i0 < i1 && i0%pa.kr.mr != 0 || i0 < 0 || i1 > pa.m {
		panic("sgemm: GemmPA needs a packed A and rows starting on a panel")
	}
	if i0 >= i1 || !prologue(i1-i0, n, pa.k, alpha, beta, c[i0*ldc:], ldc) {
		return
	}
	w := getWorkspace()
	block(pa.kr, w, false, tB, i0, i1, 0, n, pa.k, alpha, nil, 0, b, ldb, c, ldc, pa, nil)
	putWorkspace(w)
}

// GemmPB computes columns [j0, j1) of C = alpha·op(A)·op(B) + beta·C on the
// calling goroutine, with B packed (op(B) k×n, C m×n, j0 a multiple of the
// kernel's nr). Safe for concurrent use on disjoint parts of C.
func GemmPB(tA bool, m int, alpha float32, a []float32, lda int, pb *Packed, j0, j1 int, beta float32, c []float32, ldc int) {
	if pb.a || j0 < j1 && j0%pb.kr.nr != 0 || j0 < 0 || j1 > pb.m {
		panic("sgemm: GemmPB needs a packed B and columns starting on a panel")
	}
	if j0 >= j1 || !prologue(m, j1-j0, pb.k, alpha, beta, c[j0:], ldc) {
		return
	}
	w := getWorkspace()
	block(pb.kr, w, tA, false, 0, m, j0, j1, pb.k, alpha, a, lda, nil, 0, c, ldc, nil, pb)
	putWorkspace(w)
}
