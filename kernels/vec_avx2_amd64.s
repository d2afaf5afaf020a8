//go:build !purego

#include "textflag.h"

// Vector kernels for AVX2+FMA (and F16C). Each processes n elements, n a
// multiple of 8; the Go wrappers in vec_amd64.go finish the tail. The
// constants are rows of avx2Const (see there), 32 bytes each.

#define C_LOG2E   ·avx2Const+0(SB)
#define C_LN2HI   ·avx2Const+32(SB)
#define C_LN2LO   ·avx2Const+64(SB)
#define C_EXPHI   ·avx2Const+96(SB)
#define C_EXPLO   ·avx2Const+128(SB)
#define C_EXP0    ·avx2Const+160(SB)
#define C_EXP1    ·avx2Const+192(SB)
#define C_EXP2    ·avx2Const+224(SB)
#define C_EXP3    ·avx2Const+256(SB)
#define C_EXP4    ·avx2Const+288(SB)
#define C_EXP5    ·avx2Const+320(SB)
#define C_EXP6    ·avx2Const+352(SB)
#define C_BIAS    ·avx2Const+384(SB)
#define C_ABS     ·avx2Const+416(SB)
#define C_ERFSAT  ·avx2Const+448(SB)
#define C_TWO     ·avx2Const+480(SB)
#define C_SEVEN   ·avx2Const+512(SB)
#define C_ISQRT2  ·avx2Const+544(SB)
#define C_HALF    ·avx2Const+576(SB)
#define C_ONE     ·avx2Const+608(SB)
#define C_GELUQ   ·avx2Const+640(SB)
#define C_GELUK   ·avx2Const+672(SB)

// HSUMPS leaves in the low lane of x the sum of the 8 lanes of y (y and x
// name one register); tx is scratch.
#define HSUMPS(y, x, tx) \
	VEXTRACTF128 $1, y, tx; \
	VADDPS       tx, x, x; \
	VPERMILPS    $0x4e, x, tx; \
	VADDPS       tx, x, x; \
	VPERMILPS    $0xb1, x, tx; \
	VADDPS       tx, x, x

#define HSUMPD(y, x, tx) \
	VEXTRACTF128 $1, y, tx; \
	VADDPD       tx, x, x; \
	VPERMILPD    $1, x, tx; \
	VADDPD       tx, x, x

// func dotAVX2(x, y *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ        CX, $32
	JLT         dot8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dot32

dot8:
	CMPQ        CX, $8
	JLT         dotsum
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dot8

dotsum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUMPS(Y0, X0, X1)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX2(alpha float32, x, y *float32, n int)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y15
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX

axpy32:
	CMPQ        CX, $32
	JLT         axpy8
	VMOVUPS     (DI), Y0
	VMOVUPS     32(DI), Y1
	VMOVUPS     64(DI), Y2
	VMOVUPS     96(DI), Y3
	VFMADD231PS (SI), Y15, Y0
	VFMADD231PS 32(SI), Y15, Y1
	VFMADD231PS 64(SI), Y15, Y2
	VFMADD231PS 96(SI), Y15, Y3
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	VMOVUPS     Y2, 64(DI)
	VMOVUPS     Y3, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         axpy32

axpy8:
	CMPQ        CX, $8
	JLT         axpydone
	VMOVUPS     (DI), Y0
	VFMADD231PS (SI), Y15, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axpy8

axpydone:
	VZEROUPPER
	RET

// func scaleAVX2(alpha float32, x *float32, n int)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-24
	VBROADCASTSS alpha+0(FP), Y15
	MOVQ         x+8(FP), DI
	MOVQ         n+16(FP), CX

scale32:
	CMPQ    CX, $32
	JLT     scale8
	VMULPS  (DI), Y15, Y0
	VMULPS  32(DI), Y15, Y1
	VMULPS  64(DI), Y15, Y2
	VMULPS  96(DI), Y15, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	SUBQ    $32, CX
	JMP     scale32

scale8:
	CMPQ    CX, $8
	JLT     scaledone
	VMULPS  (DI), Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     scale8

scaledone:
	VZEROUPPER
	RET

// func addAVX2(y, x *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

add32:
	CMPQ    CX, $32
	JLT     add8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VADDPS  (SI), Y0, Y0
	VADDPS  32(SI), Y1, Y1
	VADDPS  64(SI), Y2, Y2
	VADDPS  96(SI), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JMP     add32

add8:
	CMPQ    CX, $8
	JLT     adddone
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     add8

adddone:
	VZEROUPPER
	RET

// func sumAVX2(x *float32, n int) float64
TEXT ·sumAVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3

sum16:
	CMPQ      CX, $16
	JLT       sum8
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VADDPD    Y4, Y0, Y0
	VADDPD    Y5, Y1, Y1
	VADDPD    Y6, Y2, Y2
	VADDPD    Y7, Y3, Y3
	ADDQ      $64, SI
	SUBQ      $16, CX
	JMP       sum16

sum8:
	CMPQ      CX, $8
	JLT       sumdone
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VADDPD    Y4, Y0, Y0
	VADDPD    Y5, Y1, Y1
	ADDQ      $32, SI
	SUBQ      $8, CX
	JMP       sum8

sumdone:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	HSUMPD(Y0, X0, X1)
	VMOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVL         $0xff800000, AX // -Inf
	VMOVD        AX, X0
	VPBROADCASTD X0, Y0
	VMOVAPS      Y0, Y1
	VXORPS       Y6, Y6, Y6 // lanes that met a NaN

max16:
	CMPQ    CX, $16
	JLT     max8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VCMPPS  $3, Y4, Y4, Y7
	VORPS   Y7, Y6, Y6
	VCMPPS  $3, Y5, Y5, Y7
	VORPS   Y7, Y6, Y6
	VMAXPS  Y4, Y0, Y0
	VMAXPS  Y5, Y1, Y1
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     max16

max8:
	CMPQ    CX, $8
	JLT     maxdone
	VMOVUPS (SI), Y4
	VCMPPS  $3, Y4, Y4, Y7
	VORPS   Y7, Y6, Y6
	VMAXPS  Y4, Y0, Y0
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     max8

maxdone:
	VMOVMSKPS    Y6, AX
	TESTL        AX, AX
	JNE          maxnan
	VMAXPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSS       X0, ret+16(FP)
	VZEROUPPER
	RET

maxnan:
	MOVL $0x7fc00000, ret+16(FP)
	VZEROUPPER
	RET

// func sumSqAVX2(x *float32, n int, mu float32) float64
TEXT ·sumSqAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS mu+16(FP), Y15
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3

sq16:
	CMPQ         CX, $16
	JLT          sq8
	VMOVUPS      (SI), Y4
	VMOVUPS      32(SI), Y5
	VSUBPS       Y15, Y4, Y4
	VSUBPS       Y15, Y5, Y5
	VCVTPS2PD    X4, Y6
	VEXTRACTF128 $1, Y4, X7
	VCVTPS2PD    X7, Y7
	VCVTPS2PD    X5, Y8
	VEXTRACTF128 $1, Y5, X9
	VCVTPS2PD    X9, Y9
	VFMADD231PD  Y6, Y6, Y0
	VFMADD231PD  Y7, Y7, Y1
	VFMADD231PD  Y8, Y8, Y2
	VFMADD231PD  Y9, Y9, Y3
	ADDQ         $64, SI
	SUBQ         $16, CX
	JMP          sq16

sq8:
	CMPQ         CX, $8
	JLT          sqdone
	VMOVUPS      (SI), Y4
	VSUBPS       Y15, Y4, Y4
	VCVTPS2PD    X4, Y6
	VEXTRACTF128 $1, Y4, X7
	VCVTPS2PD    X7, Y7
	VFMADD231PD  Y6, Y6, Y0
	VFMADD231PD  Y7, Y7, Y1
	ADDQ         $32, SI
	SUBQ         $8, CX
	JMP          sq8

sqdone:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	HSUMPD(Y0, X0, X1)
	VMOVSD X0, ret+24(FP)
	VZEROUPPER
	RET

// EXP replaces x by exp(x) as exp32 computes it; n, p and k are scratch.
#define EXP(x, n, p, k) \
	VCMPPS       $1, C_EXPLO, x, k; \
	VMOVUPS      C_EXPHI, n; \
	VMINPS       x, n, x; \
	VMOVUPS      C_EXPLO, n; \
	VMAXPS       x, n, x; \
	VMULPS       C_LOG2E, x, n; \
	VROUNDPS     $8, n, n; \
	VFNMADD231PS C_LN2HI, n, x; \
	VFNMADD231PS C_LN2LO, n, x; \
	VMOVUPS      C_EXP6, p; \
	VFMADD213PS  C_EXP5, x, p; \
	VFMADD213PS  C_EXP4, x, p; \
	VFMADD213PS  C_EXP3, x, p; \
	VFMADD213PS  C_EXP2, x, p; \
	VFMADD213PS  C_EXP1, x, p; \
	VFMADD213PS  C_EXP0, x, p; \
	VCVTPS2DQ    n, n; \
	VPADDD       C_BIAS, n, n; \
	VPSLLD       $23, n, n; \
	VMULPS       n, p, x; \
	VANDNPS      x, k, x

// func expShiftAVX2(x *float32, n int, shift float32) float32
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS shift+16(FP), Y15
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1

exp16:
	CMPQ    CX, $16
	JLT     exp8
	VMOVUPS (SI), Y2
	VMOVUPS 32(SI), Y6
	VSUBPS  Y15, Y2, Y2
	VSUBPS  Y15, Y6, Y6
	EXP(Y2, Y3, Y4, Y5)
	EXP(Y6, Y7, Y8, Y9)
	VMOVUPS Y2, (SI)
	VMOVUPS Y6, 32(SI)
	VADDPS  Y2, Y0, Y0
	VADDPS  Y6, Y1, Y1
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     exp16

exp8:
	CMPQ    CX, $8
	JLT     expdone
	VMOVUPS (SI), Y2
	VSUBPS  Y15, Y2, Y2
	EXP(Y2, Y3, Y4, Y5)
	VMOVUPS Y2, (SI)
	VADDPS  Y2, Y0, Y0
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     exp8

expdone:
	VADDPS Y1, Y0, Y0
	HSUMPS(Y0, X0, X1)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func normAffineAVX2(out, x, gamma, beta *float32, n int, mu, rstd float32)
TEXT ·normAffineAVX2(SB), NOSPLIT, $0-48
	MOVQ         out+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         gamma+16(FP), R8
	MOVQ         beta+24(FP), R9
	MOVQ         n+32(FP), CX
	VBROADCASTSS mu+40(FP), Y14
	VBROADCASTSS rstd+44(FP), Y15

norm16:
	CMPQ        CX, $16
	JLT         norm8
	VMOVUPS     (SI), Y0
	VMOVUPS     32(SI), Y1
	VSUBPS      Y14, Y0, Y0
	VSUBPS      Y14, Y1, Y1
	VMULPS      Y15, Y0, Y0
	VMULPS      Y15, Y1, Y1
	VMOVUPS     (R8), Y2
	VMOVUPS     32(R8), Y3
	VFMADD213PS (R9), Y2, Y0
	VFMADD213PS 32(R9), Y3, Y1
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	ADDQ        $64, R8
	ADDQ        $64, R9
	SUBQ        $16, CX
	JMP         norm16

norm8:
	CMPQ        CX, $8
	JLT         normdone
	VMOVUPS     (SI), Y0
	VSUBPS      Y14, Y0, Y0
	VMULPS      Y15, Y0, Y0
	VMOVUPS     (R8), Y2
	VFMADD213PS (R9), Y2, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, R8
	ADDQ        $32, R9
	SUBQ        $8, CX
	JMP         norm8

normdone:
	VZEROUPPER
	RET

// ERF replaces x by erf(x) as erf32 computes it; z, i, t, p, c are
// scratch.
#define ERF(x, z, i, t, p, c) \
	VANDPS      C_ABS, x, z; \
	VXORPS      z, x, x; \
	VMOVUPS     C_ERFSAT, t; \
	VMINPS      z, t, z; \
	VMULPS      C_TWO, z, i; \
	VCVTTPS2DQ  i, i; \
	VPMINSD     C_SEVEN, i, i; \
	VPERMPS     ·erfCenter+0(SB), i, t; \
	VSUBPS      t, z, t; \
	VPERMPS     ·erfCoef+224(SB), i, p; \
	VPERMPS     ·erfCoef+192(SB), i, c; \
	VFMADD213PS c, t, p; \
	VPERMPS     ·erfCoef+160(SB), i, c; \
	VFMADD213PS c, t, p; \
	VPERMPS     ·erfCoef+128(SB), i, c; \
	VFMADD213PS c, t, p; \
	VPERMPS     ·erfCoef+96(SB), i, c; \
	VFMADD213PS c, t, p; \
	VPERMPS     ·erfCoef+64(SB), i, c; \
	VFMADD213PS c, t, p; \
	VPERMPS     ·erfCoef+32(SB), i, c; \
	VFMADD213PS c, t, p; \
	VPERMPS     ·erfCoef+0(SB), i, c; \
	VFMADD213PS c, t, p; \
	VORPS       p, x, x

// func erfAVX2(out, x *float32, n int)
TEXT ·erfAVX2(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

erfloop:
	CMPQ    CX, $8
	JLT     erfdone
	VMOVUPS (SI), Y0
	ERF(Y0, Y1, Y2, Y3, Y4, Y5)
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     erfloop

erfdone:
	VZEROUPPER
	RET

// GELU1: x = h + h·erf(x/√2), h = x/2; e, z, i, t, p, c are scratch.
#define GELU1(x, e, z, i, t, p, c) \
	VMULPS      C_ISQRT2, x, e; \
	ERF(e, z, i, t, p, c); \
	VMULPS      C_HALF, x, x; \
	VFMADD231PS e, x, x

// func geluAVX2(out, x *float32, n int)
TEXT ·geluAVX2(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

gelu16:
	CMPQ    CX, $16
	JLT     gelu8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y8
	GELU1(Y0, Y1, Y2, Y3, Y4, Y5, Y6)
	GELU1(Y8, Y9, Y10, Y11, Y12, Y13, Y14)
	VMOVUPS Y0, (DI)
	VMOVUPS Y8, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     gelu16

gelu8:
	CMPQ    CX, $8
	JLT     geludone
	VMOVUPS (SI), Y0
	GELU1(Y0, Y1, Y2, Y3, Y4, Y5, Y6)
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     gelu8

geludone:
	VZEROUPPER
	RET

// GELUT1: x = x/(1+exp(-2√(2/π)·x·(1+0.044715x²))); a, b, c, d, k are
// scratch.
#define GELUT1(x, a, b, c, d, k) \
	VMULPS      x, x, a; \
	VMOVUPS     C_ONE, b; \
	VFMADD231PS C_GELUQ, a, b; \
	VMULPS      b, x, a; \
	VMULPS      C_GELUK, a, a; \
	EXP(a, c, d, k); \
	VADDPS      C_ONE, a, a; \
	VDIVPS      a, x, x

// func geluTanhAVX2(out, x *float32, n int)
TEXT ·geluTanhAVX2(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

gelut16:
	CMPQ    CX, $16
	JLT     gelut8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y5
	GELUT1(Y0, Y1, Y2, Y3, Y4, Y10)
	GELUT1(Y5, Y6, Y7, Y8, Y9, Y11)
	VMOVUPS Y0, (DI)
	VMOVUPS Y5, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     gelut16

gelut8:
	CMPQ    CX, $8
	JLT     gelutdone
	VMOVUPS (SI), Y0
	GELUT1(Y0, Y1, Y2, Y3, Y4, Y10)
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     gelut8

gelutdone:
	VZEROUPPER
	RET

// func f16ToF32AVX2(dst *float32, src *uint16, n int)
TEXT ·f16ToF32AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JEQ  h2fdone

h2floop:
	VCVTPH2PS (SI), Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNE       h2floop

h2fdone:
	VZEROUPPER
	RET

// func f32ToF16AVX2(dst *uint16, src *float32, n int)
TEXT ·f32ToF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JEQ  f2hdone

f2hloop:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	DECQ      CX
	JNE       f2hloop

f2hdone:
	VZEROUPPER
	RET

// func bf16ToF32AVX2(dst *float32, src *uint16, n int)
TEXT ·bf16ToF32AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JEQ  b2fdone

b2floop:
	VPMOVZXWD (SI), Y0
	VPSLLD    $16, Y0, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNE       b2floop

b2fdone:
	VZEROUPPER
	RET

// func f32ToBF16AVX2(dst *uint16, src *float32, n int)
TEXT ·f32ToBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    n+16(FP), CX
	VMOVDQU ·bf16Const+0(SB), Y8   // |x| mask
	VMOVDQU ·bf16Const+32(SB), Y9  // +Inf
	VMOVDQU ·bf16Const+64(SB), Y10 // 1
	VMOVDQU ·bf16Const+96(SB), Y11 // 0x7fff
	VMOVDQU ·bf16Const+128(SB), Y12 // 0x40
	SHRQ    $3, CX
	JEQ     f2bdone

f2bloop:
	VMOVDQU      (SI), Y0
	VPAND        Y8, Y0, Y1
	VPCMPGTD     Y9, Y1, Y1 // NaN: |b| > Inf's bits
	VPSRLD       $16, Y0, Y2
	VPAND        Y10, Y2, Y3
	VPADDD       Y11, Y3, Y3
	VPADDD       Y0, Y3, Y3
	VPSRLD       $16, Y3, Y3 // round to nearest even
	VPOR         Y12, Y2, Y2 // NaN: keep it, quiet
	VPBLENDVB    Y1, Y2, Y3, Y3
	VEXTRACTI128 $1, Y3, X4
	VPACKUSDW    X4, X3, X3
	VMOVDQU      X3, (DI)
	ADDQ         $32, SI
	ADDQ         $16, DI
	DECQ         CX
	JNE          f2bloop

f2bdone:
	VZEROUPPER
	RET
