//go:build !amd64 || purego

package sgemm

// No SIMD kernel on this platform: Available reports false.
var hasAVX2FMA, hasAVX512 bool

func transpose8(blocks int, src *float32, lds int, dst *float32, ldd int) { panic("unreachable") }

var avx2Kernel, avx512Kernel *kernel

func copyRows(rows int, src *float32, lds int, dst *float32, vecs int) { panic("unreachable") }

func copyShortRows(rows int, src *float32, lds int, dst *float32, n int) { panic("unreachable") }
