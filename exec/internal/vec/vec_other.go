//go:build !amd64 || purego

package vec

const haveAVX2 = false

func affineAVX2(n int, y, x *float32, a, b float32)                       { panic("unreachable") }
func shiftedSumsAVX2(n int, x *float32, k float64) (s, q float64)         { panic("unreachable") }
func centeredDotsAVX2(n int, d, x *float32, mu float64) (sd, sdx float64) { panic("unreachable") }
func bnGradAVX2(n int, gx, d, x *float32, k *[4]float32)                  { panic("unreachable") }

func reluAVX2(n int, y, x *float32)          { panic("unreachable") }
func reluGradAVX2(n int, dx, dy, x *float32) { panic("unreachable") }
