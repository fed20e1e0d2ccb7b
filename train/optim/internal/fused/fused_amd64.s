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

// func sgdAVX2(n int, theta, grad, buf *float32, h *SGDHyper)
// n is a positive multiple of 8. Y8..Y11: WD, Mom, Damp, Alpha; R9: Flags
// (1 weight decay, 2 momentum, 4 first step, 8 nesterov).
TEXT ·sgdAVX2(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ theta+8(FP), SI
	MOVQ grad+16(FP), DI
	MOVQ buf+24(FP), R10
	MOVQ h+32(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VBROADCASTSS 8(AX), Y10
	VBROADCASTSS 12(AX), Y11
	MOVL 16(AX), R9
	SHRQ $3, CX

sgdloop:
	VMOVUPS (SI), Y0
	VMOVUPS (DI), Y1           // d
	TESTL $1, R9
	JZ sgdnowd
	VFMADD231PS Y0, Y8, Y1     // d ← WD·θ + d

sgdnowd:
	TESTL $2, R9
	JZ sgdupdate
	TESTL $4, R9
	JZ sgdlater
	VMOVAPS Y1, Y2             // buf ← d
	JMP sgdbuf

sgdlater:
	VMOVUPS (R10), Y2
	VMULPS Y9, Y2, Y2          // buf·μ
	VFMADD231PS Y1, Y10, Y2    // buf ← Damp·d + buf·μ

sgdbuf:
	VMOVUPS Y2, (R10)
	TESTL $8, R9
	JZ sgdplain
	VFMADD231PS Y2, Y9, Y1     // d ← μ·buf + d
	JMP sgdupdate

sgdplain:
	VMOVAPS Y2, Y1             // d ← buf

sgdupdate:
	VFMADD231PS Y1, Y11, Y0    // θ ← Alpha·d + θ
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R10
	DECQ CX
	JNZ sgdloop
	VZEROUPPER
	RET

// func rmsAVX2(n int, theta, grad, sq, gavg, buf *float32, h *RMSHyper)
// n is a positive multiple of 8. Y8..Y13: WD, Alpha, One, Eps, Mom, NegLR;
// R9: Flags (1 weight decay, 2 centered, 4 momentum).
TEXT ·rmsAVX2(SB), NOSPLIT, $0-56
	MOVQ n+0(FP), CX
	MOVQ theta+8(FP), SI
	MOVQ grad+16(FP), DI
	MOVQ sq+24(FP), R10
	MOVQ gavg+32(FP), R11
	MOVQ buf+40(FP), R12
	MOVQ h+48(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VBROADCASTSS 8(AX), Y10
	VBROADCASTSS 12(AX), Y11
	VBROADCASTSS 16(AX), Y12
	VBROADCASTSS 20(AX), Y13
	MOVL 24(AX), R9
	SHRQ $3, CX

rmsloop:
	VMOVUPS (SI), Y0
	VMOVUPS (DI), Y1           // g
	TESTL $1, R9
	JZ rmsnowd
	VFMADD231PS Y0, Y8, Y1     // g ← WD·θ + g

rmsnowd:
	VMOVUPS (R10), Y2
	VMULPS Y9, Y2, Y2          // sq·α
	VMULPS Y10, Y1, Y3         // (1−α)·g
	VFMADD231PS Y1, Y3, Y2     // sq ← ((1−α)·g)·g + sq·α
	VMOVUPS Y2, (R10)
	TESTL $2, R9
	JZ rmsplainavg
	VMOVUPS (R11), Y4
	VMULPS Y9, Y4, Y4          // gavg·α
	VFMADD231PS Y1, Y10, Y4    // gavg ← (1−α)·g + gavg·α
	VMOVUPS Y4, (R11)
	VXORPS Y5, Y5, Y5
	VSUBPS Y4, Y5, Y5          // −gavg (exact)
	VFMADD231PS Y4, Y5, Y2     // sq + (−gavg)·gavg (Y2 is stored already)
	VSQRTPS Y2, Y3
	JMP rmseps

rmsplainavg:
	VSQRTPS Y2, Y3

rmseps:
	VADDPS Y11, Y3, Y3         // avg + eps
	TESTL $4, R9
	JZ rmsnomom
	VDIVPS Y3, Y1, Y6          // g/avg
	VMOVUPS (R12), Y7
	VMULPS Y12, Y7, Y7         // buf·μ
	VADDPS Y6, Y7, Y7          // buf ← buf·μ + g/avg
	VMOVUPS Y7, (R12)
	VFMADD231PS Y7, Y13, Y0    // θ ← NegLR·buf + θ
	JMP rmsstore

rmsnomom:
	VMULPS Y13, Y1, Y6         // NegLR·g
	VDIVPS Y3, Y6, Y6          // / avg
	VADDPS Y6, Y0, Y0

rmsstore:
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	DECQ CX
	JNZ rmsloop
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
