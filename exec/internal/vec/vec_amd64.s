//go:build !purego

#include "textflag.h"

// func affineAVX2(n int, y, x *float32, a, b float32)
// n is a positive multiple of 8: y = x·a + b, multiply and add rounded apart.
TEXT ·affineAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ y+8(FP), DI
	MOVQ x+16(FP), SI
	VBROADCASTSS a+24(FP), Y1
	VBROADCASTSS b+28(FP), Y2
	SHRQ $3, CX

affineloop:
	VMULPS (SI), Y1, Y0
	VADDPS Y2, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ affineloop
	VZEROUPPER
	RET

// func shiftedSumsAVX2(n int, x *float32, k float64) (s, q float64)
// n is a positive multiple of 8. Lanes: Y0, Y1 sums, Y2, Y3 sums of squares.
TEXT ·shiftedSumsAVX2(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	VBROADCASTSD k+16(FP), Y7
	SHRQ $3, CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3

shiftloop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VSUBPD Y7, Y4, Y4
	VSUBPD Y7, Y5, Y5
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VFMADD231PD Y4, Y4, Y2
	VFMADD231PD Y5, Y5, Y3
	ADDQ $32, SI
	DECQ CX
	JNZ shiftloop
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	VMOVSD X0, s+24(FP)
	VEXTRACTF128 $1, Y2, X3
	VADDPD X3, X2, X2
	VPERMILPD $1, X2, X3
	VADDSD X3, X2, X2
	VMOVSD X2, q+32(FP)
	VZEROUPPER
	RET

// func centeredDotsAVX2(n int, d, x *float32, mu float64) (sd, sdx float64)
// n is a positive multiple of 8.
TEXT ·centeredDotsAVX2(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ d+8(FP), DI
	MOVQ x+16(FP), SI
	VBROADCASTSD mu+24(FP), Y7
	SHRQ $3, CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3

dotloop:
	VCVTPS2PD (DI), Y4
	VCVTPS2PD 16(DI), Y5
	VCVTPS2PD (SI), Y8
	VCVTPS2PD 16(SI), Y9
	VSUBPD Y7, Y8, Y8
	VSUBPD Y7, Y9, Y9
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VFMADD231PD Y8, Y4, Y2
	VFMADD231PD Y9, Y5, Y3
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ dotloop
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	VMOVSD X0, sd+32(FP)
	VEXTRACTF128 $1, Y2, X3
	VADDPD X3, X2, X2
	VPERMILPD $1, X2, X3
	VADDSD X3, X2, X2
	VMOVSD X2, sdx+40(FP)
	VZEROUPPER
	RET

// func bnGradAVX2(n int, gx, d, x *float32, k *[4]float32)
// n is a positive multiple of 8: gx += k1·((d − k2) − (x − mu)·k3), each
// operation rounded.
TEXT ·bnGradAVX2(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ gx+8(FP), DX
	MOVQ d+16(FP), DI
	MOVQ x+24(FP), SI
	MOVQ k+32(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VBROADCASTSS 8(AX), Y10
	VBROADCASTSS 12(AX), Y11
	SHRQ $3, CX

gradloop:
	VMOVUPS (SI), Y0
	VSUBPS Y11, Y0, Y0         // x − mu
	VMULPS Y10, Y0, Y0         // ·k3
	VMOVUPS (DI), Y1
	VSUBPS Y9, Y1, Y1          // d − k2
	VSUBPS Y0, Y1, Y1          // (d − k2) − (x − mu)·k3
	VMULPS Y8, Y1, Y1          // ·k1
	VADDPS (DX), Y1, Y1
	VMOVUPS Y1, (DX)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNZ gradloop
	VZEROUPPER
	RET

// func reluAVX2(n int, y, x *float32)
// n is a positive multiple of 8: y = x > 0 ? x : +0, and NaN where x is NaN.
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ y+8(FP), DI
	MOVQ x+16(FP), SI
	VXORPS Y7, Y7, Y7
	SHRQ $3, CX

reluloop:
	VMOVUPS (SI), Y0
	VMAXPS Y7, Y0, Y1          // x > 0 ? x : +0 (+0 for NaN too)
	VCMPPS $3, Y0, Y0, Y2      // unordered: x is NaN
	VBLENDVPS Y2, Y0, Y1, Y1   // NaN lanes take x
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ reluloop
	VZEROUPPER
	RET

// func reluGradAVX2(n int, dx, dy, x *float32)
// n is a positive multiple of 8: dx += (x > 0 ? dy : +0).
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ dx+8(FP), DX
	MOVQ dy+16(FP), DI
	MOVQ x+24(FP), SI
	VXORPS Y7, Y7, Y7
	SHRQ $3, CX

relugradloop:
	VMOVUPS (SI), Y0
	VCMPPS $0x1e, Y7, Y0, Y1   // x > 0 (ordered, quiet)
	VANDPS (DI), Y1, Y1
	VADDPS (DX), Y1, Y1
	VMOVUPS Y1, (DX)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNZ relugradloop
	VZEROUPPER
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv0() (eax uint32)
TEXT ·xgetbv0(SB), NOSPLIT, $0-4
	MOVL $0, CX
	BYTE $0x0f; BYTE $0x01; BYTE $0xd0 // XGETBV
	MOVL AX, eax+0(FP)
	RET
