//go:build !purego

#include "textflag.h"

// func dotNEON(x, y *float32, n int, partial *[16]float32)
// n is a multiple of 16.
TEXT ·dotNEON(SB), NOSPLIT, $0-32
	MOVD x+0(FP), R0
	MOVD y+8(FP), R1
	MOVD n+16(FP), R2
	MOVD partial+24(FP), R3
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	LSR  $4, R2
	CBZ  R2, done

loop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	VFMLA  V0.S4, V4.S4, V16.S4
	VFMLA  V1.S4, V5.S4, V17.S4
	VFMLA  V2.S4, V6.S4, V18.S4
	VFMLA  V3.S4, V7.S4, V19.S4
	SUBS   $1, R2
	BNE    loop

done:
	VST1 [V16.S4, V17.S4, V18.S4, V19.S4], (R3)
	RET

// func axpyNEON(alpha float32, x, y *float32, n int)
// n is a multiple of 16.
TEXT ·axpyNEON(SB), NOSPLIT, $0-32
	MOVD  $alpha+0(FP), R4
	VLD1R (R4), [V16.S4]
	MOVD  x+8(FP), R0
	MOVD  y+16(FP), R1
	MOVD  n+24(FP), R2
	LSR   $4, R2
	CBZ   R2, done

loop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1   (R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	VFMLA  V0.S4, V16.S4, V4.S4
	VFMLA  V1.S4, V16.S4, V5.S4
	VFMLA  V2.S4, V16.S4, V6.S4
	VFMLA  V3.S4, V16.S4, V7.S4
	VST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R1)
	SUBS   $1, R2
	BNE    loop

done:
	RET
