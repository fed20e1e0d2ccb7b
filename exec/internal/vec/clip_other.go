//go:build !amd64 || purego

package vec

func clipAVX2(n int, y, x *float32, lo, hi float32)          { panic("unreachable") }
func clipGradAVX2(n int, dx, dy, x *float32, lo, hi float32) { panic("unreachable") }
