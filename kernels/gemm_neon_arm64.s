//go:build !purego

#include "textflag.h"

// ROW accumulates one row of the 6×16 tile for one k step: broadcast
// a[r][p] from the row pointer ptr (post-incremented) into t and multiply
// it with the B row in V0-V3 into four accumulators.
#define ROW(ptr, t, c0, c1, c2, c3) \
	VLD1R.P 4(ptr), [t.S4]; \
	VFMLA   V0.S4, t.S4, c0.S4; \
	VFMLA   V1.S4, t.S4, c1.S4; \
	VFMLA   V2.S4, t.S4, c2.S4; \
	VFMLA   V3.S4, t.S4, c3.S4

// STORE0 writes one row of alpha·acc (alpha in V6) to C at R4 and steps R4
// by ldc. V4, V5 are scratch.
#define STORE0(c0, c1, c2, c3) \
	VEOR  V4.B16, V4.B16, V4.B16; \
	VEOR  V5.B16, V5.B16, V5.B16; \
	VFMLA c0.S4, V6.S4, V4.S4; \
	VFMLA c1.S4, V6.S4, V5.S4; \
	VST1  [V4.S4, V5.S4], (R4); \
	VEOR  V4.B16, V4.B16, V4.B16; \
	VEOR  V5.B16, V5.B16, V5.B16; \
	VFMLA c2.S4, V6.S4, V4.S4; \
	VFMLA c3.S4, V6.S4, V5.S4; \
	ADD   $32, R4, R11; \
	VST1  [V4.S4, V5.S4], (R11); \
	ADD   R5, R4

// STOREB writes one row of alpha·acc + beta·C (beta in V7).
#define STOREB(c0, c1, c2, c3) \
	VLD1  (R4), [V0.S4, V1.S4, V2.S4, V3.S4]; \
	VEOR  V4.B16, V4.B16, V4.B16; \
	VEOR  V5.B16, V5.B16, V5.B16; \
	VFMLA V0.S4, V7.S4, V4.S4; \
	VFMLA V1.S4, V7.S4, V5.S4; \
	VFMLA c0.S4, V6.S4, V4.S4; \
	VFMLA c1.S4, V6.S4, V5.S4; \
	VST1  [V4.S4, V5.S4], (R4); \
	VEOR  V4.B16, V4.B16, V4.B16; \
	VEOR  V5.B16, V5.B16, V5.B16; \
	VFMLA V2.S4, V7.S4, V4.S4; \
	VFMLA V3.S4, V7.S4, V5.S4; \
	VFMLA c2.S4, V6.S4, V4.S4; \
	VFMLA c3.S4, V6.S4, V5.S4; \
	ADD   $32, R4, R11; \
	VST1  [V4.S4, V5.S4], (R11); \
	ADD   R5, R4

// func sgemmKernelNEON_6x16(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)
TEXT ·sgemmKernelNEON_6x16(SB), NOSPLIT, $0-56
	MOVD k+0(FP), R0
	MOVD a+8(FP), R1
	MOVD lda+16(FP), R2
	MOVD b+24(FP), R3
	MOVD c+32(FP), R4
	MOVD ldc+40(FP), R5
	LSL  $2, R2
	LSL  $2, R5
	ADD  R2, R1, R6  // row 1
	ADD  R2, R6, R7  // row 2
	ADD  R2, R7, R8  // row 3
	ADD  R2, R8, R9  // row 4
	ADD  R2, R9, R10 // row 5

	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	VEOR V24.B16, V24.B16, V24.B16
	VEOR V25.B16, V25.B16, V25.B16
	VEOR V26.B16, V26.B16, V26.B16
	VEOR V27.B16, V27.B16, V27.B16
	VEOR V28.B16, V28.B16, V28.B16
	VEOR V29.B16, V29.B16, V29.B16
	VEOR V30.B16, V30.B16, V30.B16
	VEOR V31.B16, V31.B16, V31.B16

loop:
	VLD1.P 64(R3), [V0.S4, V1.S4, V2.S4, V3.S4]
	ROW(R1, V4, V8, V9, V10, V11)
	ROW(R6, V5, V12, V13, V14, V15)
	ROW(R7, V4, V16, V17, V18, V19)
	ROW(R8, V5, V20, V21, V22, V23)
	ROW(R9, V4, V24, V25, V26, V27)
	ROW(R10, V5, V28, V29, V30, V31)
	SUBS   $1, R0
	BNE    loop

	MOVD  $alpha+48(FP), R11
	VLD1R (R11), [V6.S4]
	MOVWU beta+52(FP), R12
	ANDW  $0x7fffffff, R12
	CBZW  R12, store0

	MOVD  $beta+52(FP), R11
	VLD1R (R11), [V7.S4]
	STOREB(V8, V9, V10, V11)
	STOREB(V12, V13, V14, V15)
	STOREB(V16, V17, V18, V19)
	STOREB(V20, V21, V22, V23)
	STOREB(V24, V25, V26, V27)
	STOREB(V28, V29, V30, V31)
	RET

store0:
	STORE0(V8, V9, V10, V11)
	STORE0(V12, V13, V14, V15)
	STORE0(V16, V17, V18, V19)
	STORE0(V20, V21, V22, V23)
	STORE0(V24, V25, V26, V27)
	STORE0(V28, V29, V30, V31)
	RET
