//go:build amd64 && !purego

package vec

//go:noescape
func affineAVX2(n int, y, x *float32, a, b float32)

//go:noescape
func shiftedSumsAVX2(n int, x *float32, k float64) (s, q float64)

//go:noescape
func centeredDotsAVX2(n int, d, x *float32, mu float64) (sd, sdx float64)

//go:noescape
func reluAVX2(n int, y, x *float32)

//go:noescape
func reluGradAVX2(n int, dx, dy, x *float32)

//go:noescape
func bnGradAVX2(n int, gx, d, x *float32, k *[4]float32)

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
