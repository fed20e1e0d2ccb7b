package sgemm

import (
	"math"
	"unsafe"
)

// Blocking: a kc×nc block of packed B (256×512 floats, 512 KiB) stays in
// L2 while the mc×kc block of packed A (≈100 KiB) is walked in mr-row
// micro-panels that sit in L1, each multiplied into every nr-column
// micro-panel of B.
const (
	kc     = 256
	mcRows = 96
	nc     = 512
)

// kernel is a family of micro-kernels: fns[r-1] multiplies one packed r×k
// panel of A (a[p*r+i]) by one packed k×nr panel of B (b[p*nr+j]) and adds
// alpha times the product into the r×nr block of C at c (row stride ldc
// elements): c = alpha·acc + c with one rounding. k ≥ 1. All row counts do
// the same arithmetic per element; mr = len(fns) is the full panel height.
type kernel struct {
	name   string
	mr, nr int
	fns    []func(k int, a, b, c *float32, ldc int, alpha float32)
}

// active is the kernel the package uses; nil when the CPU has neither AVX2
// with FMA nor AVX-512 (then Available is false).
var active *kernel

// Available reports whether a SIMD kernel was selected for this CPU.
func Available() bool { return active != nil }

// Kernel names the selected micro-kernel ("avx512 14×32", "avx2+fma 6×16"), or
// "" when none is available.
func Kernel() string {
	if active == nil {
		return ""
	}
	return active.name
}

// workspace holds one goroutine's packed blocks and its edge tile.
type workspace struct {
	ap, bp []float32
	edge   []float32
}

func (w *workspace) grow(kr *kernel) {
	if na := (mcRows + kr.mr) * kc; len(w.ap) < na {
		w.ap = make([]float32, na)
	}
	if nb := (nc + kr.nr) * kc; len(w.bp) < nb {
		w.bp = make([]float32, nb)
	}
	if len(w.edge) < kr.mr*kr.nr {
		w.edge = make([]float32, kr.mr*kr.nr)
	}
}

// spare holds the serial Gemm's workspaces between calls. Unlike a
// sync.Pool it survives garbage collections, so a steady state allocates
// nothing (the executor's allocation test checks).
var spare = make(chan *workspace, 64)

func getWorkspace() *workspace {
	select {
	case w := <-spare:
		return w
	default:
		return new(workspace)
	}
}

func putWorkspace(w *workspace) {
	select {
	case spare <- w:
	default:
	}
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C on the calling goroutine.
// It is safe for concurrent use on disjoint C. It panics if no SIMD kernel
// is available.
func Gemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if k <= 0 || alpha == 0 || m <= 0 || n <= 0 {
		prologue(m, n, k, alpha, beta, c, ldc)
		return
	}
	w := getWorkspace()
	blockBeta(active, w, tA, tB, 0, m, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, nil)
	putWorkspace(w)
}

// prologue scales C by beta and reports whether a product remains to add.
func prologue(m, n, k int, alpha, beta float32, c []float32, ldc int) bool {
	if m <= 0 || n <= 0 {
		return false
	}
	if beta != 1 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else {
				for j := range row {
					row[j] *= beta
				}
			}
		}
	}
	return k > 0 && alpha != 0
}

// block adds alpha·op(A)[i0:i1, :]·op(B)[:, j0:j1] into C serially. A
// non-nil pa or pb is that operand packed in advance (see Packed); then i0
// (for pa) or j0 (for pb) is 0 and a or b is not read.
func block(kr *kernel, w *workspace, tA, tB bool, i0, i1, j0, j1, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, pa, pb *Packed) {
	blockBeta(kr, w, tA, tB, i0, i1, j0, j1, k, alpha, a, lda, b, ldb, 1, c, ldc, pa, pb)
}

// blockBeta is block that first scales C[i0:i1, j0:j1] by beta (k ≥ 1):
// the same multiply (or clear, for 0) of each element as prologue's pass
// over C. Where that part of C is larger than the caches keep
// (tileScaleMin) it does so tile by tile, just before the first block of k
// reaches the tile, while the tile is in cache — which saves a pass over C
// in memory (C = 288×12544 is 14 MB); a smaller one stays in cache between
// a pass and the kernel, and one pass costs less than a short clear per
// tile row. A beta of 1 leaves C as it is.
func blockBeta(kr *kernel, w *workspace, tA, tB bool, i0, i1, j0, j1, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, pa, pb *Packed) {
	if beta != 1 && (i1-i0)*(j1-j0) <= tileScaleMin {
		scaleTile(c[i0*ldc+j0:], ldc, i1-i0, j1-j0, beta)
		beta = 1
	}
	w.grow(kr)
	mr, nr := kr.mr, kr.nr
	mc := mcRows / mr * mr
	ncs := nc / nr * nr // whole panels, so a packed B's panels line up
	for jc := j0; jc < j1; jc += ncs {
		ncb := min(ncs, j1-jc)
		for pc := 0; pc < k; pc += kc {
			kcb := min(kc, k-pc)
			bps := w.bp
			if pb != nil {
				bps = pb.d[pc*pb.pad+jc*kcb:]
			} else {
				packB(w.bp, tB, b, ldb, pc, kcb, jc, ncb, nr)
			}
			for ic := i0; ic < i1; ic += mc {
				mcb := min(mc, i1-ic)
				aps := w.ap
				if pa != nil {
					aps = pa.d[pc*pa.pad+ic*kcb:]
				} else {
					packA(w.ap, tA, a, lda, ic, mcb, pc, kcb, mr)
				}
				for ir := 0; ir < mcb; ir += mr {
					mm := min(mr, mcb-ir)
					ap := &aps[ir*kcb]
					fn := kr.fns[mm-1]
					for jr := 0; jr < ncb; jr += nr {
						nn := min(nr, ncb-jr)
						bp := &bps[jr*kcb]
						off := (ic+ir)*ldc + jc + jr
						if pc == 0 && beta != 1 {
							scaleTile(c[off:], ldc, mm, nn, beta)
						}
						if nn == nr {
							fn(kcb, ap, bp, &c[off], ldc, alpha)
							continue
						}
						// ragged right edge: the same kernel on a copy, so
						// the element's arithmetic does not depend on where
						// it is
						e := w.edge[:mm*nr]
						for i := 0; i < mm; i++ {
							copy(e[i*nr:i*nr+nn], c[off+i*ldc:off+i*ldc+nn])
						}
						fn(kcb, ap, bp, &e[0], nr, alpha)
						for i := 0; i < mm; i++ {
							copy(c[off+i*ldc:off+i*ldc+nn], e[i*nr:i*nr+nn])
						}
					}
				}
			}
		}
	}
}

// tileScaleMin: C blocks of up to this many floats (4 MiB) are scaled in
// one pass, larger ones tile by tile. Measured per core: tile by tile is
// 6–8 % slower on 512×784×64 (C 1.6 MB, k short, so the clears' share is
// large), and faster on 288×12544×64 (C 14 MB).
const tileScaleMin = 1 << 20

// scaleTile multiplies the mm×nn block of C at c (row stride ldc) by beta,
// or clears it for a beta of 0 (as prologue does: a NaN in C goes too).
func scaleTile(c []float32, ldc, mm, nn int, beta float32) {
	for i := 0; i < mm; i++ {
		row := c[i*ldc : i*ldc+nn]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// packA copies op(A)[i0:i0+mcb, p0:p0+kcb] into mr-row micro-panels,
// dst[panel][p][i]; the last panel has as many rows as remain (its kernel
// is the one for that many rows), so no row is padded.
func packA(dst []float32, tA bool, a []float32, lda, i0, mcb, p0, kcb, mr int) {
	for ir := 0; ir < mcb; ir += mr {
		mm := min(mr, mcb-ir)
		d := dst[ir*kcb : ir*kcb+mm*kcb]
		if tA {
			// op(A)[i][p] = a[p*lda+i]: rows of a are contiguous in i
			if hasAVX2FMA && mm >= 8 && mm <= 16 {
				_ = a[(p0+kcb-1)*lda+i0+ir+mm-1] // copyShortRows stays inside a
				copyShortRows(kcb, &a[p0*lda+i0+ir], lda, &d[0], mm)
				continue
			}
			for p := 0; p < kcb; p++ {
				src := a[(p0+p)*lda+i0+ir:]
				copy(d[p*mm:p*mm+mm], src[:mm])
			}
			continue
		}
		// d[p*mm+i] = a[(i0+ir+i)*lda+p0+p]
		transpose(d, mm, a[(i0+ir)*lda+p0:], lda, mm, kcb)
	}
}

// packB copies op(B)[p0:p0+kcb, j0:j0+ncb] into nr-column micro-panels,
// dst[panel][p][j], zero-padding the last panel's missing columns.
func packB(dst []float32, tB bool, b []float32, ldb, p0, kcb, j0, ncb, nr int) {
	for jr := 0; jr < ncb; jr += nr {
		nn := min(nr, ncb-jr)
		d := dst[jr*kcb : jr*kcb+nr*kcb]
		if !tB {
			if nn == nr && hasAVX2FMA && nr%8 == 0 {
				_ = b[(p0+kcb-1)*ldb+j0+jr+nr-1] // copyRows stays inside b
				copyRows(kcb, &b[p0*ldb+j0+jr], ldb, &d[0], nr/8)
				continue
			}
			for p := 0; p < kcb; p++ {
				src := b[(p0+p)*ldb+j0+jr:]
				dp := d[p*nr : p*nr+nr]
				copy(dp[:nn], src[:nn])
				clear(dp[nn:])
			}
			continue
		}
		// op(B)[p][j] = b[j*ldb+p]
		transpose(d, nr, b[(j0+jr)*ldb+p0:], ldb, nn, kcb)
		for j := nn; j < nr; j++ {
			for p := 0; p < kcb; p++ {
				d[p*nr+j] = 0
			}
		}
	}
}

// transpose writes dst[c*ldd+r] = src[r*lds+c] for r < rows, c < cols:
// 8×8 blocks with the vector transpose where the CPU has AVX, the rest
// element by element.
func transpose(dst []float32, ldd int, src []float32, lds, rows, cols int) {
	r0 := 0
	if hasAVX2FMA && ldd >= 8 && cols >= 8 {
		blocks := cols / 8
		// every access of transpose8 lies inside the slices
		_ = dst[(blocks*8-1)*ldd+rows-1]
		for ; r0+8 <= rows; r0 += 8 {
			_ = src[(r0+7)*lds+blocks*8-1]
			_ = dst[(blocks*8-1)*ldd+r0+7]
			transpose8(blocks, &src[r0*lds], lds, &dst[r0], ldd)
		}
		for r := r0; r < rows; r++ {
			s := src[r*lds : r*lds+blocks*8]
			for c, v := range s {
				dst[c*ldd+r] = v
			}
		}
		r0, src, dst, cols = 0, src[blocks*8:], dst[blocks*8*ldd:], cols-blocks*8
	}
	for r := r0; r < rows; r++ {
		s := src[r*lds : r*lds+cols]
		for c, v := range s {
			dst[c*ldd+r] = v
		}
	}
}

// goKernel is the micro-kernel family in plain Go, for testing the
// blocking and packing on any machine (fma32 rounds like the assembly's
// FMAs but for rare double roundings).
func goKernel(name string, mr, nr int) *kernel {
	kr := &kernel{name: name, mr: mr, nr: nr}
	for r := 1; r <= mr; r++ {
		kr.fns = append(kr.fns, goKernelRows(r, nr))
	}
	return kr
}

func goKernelRows(mr, nr int) func(k int, a, b, c *float32, ldc int, alpha float32) {
	return func(k int, a, b, c *float32, ldc int, alpha float32) {
		as := unsafe.Slice(a, k*mr)
		bs := unsafe.Slice(b, k*nr)
		cs := unsafe.Slice(c, (mr-1)*ldc+nr)
		acc := make([]float32, mr*nr)
		for p := 0; p < k; p++ {
			bp := bs[p*nr : p*nr+nr]
			for i := 0; i < mr; i++ {
				ai := as[p*mr+i]
				row := acc[i*nr : i*nr+nr]
				for j, bv := range bp {
					row[j] = fma32(ai, bv, row[j])
				}
			}
		}
		for i := 0; i < mr; i++ {
			for j := 0; j < nr; j++ {
				cs[i*ldc+j] = fma32(alpha, acc[i*nr+j], cs[i*ldc+j])
			}
		}
	}
}

// fma32 is a·b + c rounded once to float32 except in rare double-rounding
// cases (the product is exact in float64; the sum is rounded to float64,
// then to float32), close enough for the tests that use it.
func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}
