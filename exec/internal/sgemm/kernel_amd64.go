//go:build amd64 && !purego

package sgemm

//go:generate go run gen_kernels.go

var (
	avx2Kernel   = &kernel{name: "avx2+fma 6×16", nr: 16, fns: avx2Kernels}
	avx512Kernel = &kernel{name: "avx512 14×32", nr: 32, fns: avx512Kernels}
)

// hasAVX2FMA, hasAVX512: CPUID feature bits, and XCR0 saying the OS saves
// the YMM (bits 1, 2) and ZMM/opmask (bits 5–7) state.
var hasAVX2FMA, hasAVX512 = detect()

func detect() (avx2fma, avx512 bool) {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false, false
	}
	_, _, c1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if c1&osxsave == 0 || c1&avx == 0 {
		return false, false
	}
	xcr0 := xgetbv0()
	if xcr0&6 != 6 {
		return false, false
	}
	_, b7, _, _ := cpuid(7, 0)
	const (
		avx2    = 1 << 5
		avx512f = 1 << 16
	)
	avx2fma = b7&avx2 != 0 && c1&fma != 0
	avx512 = avx2fma && b7&avx512f != 0 && xcr0&0xe6 == 0xe6
	return avx2fma, avx512
}

func init() {
	switch {
	case hasAVX512:
		active = avx512Kernel
	case hasAVX2FMA:
		active = avx2Kernel
	}
	for _, k := range []*kernel{avx2Kernel, avx512Kernel} {
		k.mr = len(k.fns)
	}
}
