//go:build amd64 && !purego

#include "textflag.h"

// Top-k kernels for amd64: inner products of one query with groups of four
// corpus rows, and the threshold scan of the selection. Each dot-product
// kernel computes four rows at a time with two accumulators per row and
// reduces them with the same tree, so every row's sum is formed by the
// same operations wherever it sits: the Go side scores a leftover row by
// passing it as all four rows (stride 0).

// func dotRows4AVX512(dst *float32, q *float32, x *float32, ldx int, d int, n int)
//
// for i := 0; i < n; i++ { dst[i] = Σ_l q[l] * x[i*ldx+l] }, n a multiple of 4.
TEXT ·dotRows4AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ x+16(FP), R8
	MOVQ ldx+24(FP), R9
	SHLQ $2, R9
	MOVQ d+32(FP), DX

	// K1 selects the d%16 elements of the last, partial vector.
	MOVQ DX, CX
	ANDQ $15, CX
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	MOVQ n+40(FP), CX

f32_group:
	CMPQ CX, $4
	JL   f32_done
	MOVQ R8, R13
	LEAQ (R8)(R9*1), R10
	LEAQ (R10)(R9*1), R11
	LEAQ (R11)(R9*1), R12
	MOVQ SI, AX
	MOVQ DX, BX
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9

f32_loop32:
	CMPQ BX, $32
	JL   f32_tail16
	VMOVUPS (AX), Z0
	VMOVUPS 64(AX), Z1
	VFMADD231PS (R13), Z0, Z2
	VFMADD231PS 64(R13), Z1, Z3
	VFMADD231PS (R10), Z0, Z4
	VFMADD231PS 64(R10), Z1, Z5
	VFMADD231PS (R11), Z0, Z6
	VFMADD231PS 64(R11), Z1, Z7
	VFMADD231PS (R12), Z0, Z8
	VFMADD231PS 64(R12), Z1, Z9
	ADDQ $128, AX
	ADDQ $128, R13
	ADDQ $128, R10
	ADDQ $128, R11
	ADDQ $128, R12
	SUBQ $32, BX
	JMP  f32_loop32

f32_tail16:
	CMPQ BX, $16
	JL   f32_tailmask
	VMOVUPS (AX), Z0
	VFMADD231PS (R13), Z0, Z2
	VFMADD231PS (R10), Z0, Z4
	VFMADD231PS (R11), Z0, Z6
	VFMADD231PS (R12), Z0, Z8
	ADDQ $64, AX
	ADDQ $64, R13
	ADDQ $64, R10
	ADDQ $64, R11
	ADDQ $64, R12
	SUBQ $16, BX

f32_tailmask:
	TESTQ BX, BX
	JZ    f32_reduce
	VMOVUPS.Z (AX), K1, Z0
	VMOVUPS.Z (R13), K1, Z10
	VFMADD231PS Z10, Z0, Z3
	VMOVUPS.Z (R10), K1, Z10
	VFMADD231PS Z10, Z0, Z5
	VMOVUPS.Z (R11), K1, Z10
	VFMADD231PS Z10, Z0, Z7
	VMOVUPS.Z (R12), K1, Z10
	VFMADD231PS Z10, Z0, Z9

f32_reduce:
	VADDPS Z3, Z2, Z2
	VADDPS Z5, Z4, Z4
	VADDPS Z7, Z6, Z6
	VADDPS Z9, Z8, Z8
	VEXTRACTF64X4 $1, Z2, Y10
	VADDPS        Y10, Y2, Y2
	VEXTRACTF64X4 $1, Z4, Y10
	VADDPS        Y10, Y4, Y4
	VEXTRACTF64X4 $1, Z6, Y10
	VADDPS        Y10, Y6, Y6
	VEXTRACTF64X4 $1, Z8, Y10
	VADDPS        Y10, Y8, Y8
	VEXTRACTF128  $1, Y2, X10
	VADDPS        X10, X2, X2
	VEXTRACTF128  $1, Y4, X10
	VADDPS        X10, X4, X4
	VEXTRACTF128  $1, Y6, X10
	VADDPS        X10, X6, X6
	VEXTRACTF128  $1, Y8, X10
	VADDPS        X10, X8, X8
	VHADDPS       X4, X2, X2
	VHADDPS       X8, X6, X6
	VHADDPS       X6, X2, X2
	VMOVUPS       X2, (DI)
	ADDQ          $16, DI
	LEAQ          (R8)(R9*4), R8
	SUBQ          $4, CX
	JMP           f32_group

f32_done:
	VZEROUPPER
	RET

// func dotRows4F16AVX512(dst *float32, q *float32, x *uint16, ldx int, d int, n int)
//
// dotRows4AVX512 with x in half precision, converted by VCVTPH2PS.
TEXT ·dotRows4F16AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ x+16(FP), R8
	MOVQ ldx+24(FP), R9
	SHLQ $1, R9
	MOVQ d+32(FP), DX

	MOVQ DX, CX
	ANDQ $15, CX
	MOVL $1, BX
	SHLL CX, BX
	DECL BX
	KMOVW BX, K1
	MOVQ n+40(FP), CX

f16_group:
	CMPQ CX, $4
	JL   f16_done
	MOVQ R8, R13
	LEAQ (R8)(R9*1), R10
	LEAQ (R10)(R9*1), R11
	LEAQ (R11)(R9*1), R12
	MOVQ SI, AX
	MOVQ DX, BX
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9

f16_loop32:
	CMPQ BX, $32
	JL   f16_tail16
	// Half-precision rows are short: fetch each row's line 2 KiB ahead,
	// which the hardware prefetcher alone does not keep up with (12%
	// less time for a 1M×768 scan).
	PREFETCHT0 2048(R13)
	PREFETCHT0 2048(R10)
	PREFETCHT0 2048(R11)
	PREFETCHT0 2048(R12)
	VMOVUPS   (AX), Z0
	VMOVUPS   64(AX), Z1
	VCVTPH2PS (R13), Z10
	VCVTPH2PS 32(R13), Z11
	VFMADD231PS Z10, Z0, Z2
	VFMADD231PS Z11, Z1, Z3
	VCVTPH2PS (R10), Z12
	VCVTPH2PS 32(R10), Z13
	VFMADD231PS Z12, Z0, Z4
	VFMADD231PS Z13, Z1, Z5
	VCVTPH2PS (R11), Z10
	VCVTPH2PS 32(R11), Z11
	VFMADD231PS Z10, Z0, Z6
	VFMADD231PS Z11, Z1, Z7
	VCVTPH2PS (R12), Z12
	VCVTPH2PS 32(R12), Z13
	VFMADD231PS Z12, Z0, Z8
	VFMADD231PS Z13, Z1, Z9
	ADDQ $128, AX
	ADDQ $64, R13
	ADDQ $64, R10
	ADDQ $64, R11
	ADDQ $64, R12
	SUBQ $32, BX
	JMP  f16_loop32

f16_tail16:
	CMPQ BX, $16
	JL   f16_tailmask
	VMOVUPS   (AX), Z0
	VCVTPH2PS (R13), Z10
	VFMADD231PS Z10, Z0, Z2
	VCVTPH2PS (R10), Z10
	VFMADD231PS Z10, Z0, Z4
	VCVTPH2PS (R11), Z10
	VFMADD231PS Z10, Z0, Z6
	VCVTPH2PS (R12), Z10
	VFMADD231PS Z10, Z0, Z8
	ADDQ $64, AX
	ADDQ $32, R13
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	SUBQ $16, BX

f16_tailmask:
	TESTQ BX, BX
	JZ    f16_reduce
	VMOVUPS.Z   (AX), K1, Z0
	VMOVDQU16.Z (R13), K1, Y10
	VCVTPH2PS   Y10, Z10
	VFMADD231PS Z10, Z0, Z3
	VMOVDQU16.Z (R10), K1, Y10
	VCVTPH2PS   Y10, Z10
	VFMADD231PS Z10, Z0, Z5
	VMOVDQU16.Z (R11), K1, Y10
	VCVTPH2PS   Y10, Z10
	VFMADD231PS Z10, Z0, Z7
	VMOVDQU16.Z (R12), K1, Y10
	VCVTPH2PS   Y10, Z10
	VFMADD231PS Z10, Z0, Z9

f16_reduce:
	VADDPS Z3, Z2, Z2
	VADDPS Z5, Z4, Z4
	VADDPS Z7, Z6, Z6
	VADDPS Z9, Z8, Z8
	VEXTRACTF64X4 $1, Z2, Y10
	VADDPS        Y10, Y2, Y2
	VEXTRACTF64X4 $1, Z4, Y10
	VADDPS        Y10, Y4, Y4
	VEXTRACTF64X4 $1, Z6, Y10
	VADDPS        Y10, Y6, Y6
	VEXTRACTF64X4 $1, Z8, Y10
	VADDPS        Y10, Y8, Y8
	VEXTRACTF128  $1, Y2, X10
	VADDPS        X10, X2, X2
	VEXTRACTF128  $1, Y4, X10
	VADDPS        X10, X4, X4
	VEXTRACTF128  $1, Y6, X10
	VADDPS        X10, X6, X6
	VEXTRACTF128  $1, Y8, X10
	VADDPS        X10, X8, X8
	VHADDPS       X4, X2, X2
	VHADDPS       X8, X6, X6
	VHADDPS       X6, X2, X2
	VMOVUPS       X2, (DI)
	ADDQ          $16, DI
	LEAQ          (R8)(R9*4), R8
	SUBQ          $4, CX
	JMP           f16_group

f16_done:
	VZEROUPPER
	RET

// func dotRows4AVX2(dst *float32, q *float32, x *float32, ldx int, d int, n int)
//
// dotRows4AVX512 with 8-wide vectors; the d%8 tail is a masked load.
TEXT ·dotRows4AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ x+16(FP), R8
	MOVQ ldx+24(FP), R9
	SHLQ $2, R9
	MOVQ d+32(FP), DX

	// Y12 selects the d%8 elements of the last, partial vector: the
	// window of tailMask<> starting (8 - d%8) entries in.
	MOVQ DX, CX
	ANDQ $7, CX
	MOVQ $8, BX
	SUBQ CX, BX
	LEAQ tailMask<>(SB), AX
	VMOVUPS (AX)(BX*4), Y12
	MOVQ n+40(FP), CX

avx2_group:
	CMPQ CX, $4
	JL   avx2_done
	MOVQ R8, R13
	LEAQ (R8)(R9*1), R10
	LEAQ (R10)(R9*1), R11
	LEAQ (R11)(R9*1), R12
	MOVQ SI, AX
	MOVQ DX, BX
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9

avx2_loop16:
	CMPQ BX, $16
	JL   avx2_tail8
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VFMADD231PS (R13), Y0, Y2
	VFMADD231PS 32(R13), Y1, Y3
	VFMADD231PS (R10), Y0, Y4
	VFMADD231PS 32(R10), Y1, Y5
	VFMADD231PS (R11), Y0, Y6
	VFMADD231PS 32(R11), Y1, Y7
	VFMADD231PS (R12), Y0, Y8
	VFMADD231PS 32(R12), Y1, Y9
	ADDQ $64, AX
	ADDQ $64, R13
	ADDQ $64, R10
	ADDQ $64, R11
	ADDQ $64, R12
	SUBQ $16, BX
	JMP  avx2_loop16

avx2_tail8:
	CMPQ BX, $8
	JL   avx2_tailmask
	VMOVUPS (AX), Y0
	VFMADD231PS (R13), Y0, Y2
	VFMADD231PS (R10), Y0, Y4
	VFMADD231PS (R11), Y0, Y6
	VFMADD231PS (R12), Y0, Y8
	ADDQ $32, AX
	ADDQ $32, R13
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	SUBQ $8, BX

avx2_tailmask:
	TESTQ BX, BX
	JZ    avx2_reduce
	VMASKMOVPS (AX), Y12, Y0
	VMASKMOVPS (R13), Y12, Y10
	VFMADD231PS Y10, Y0, Y3
	VMASKMOVPS (R10), Y12, Y10
	VFMADD231PS Y10, Y0, Y5
	VMASKMOVPS (R11), Y12, Y10
	VFMADD231PS Y10, Y0, Y7
	VMASKMOVPS (R12), Y12, Y10
	VFMADD231PS Y10, Y0, Y9

avx2_reduce:
	VADDPS       Y3, Y2, Y2
	VADDPS       Y5, Y4, Y4
	VADDPS       Y7, Y6, Y6
	VADDPS       Y9, Y8, Y8
	VEXTRACTF128 $1, Y2, X10
	VADDPS       X10, X2, X2
	VEXTRACTF128 $1, Y4, X10
	VADDPS       X10, X4, X4
	VEXTRACTF128 $1, Y6, X10
	VADDPS       X10, X6, X6
	VEXTRACTF128 $1, Y8, X10
	VADDPS       X10, X8, X8
	VHADDPS      X4, X2, X2
	VHADDPS      X8, X6, X6
	VHADDPS      X6, X2, X2
	VMOVUPS      X2, (DI)
	ADDQ         $16, DI
	LEAQ         (R8)(R9*4), R8
	SUBQ         $4, CX
	JMP          avx2_group

avx2_done:
	VZEROUPPER
	RET

// func dotRows4F16AVX2(dst *float32, q *float32, x *uint16, ldx int, d int, n int)
//
// dotRows4AVX2 with x in half precision (F16C), over the first d - d%8
// elements only: the Go side adds the tail.
TEXT ·dotRows4F16AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ x+16(FP), R8
	MOVQ ldx+24(FP), R9
	SHLQ $1, R9
	MOVQ d+32(FP), DX
	ANDQ $-8, DX
	MOVQ n+40(FP), CX

h2_group:
	CMPQ CX, $4
	JL   h2_done
	MOVQ R8, R13
	LEAQ (R8)(R9*1), R10
	LEAQ (R10)(R9*1), R11
	LEAQ (R11)(R9*1), R12
	MOVQ SI, AX
	MOVQ DX, BX
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9

h2_loop16:
	CMPQ BX, $16
	JL   h2_tail8
	// As in dotRows4F16AVX512: prefetch half-precision rows 2 KiB ahead.
	PREFETCHT0 2048(R13)
	PREFETCHT0 2048(R10)
	PREFETCHT0 2048(R11)
	PREFETCHT0 2048(R12)
	VMOVUPS   (AX), Y0
	VMOVUPS   32(AX), Y1
	VCVTPH2PS (R13), Y10
	VCVTPH2PS 16(R13), Y11
	VFMADD231PS Y10, Y0, Y2
	VFMADD231PS Y11, Y1, Y3
	VCVTPH2PS (R10), Y12
	VCVTPH2PS 16(R10), Y13
	VFMADD231PS Y12, Y0, Y4
	VFMADD231PS Y13, Y1, Y5
	VCVTPH2PS (R11), Y10
	VCVTPH2PS 16(R11), Y11
	VFMADD231PS Y10, Y0, Y6
	VFMADD231PS Y11, Y1, Y7
	VCVTPH2PS (R12), Y12
	VCVTPH2PS 16(R12), Y13
	VFMADD231PS Y12, Y0, Y8
	VFMADD231PS Y13, Y1, Y9
	ADDQ $64, AX
	ADDQ $32, R13
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	SUBQ $16, BX
	JMP  h2_loop16

h2_tail8:
	TESTQ BX, BX
	JZ    h2_reduce
	VMOVUPS   (AX), Y0
	VCVTPH2PS (R13), Y10
	VFMADD231PS Y10, Y0, Y2
	VCVTPH2PS (R10), Y10
	VFMADD231PS Y10, Y0, Y4
	VCVTPH2PS (R11), Y10
	VFMADD231PS Y10, Y0, Y6
	VCVTPH2PS (R12), Y10
	VFMADD231PS Y10, Y0, Y8

h2_reduce:
	VADDPS       Y3, Y2, Y2
	VADDPS       Y5, Y4, Y4
	VADDPS       Y7, Y6, Y6
	VADDPS       Y9, Y8, Y8
	VEXTRACTF128 $1, Y2, X10
	VADDPS       X10, X2, X2
	VEXTRACTF128 $1, Y4, X10
	VADDPS       X10, X4, X4
	VEXTRACTF128 $1, Y6, X10
	VADDPS       X10, X6, X6
	VEXTRACTF128 $1, Y8, X10
	VADDPS       X10, X8, X8
	VHADDPS      X4, X2, X2
	VHADDPS      X8, X6, X6
	VHADDPS      X6, X2, X2
	VMOVUPS      X2, (DI)
	ADDQ         $16, DI
	LEAQ         (R8)(R9*4), R8
	SUBQ         $4, CX
	JMP          h2_group

h2_done:
	VZEROUPPER
	RET

// func firstAtLeastAVX512(x *float32, n int, t float32) int
//
// The index of the first of x[0:n] that is >= t, or n rounded down to a
// multiple of 16 if none of those is (the Go side scans the rest).
TEXT ·firstAtLeastAVX512(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	ANDQ         $-16, CX
	VBROADCASTSS t+16(FP), Z0
	XORQ         AX, AX

fa512_loop32:
	LEAQ    32(AX), DX
	CMPQ    DX, CX
	JG      fa512_loop16
	VCMPPS  $18, (SI)(AX*4), Z0, K1   // K1 = t <= x[i] (LE_OQ: NaN false)
	VCMPPS  $18, 64(SI)(AX*4), Z0, K2
	KORTESTW K1, K2
	JNZ     fa512_found32
	MOVQ    DX, AX
	JMP     fa512_loop32

fa512_found32:
	KMOVW K1, DX
	TESTL DX, DX
	JNZ   fa512_found
	ADDQ  $16, AX
	KMOVW K2, DX
	JMP   fa512_found

fa512_loop16:
	CMPQ    AX, CX
	JGE     fa512_none
	VCMPPS  $18, (SI)(AX*4), Z0, K1
	KMOVW   K1, DX
	TESTL   DX, DX
	JNZ     fa512_found
	ADDQ    $16, AX
	JMP     fa512_loop16

fa512_found:
	BSFL DX, DX
	ADDQ DX, AX
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

fa512_none:
	MOVQ CX, ret+24(FP)
	VZEROUPPER
	RET

// func firstAtLeastAVX2(x *float32, n int, t float32) int
//
// firstAtLeastAVX512 with 8-wide vectors: n is rounded down to a multiple
// of 8.
TEXT ·firstAtLeastAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	ANDQ         $-8, CX
	VBROADCASTSS t+16(FP), Y0
	XORQ         AX, AX

fa2_loop16:
	LEAQ      16(AX), DX
	CMPQ      DX, CX
	JG        fa2_loop8
	VCMPPS    $18, (SI)(AX*4), Y0, Y1
	VCMPPS    $18, 32(SI)(AX*4), Y0, Y2
	VORPS     Y1, Y2, Y3
	VTESTPS   Y3, Y3
	JNZ       fa2_found16
	MOVQ      DX, AX
	JMP       fa2_loop16

fa2_found16:
	VMOVMSKPS Y1, DX
	TESTL     DX, DX
	JNZ       fa2_found
	ADDQ      $8, AX
	VMOVMSKPS Y2, DX
	JMP       fa2_found

fa2_loop8:
	CMPQ      AX, CX
	JGE       fa2_none
	VCMPPS    $18, (SI)(AX*4), Y0, Y1
	VMOVMSKPS Y1, DX
	TESTL     DX, DX
	JNZ       fa2_found
	ADDQ      $8, AX
	JMP       fa2_loop8

fa2_found:
	BSFL DX, DX
	ADDQ DX, AX
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

fa2_none:
	MOVQ CX, ret+24(FP)
	VZEROUPPER
	RET

// func firstAboveAVX512(x *float32, t *float32, n int) int
//
// The index of the first i < n with x[i] >= t[i], or n rounded down to a
// multiple of 16 if none of those is (the Go side scans the rest).
TEXT ·firstAboveAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ t+8(FP), DI
	MOVQ n+16(FP), CX
	ANDQ $-16, CX
	XORQ AX, AX

fv512_loop32:
	LEAQ     32(AX), DX
	CMPQ     DX, CX
	JG       fv512_loop16
	VMOVUPS  (DI)(AX*4), Z0
	VMOVUPS  64(DI)(AX*4), Z1
	VCMPPS   $18, (SI)(AX*4), Z0, K1 // K1 = t[i] <= x[i] (LE_OQ: NaN false)
	VCMPPS   $18, 64(SI)(AX*4), Z1, K2
	KORTESTW K1, K2
	JNZ      fv512_found32
	MOVQ     DX, AX
	JMP      fv512_loop32

fv512_found32:
	KMOVW K1, DX
	TESTL DX, DX
	JNZ   fv512_found
	ADDQ  $16, AX
	KMOVW K2, DX
	JMP   fv512_found

fv512_loop16:
	CMPQ    AX, CX
	JGE     fv512_none
	VMOVUPS (DI)(AX*4), Z0
	VCMPPS  $18, (SI)(AX*4), Z0, K1
	KMOVW   K1, DX
	TESTL   DX, DX
	JNZ     fv512_found
	ADDQ    $16, AX
	JMP     fv512_loop16

fv512_found:
	BSFL DX, DX
	ADDQ DX, AX
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

fv512_none:
	MOVQ CX, ret+24(FP)
	VZEROUPPER
	RET

// func firstAboveAVX2(x *float32, t *float32, n int) int
//
// firstAboveAVX512 with 8-wide vectors: n is rounded down to a multiple
// of 8.
TEXT ·firstAboveAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ t+8(FP), DI
	MOVQ n+16(FP), CX
	ANDQ $-8, CX
	XORQ AX, AX

fv2_loop16:
	LEAQ    16(AX), DX
	CMPQ    DX, CX
	JG      fv2_loop8
	VMOVUPS (DI)(AX*4), Y0
	VMOVUPS 32(DI)(AX*4), Y1
	VCMPPS  $18, (SI)(AX*4), Y0, Y2
	VCMPPS  $18, 32(SI)(AX*4), Y1, Y3
	VORPS   Y2, Y3, Y4
	VTESTPS Y4, Y4
	JNZ     fv2_found16
	MOVQ    DX, AX
	JMP     fv2_loop16

fv2_found16:
	VMOVMSKPS Y2, DX
	TESTL     DX, DX
	JNZ       fv2_found
	ADDQ      $8, AX
	VMOVMSKPS Y3, DX
	JMP       fv2_found

fv2_loop8:
	CMPQ      AX, CX
	JGE       fv2_none
	VMOVUPS   (DI)(AX*4), Y0
	VCMPPS    $18, (SI)(AX*4), Y0, Y2
	VMOVMSKPS Y2, DX
	TESTL     DX, DX
	JNZ       fv2_found
	ADDQ      $8, AX
	JMP       fv2_loop8

fv2_found:
	BSFL DX, DX
	ADDQ DX, AX
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

fv2_none:
	MOVQ CX, ret+24(FP)
	VZEROUPPER
	RET

// Eight all-ones lanes then eight zero lanes: the 8-lane window starting
// at entry 8-t has its first t lanes set.
DATA tailMask<>+0(SB)/4, $0xffffffff
DATA tailMask<>+4(SB)/4, $0xffffffff
DATA tailMask<>+8(SB)/4, $0xffffffff
DATA tailMask<>+12(SB)/4, $0xffffffff
DATA tailMask<>+16(SB)/4, $0xffffffff
DATA tailMask<>+20(SB)/4, $0xffffffff
DATA tailMask<>+24(SB)/4, $0xffffffff
DATA tailMask<>+28(SB)/4, $0xffffffff
DATA tailMask<>+32(SB)/4, $0
DATA tailMask<>+36(SB)/4, $0
DATA tailMask<>+40(SB)/4, $0
DATA tailMask<>+44(SB)/4, $0
DATA tailMask<>+48(SB)/4, $0
DATA tailMask<>+52(SB)/4, $0
DATA tailMask<>+56(SB)/4, $0
DATA tailMask<>+60(SB)/4, $0
GLOBL tailMask<>(SB), RODATA|NOPTR, $64
