//go:build !amd64 || purego

package vec

func mulAddRowsAVX2(n int, idx *int32, w int, d, a, b *float32) { panic("unreachable") }
