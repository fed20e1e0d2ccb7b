//go:build !amd64 || purego

package sgemm

// No SIMD kernel on this platform: Available reports false.
var hasAVX2FMA, hasAVX512 bool
