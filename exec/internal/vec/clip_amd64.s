//go:build !purego

#include "textflag.h"

// func clipAVX2(n int, y, x *float32, lo, hi float32)
// n is a positive multiple of 8: y = min(max(x, lo), hi), NaN where x is
// NaN (lo not −0, hi not ±0: see Clip).
TEXT ·clipAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ y+8(FP), DI
	MOVQ x+16(FP), SI
	VBROADCASTSS lo+24(FP), Y6
	VBROADCASTSS hi+28(FP), Y7
	SHRQ $3, CX

cliploop:
	VMOVUPS (SI), Y0
	VMAXPS Y6, Y0, Y1          // x > lo ? x : lo
	VMINPS Y7, Y1, Y1          // that < hi ? that : hi
	VCMPPS $3, Y0, Y0, Y2      // unordered: x is NaN
	VBLENDVPS Y2, Y0, Y1, Y1   // NaN lanes take x
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ cliploop
	VZEROUPPER
	RET

// func clipGradAVX2(n int, dx, dy, x *float32, lo, hi float32)
// n is a positive multiple of 8: dx += (lo < x < hi ? dy : +0).
TEXT ·clipGradAVX2(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ dx+8(FP), DX
	MOVQ dy+16(FP), DI
	MOVQ x+24(FP), SI
	VBROADCASTSS lo+32(FP), Y6
	VBROADCASTSS hi+36(FP), Y7
	SHRQ $3, CX

clipgradloop:
	VMOVUPS (SI), Y0
	VCMPPS $0x1e, Y6, Y0, Y1   // x > lo (ordered, quiet)
	VCMPPS $0x11, Y7, Y0, Y2   // x < hi (ordered, quiet)
	VANDPS Y2, Y1, Y1
	VANDPS (DI), Y1, Y1
	VADDPS (DX), Y1, Y1
	VMOVUPS Y1, (DX)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNZ clipgradloop
	VZEROUPPER
	RET
