//go:build !purego

#include "textflag.h"

// One k step of the 6×16 tile: load a 16-wide row of the B micro-panel
// into Y0:Y1, then for each of the 6 rows of A broadcast a[r][p] and
// accumulate into Y(4+2r):Y(5+2r). Rows 0-2 are at SI, SI+lda, SI+2·lda
// and rows 3-5 likewise at R9 (R8 = lda in bytes).
#define STEP(off, boff) \
	VMOVUPS      boff(DI), Y0; \
	VMOVUPS      boff+32(DI), Y1; \
	VBROADCASTSS off(SI), Y2; \
	VFMADD231PS  Y0, Y2, Y4; \
	VFMADD231PS  Y1, Y2, Y5; \
	VBROADCASTSS off(SI)(R8*1), Y3; \
	VFMADD231PS  Y0, Y3, Y6; \
	VFMADD231PS  Y1, Y3, Y7; \
	VBROADCASTSS off(SI)(R8*2), Y2; \
	VFMADD231PS  Y0, Y2, Y8; \
	VFMADD231PS  Y1, Y2, Y9; \
	VBROADCASTSS off(R9), Y3; \
	VFMADD231PS  Y0, Y3, Y10; \
	VFMADD231PS  Y1, Y3, Y11; \
	VBROADCASTSS off(R9)(R8*1), Y2; \
	VFMADD231PS  Y0, Y2, Y12; \
	VFMADD231PS  Y1, Y2, Y13; \
	VBROADCASTSS off(R9)(R8*2), Y3; \
	VFMADD231PS  Y0, Y3, Y14; \
	VFMADD231PS  Y1, Y3, Y15

#define STORE0(acc0, acc1) \
	VMOVUPS acc0, (DX); \
	VMOVUPS acc1, 32(DX); \
	ADDQ    BX, DX

// C = acc + beta·C, beta in Y1.
#define STOREB(acc0, acc1) \
	VFMADD231PS (DX), Y1, acc0; \
	VMOVUPS     acc0, (DX); \
	VFMADD231PS 32(DX), Y1, acc1; \
	VMOVUPS     acc1, 32(DX); \
	ADDQ        BX, DX

// func sgemmKernelAVX2_6x16(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)
TEXT ·sgemmKernelAVX2_6x16(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), BX
	SHLQ $2, R8
	SHLQ $2, BX
	LEAQ (SI)(R8*2), R9
	ADDQ R8, R9                 // R9 = a + 3·lda

	MOVQ DX, AX
	PREFETCHT0 (AX)
	ADDQ BX, AX
	PREFETCHT0 (AX)
	ADDQ BX, AX
	PREFETCHT0 (AX)
	ADDQ BX, AX
	PREFETCHT0 (AX)
	ADDQ BX, AX
	PREFETCHT0 (AX)
	ADDQ BX, AX
	PREFETCHT0 (AX)

	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

	SUBQ $4, CX
	JLT  tail

loop4:
	PREFETCHT0 512(DI)
	STEP(0, 0)
	PREFETCHT0 576(DI)
	STEP(4, 64)
	PREFETCHT0 640(DI)
	STEP(8, 128)
	PREFETCHT0 704(DI)
	STEP(12, 192)
	ADDQ $16, SI
	ADDQ $16, R9
	ADDQ $256, DI
	SUBQ $4, CX
	JGE  loop4

tail:
	ADDQ $4, CX
	JEQ  done

loop1:
	STEP(0, 0)
	ADDQ $4, SI
	ADDQ $4, R9
	ADDQ $64, DI
	DECQ CX
	JNE  loop1

done:
	VBROADCASTSS alpha+48(FP), Y0
	VMULPS Y0, Y4, Y4
	VMULPS Y0, Y5, Y5
	VMULPS Y0, Y6, Y6
	VMULPS Y0, Y7, Y7
	VMULPS Y0, Y8, Y8
	VMULPS Y0, Y9, Y9
	VMULPS Y0, Y10, Y10
	VMULPS Y0, Y11, Y11
	VMULPS Y0, Y12, Y12
	VMULPS Y0, Y13, Y13
	VMULPS Y0, Y14, Y14
	VMULPS Y0, Y15, Y15

	MOVL  beta+52(FP), AX
	TESTL $0x7fffffff, AX
	JEQ   store0

	VBROADCASTSS beta+52(FP), Y1
	STOREB(Y4, Y5)
	STOREB(Y6, Y7)
	STOREB(Y8, Y9)
	STOREB(Y10, Y11)
	STOREB(Y12, Y13)
	STOREB(Y14, Y15)
	VZEROUPPER
	RET

store0:
	STORE0(Y4, Y5)
	STORE0(Y6, Y7)
	STORE0(Y8, Y9)
	STORE0(Y10, Y11)
	STORE0(Y12, Y13)
	STORE0(Y14, Y15)
	VZEROUPPER
	RET
