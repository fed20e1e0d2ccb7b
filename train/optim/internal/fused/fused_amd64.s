//go:build !purego

#include "textflag.h"

// func adamAVX2(n int, theta, grad, m, v *float32, h *AdamHyper)
// n is a positive multiple of 8. Y7..Y15: Decay, WD, B1, One1, B2, One2,
// BC2Sqrt, Eps, StepSize; R9: Coupled.
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ theta+8(FP), SI
	MOVQ grad+16(FP), DI
	MOVQ m+24(FP), R10
	MOVQ v+32(FP), R11
	MOVQ h+40(FP), AX
	VBROADCASTSS 0(AX), Y7
	VBROADCASTSS 4(AX), Y8
	VBROADCASTSS 8(AX), Y9
	VBROADCASTSS 12(AX), Y10
	VBROADCASTSS 16(AX), Y11
	VBROADCASTSS 20(AX), Y12
	VBROADCASTSS 24(AX), Y13
	VBROADCASTSS 28(AX), Y14
	VBROADCASTSS 32(AX), Y15
	MOVL 36(AX), R9
	SHRQ $3, CX

adamloop:
	VMOVUPS (SI), Y0
	VMOVUPS (DI), Y1
	VMULPS Y7, Y0, Y0          // θ·Decay
	TESTL R9, R9
	JZ adamdecoupled
	VFMADD231PS Y0, Y8, Y1     // g ← WD·θ + g

adamdecoupled:
	VMOVUPS (R10), Y2
	VMULPS Y9, Y2, Y2          // m·β₁
	VFMADD231PS Y1, Y10, Y2    // m ← (1−β₁)·g + m·β₁
	VMOVUPS Y2, (R10)
	VMOVUPS (R11), Y3
	VMULPS Y11, Y3, Y3         // v·β₂
	VMULPS Y12, Y1, Y4         // (1−β₂)·g
	VFMADD231PS Y1, Y4, Y3     // v ← ((1−β₂)·g)·g + v·β₂
	VMOVUPS Y3, (R11)
	VSQRTPS Y3, Y5
	VDIVPS Y13, Y5, Y5         // √v / BC2Sqrt
	VADDPS Y14, Y5, Y5         // + eps
	VMULPS Y15, Y2, Y6         // StepSize·m
	VDIVPS Y5, Y6, Y6          // / denom
	VADDPS Y6, Y0, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R10
	ADDQ $32, R11
	DECQ CX
	JNZ adamloop
	VZEROUPPER
	RET

// func sumSquaresAVX2(n int, x *float32) float64
// n is a positive multiple of 16: four float64×4 accumulators, added
// (0+1)+(2+3), then the lanes (0+2)+(1+3).
TEXT ·sumSquaresAVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	SHRQ $4, CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3

sqloop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ $64, SI
	DECQ CX
	JNZ sqloop
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	VMOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// func scaleAVX2(n int, x *float32, c float32)
// n is a positive multiple of 8.
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	VBROADCASTSS c+16(FP), Y1
	SHRQ $3, CX

scaleloop:
	VMULPS (SI), Y1, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	DECQ CX
	JNZ scaleloop
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
