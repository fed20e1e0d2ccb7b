//go:build !amd64 || purego

package fused

const haveAVX2 = false

func adamAVX2(n int, theta, grad, m, v *float32, h *AdamHyper) { panic("unreachable") }
func sumSquaresAVX2(n int, x *float32) float64                 { panic("unreachable") }
func scaleAVX2(n int, x *float32, c float32)                   { panic("unreachable") }

func sgdAVX2(n int, theta, grad, buf *float32, h *SGDHyper) { panic("unreachable") }

func rmsAVX2(n int, theta, grad, sq, gavg, buf *float32, h *RMSHyper) { panic("unreachable") }
