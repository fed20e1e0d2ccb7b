//go:build !purego

#include "textflag.h"

// func mulAddRowsAVX2(n int, idx *int32, w int, d, a, b *float32)
// n > 0 operations (D, A, B) from idx; w a positive multiple of 8:
// d[D·w+j] += a[A·w+j]·b[B·w+j], multiply and add rounded apart.
TEXT ·mulAddRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ idx+8(FP), SI
	MOVQ w+16(FP), R8
	MOVQ d+24(FP), DI
	MOVQ a+32(FP), R9
	MOVQ b+40(FP), R10
	MOVQ R8, R11
	SHLQ $2, R11 // bytes per row
	SHRQ $3, R8  // vectors per row

rowsloop:
	MOVLQSX 0(SI), AX
	MOVLQSX 4(SI), BX
	MOVLQSX 8(SI), DX
	IMULQ R11, AX
	IMULQ R11, BX
	IMULQ R11, DX
	ADDQ DI, AX
	ADDQ R9, BX
	ADDQ R10, DX
	MOVQ R8, R12

rowsinner:
	VMOVUPS (BX), Y0
	VMULPS (DX), Y0, Y0
	VADDPS (AX), Y0, Y0
	VMOVUPS Y0, (AX)
	ADDQ $32, AX
	ADDQ $32, BX
	ADDQ $32, DX
	DECQ R12
	JNZ rowsinner
	ADDQ $12, SI
	DECQ CX
	JNZ rowsloop
	VZEROUPPER
	RET
