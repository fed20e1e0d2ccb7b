package sgemm

// Transpose writes dst[c·ldd+r] = src[r·lds+c] for r < rows, c < cols
// (8×8 blocks with the vector transpose where the CPU has AVX2, the rest
// element by element; a copy, so the bits are the same either way).
func Transpose(dst []float32, ldd int, src []float32, lds, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	transpose(dst, ldd, src, lds, rows, cols)
}
