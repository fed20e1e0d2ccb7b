//go:build amd64 && !purego

package fused

//go:noescape
func adamAVX2(n int, theta, grad, m, v *float32, h *AdamHyper)

//go:noescape
func sgdAVX2(n int, theta, grad, buf *float32, h *SGDHyper)

//go:noescape
func rmsAVX2(n int, theta, grad, sq, gavg, buf *float32, h *RMSHyper)

//go:noescape
func sumSquaresAVX2(n int, x *float32) float64

//go:noescape
func scaleAVX2(n int, x *float32, c float32)

func cpuid(leaf, sub uint32) (a, b, c, d uint32)
func xgetbv0() (eax uint32)

// haveAVX2: CPUID says AVX2 and FMA, and XCR0 says the OS saves YMM state.
var haveAVX2 = func() bool {
	if max, _, _, _ := cpuid(0, 0); max < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if c1&(fma|osxsave|avx) != fma|osxsave|avx || xgetbv0()&6 != 6 {
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<5) != 0
}()
