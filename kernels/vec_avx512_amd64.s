//go:build !purego

#include "textflag.h"

// Vector kernels for AVX-512 (F, BW, DQ, VL). Each processes all n
// elements: 16 per vector, the last partial vector under a mask, so
// nothing outside the n elements is read or written. The Go declarations
// in vec_amd64.go show the plain loop each computes.

// TAILMASK sets K1 to the low CX bits (0 < CX < 16). Clobbers AX, CX.
#define TAILMASK \
	MOVQ  $1, AX; \
	SHLQ  CX, AX; \
	DECQ  AX; \
	KMOVW AX, K1

// HSUMPS leaves in the low lane of x the sum of the 16 lanes of z (z, y
// and x name one register); ty/tx are scratch of another.
#define HSUMPS(z, y, x, tz, ty, tx) \
	VEXTRACTF64X4 $1, z, ty; \
	VADDPS        ty, y, y; \
	VEXTRACTF128  $1, y, tx; \
	VADDPS        tx, x, x; \
	VPERMILPS     $0x4e, x, tx; \
	VADDPS        tx, x, x; \
	VPERMILPS     $0xb1, x, tx; \
	VADDPS        tx, x, x

#define HMAXPS(z, y, x, tz, ty, tx) \
	VEXTRACTF64X4 $1, z, ty; \
	VMAXPS        ty, y, y; \
	VEXTRACTF128  $1, y, tx; \
	VMAXPS        tx, x, x; \
	VPERMILPS     $0x4e, x, tx; \
	VMAXPS        tx, x, x; \
	VPERMILPS     $0xb1, x, tx; \
	VMAXPS        tx, x, x

#define HSUMPD(z, y, x, tz, ty, tx) \
	VEXTRACTF64X4 $1, z, ty; \
	VADDPD        ty, y, y; \
	VEXTRACTF128  $1, y, tx; \
	VADDPD        tx, x, x; \
	VPERMILPD     $1, x, tx; \
	VADDPD        tx, x, x

// func dotAVX512(x, y *float32, n int) float32
TEXT ·dotAVX512(SB), NOSPLIT, $0-28
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   n+16(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

dot64:
	CMPQ        CX, $64
	JLT         dot16
	VMOVUPS     (SI), Z4
	VMOVUPS     64(SI), Z5
	VMOVUPS     128(SI), Z6
	VMOVUPS     192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $256, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JMP         dot64

dot16:
	CMPQ        CX, $16
	JLT         dottail
	VMOVUPS     (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         dot16

dottail:
	TESTQ CX, CX
	JEQ   dotsum
	TAILMASK
	VMOVUPS.Z   (SI), K1, Z4
	VMOVUPS.Z   (DI), K1, Z5
	VFMADD231PS Z5, Z4, Z1

dotsum:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	HSUMPS(Z0, Y0, X0, Z1, Y1, X1)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX512(alpha float32, x, y *float32, n int)
TEXT ·axpyAVX512(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Z31
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX

axpy64:
	CMPQ        CX, $64
	JLT         axpy16
	VMOVUPS     (DI), Z0
	VMOVUPS     64(DI), Z1
	VMOVUPS     128(DI), Z2
	VMOVUPS     192(DI), Z3
	VFMADD231PS (SI), Z31, Z0
	VFMADD231PS 64(SI), Z31, Z1
	VFMADD231PS 128(SI), Z31, Z2
	VFMADD231PS 192(SI), Z31, Z3
	VMOVUPS     Z0, (DI)
	VMOVUPS     Z1, 64(DI)
	VMOVUPS     Z2, 128(DI)
	VMOVUPS     Z3, 192(DI)
	ADDQ        $256, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JMP         axpy64

axpy16:
	CMPQ        CX, $16
	JLT         axpytail
	VMOVUPS     (DI), Z0
	VFMADD231PS (SI), Z31, Z0
	VMOVUPS     Z0, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         axpy16

axpytail:
	TESTQ CX, CX
	JEQ   axpydone
	TAILMASK
	VMOVUPS.Z   (DI), K1, Z0
	VMOVUPS.Z   (SI), K1, Z1
	VFMADD231PS Z1, Z31, Z0
	VMOVUPS     Z0, K1, (DI)

axpydone:
	VZEROUPPER
	RET

// func scaleAVX512(alpha float32, x *float32, n int)
TEXT ·scaleAVX512(SB), NOSPLIT, $0-24
	VBROADCASTSS alpha+0(FP), Z31
	MOVQ         x+8(FP), DI
	MOVQ         n+16(FP), CX

scale64:
	CMPQ    CX, $64
	JLT     scale16
	VMULPS  (DI), Z31, Z0
	VMULPS  64(DI), Z31, Z1
	VMULPS  128(DI), Z31, Z2
	VMULPS  192(DI), Z31, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ    $256, DI
	SUBQ    $64, CX
	JMP     scale64

scale16:
	CMPQ    CX, $16
	JLT     scaletail
	VMULPS  (DI), Z31, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     scale16

scaletail:
	TESTQ CX, CX
	JEQ   scaledone
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMULPS    Z0, Z31, Z0
	VMOVUPS   Z0, K1, (DI)

scaledone:
	VZEROUPPER
	RET

// func addAVX512(y, x *float32, n int)
TEXT ·addAVX512(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

add64:
	CMPQ    CX, $64
	JLT     add16
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS 128(DI), Z2
	VMOVUPS 192(DI), Z3
	VADDPS  (SI), Z0, Z0
	VADDPS  64(SI), Z1, Z1
	VADDPS  128(SI), Z2, Z2
	VADDPS  192(SI), Z3, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ    $256, SI
	ADDQ    $256, DI
	SUBQ    $64, CX
	JMP     add64

add16:
	CMPQ    CX, $16
	JLT     addtail
	VMOVUPS (DI), Z0
	VADDPS  (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     add16

addtail:
	TESTQ CX, CX
	JEQ   adddone
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VADDPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (DI)

adddone:
	VZEROUPPER
	RET

// func sumAVX512(x *float32, n int) float64
TEXT ·sumAVX512(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

sum32:
	CMPQ      CX, $32
	JLT       sum16
	VCVTPS2PD (SI), Z4
	VCVTPS2PD 32(SI), Z5
	VCVTPS2PD 64(SI), Z6
	VCVTPS2PD 96(SI), Z7
	VADDPD    Z4, Z0, Z0
	VADDPD    Z5, Z1, Z1
	VADDPD    Z6, Z2, Z2
	VADDPD    Z7, Z3, Z3
	ADDQ      $128, SI
	SUBQ      $32, CX
	JMP       sum32

sum16:
	CMPQ      CX, $16
	JLT       sumtail
	VCVTPS2PD (SI), Z4
	VCVTPS2PD 32(SI), Z5
	VADDPD    Z4, Z0, Z0
	VADDPD    Z5, Z1, Z1
	ADDQ      $64, SI
	SUBQ      $16, CX
	JMP       sum16

sumtail:
	TESTQ CX, CX
	JEQ   sumdone
	TAILMASK
	VMOVUPS.Z     (SI), K1, Z4
	VCVTPS2PD     Y4, Z5
	VEXTRACTF64X4 $1, Z4, Y6
	VCVTPS2PD     Y6, Z6
	VADDPD        Z5, Z2, Z2
	VADDPD        Z6, Z3, Z3

sumdone:
	VADDPD Z1, Z0, Z0
	VADDPD Z3, Z2, Z2
	VADDPD Z2, Z0, Z0
	HSUMPD(Z0, Y0, X0, Z1, Y1, X1)
	VMOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// func maxAVX512(x *float32, n int) float32
TEXT ·maxAVX512(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVL         $0xff800000, AX // -Inf
	VPBROADCASTD AX, Z30
	VMOVAPS      Z30, Z0
	VMOVAPS      Z30, Z1
	VMOVAPS      Z30, Z2
	VMOVAPS      Z30, Z3
	KXORW        K3, K3, K3 // lanes that met a NaN

max64:
	CMPQ    CX, $64
	JLT     max16
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z6
	VMOVUPS 192(SI), Z7
	VCMPPS  $3, Z4, Z4, K2
	KORW    K2, K3, K3
	VCMPPS  $3, Z5, Z5, K2
	KORW    K2, K3, K3
	VCMPPS  $3, Z6, Z6, K2
	KORW    K2, K3, K3
	VCMPPS  $3, Z7, Z7, K2
	KORW    K2, K3, K3
	VMAXPS  Z4, Z0, Z0
	VMAXPS  Z5, Z1, Z1
	VMAXPS  Z6, Z2, Z2
	VMAXPS  Z7, Z3, Z3
	ADDQ    $256, SI
	SUBQ    $64, CX
	JMP     max64

max16:
	CMPQ    CX, $16
	JLT     maxtail
	VMOVUPS (SI), Z4
	VCMPPS  $3, Z4, Z4, K2
	KORW    K2, K3, K3
	VMAXPS  Z4, Z0, Z0
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     max16

maxtail:
	TESTQ CX, CX
	JEQ   maxdone
	TAILMASK
	VMOVAPS Z30, Z4
	VMOVUPS (SI), K1, Z4 // lanes past n stay -Inf
	VCMPPS  $3, Z4, Z4, K2
	KORW    K2, K3, K3
	VMAXPS  Z4, Z0, Z0

maxdone:
	KORTESTW K3, K3
	JNE      maxnan
	VMAXPS   Z1, Z0, Z0
	VMAXPS   Z3, Z2, Z2
	VMAXPS   Z2, Z0, Z0
	HMAXPS(Z0, Y0, X0, Z1, Y1, X1)
	VMOVSS   X0, ret+16(FP)
	VZEROUPPER
	RET

maxnan:
	MOVL $0x7fc00000, ret+16(FP)
	VZEROUPPER
	RET

// func sumSqAVX512(x *float32, n int, mu float32) float64
TEXT ·sumSqAVX512(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS mu+16(FP), Z31
	VPXORD       Z0, Z0, Z0
	VPXORD       Z1, Z1, Z1
	VPXORD       Z2, Z2, Z2
	VPXORD       Z3, Z3, Z3

sq32:
	CMPQ          CX, $32
	JLT           sq16
	VMOVUPS       (SI), Z4
	VMOVUPS       64(SI), Z5
	VSUBPS        Z31, Z4, Z4
	VSUBPS        Z31, Z5, Z5
	VCVTPS2PD     Y4, Z6
	VEXTRACTF64X4 $1, Z4, Y7
	VCVTPS2PD     Y7, Z7
	VCVTPS2PD     Y5, Z8
	VEXTRACTF64X4 $1, Z5, Y9
	VCVTPS2PD     Y9, Z9
	VFMADD231PD   Z6, Z6, Z0
	VFMADD231PD   Z7, Z7, Z1
	VFMADD231PD   Z8, Z8, Z2
	VFMADD231PD   Z9, Z9, Z3
	ADDQ          $128, SI
	SUBQ          $32, CX
	JMP           sq32

sq16:
	CMPQ          CX, $16
	JLT           sqtail
	VMOVUPS       (SI), Z4
	VSUBPS        Z31, Z4, Z4
	VCVTPS2PD     Y4, Z6
	VEXTRACTF64X4 $1, Z4, Y7
	VCVTPS2PD     Y7, Z7
	VFMADD231PD   Z6, Z6, Z0
	VFMADD231PD   Z7, Z7, Z1
	ADDQ          $64, SI
	SUBQ          $16, CX
	JMP           sq16

sqtail:
	TESTQ CX, CX
	JEQ   sqdone
	TAILMASK
	VMOVUPS.Z     (SI), K1, Z4
	VSUBPS.Z      Z31, Z4, K1, Z4 // lanes past n stay 0
	VCVTPS2PD     Y4, Z6
	VEXTRACTF64X4 $1, Z4, Y7
	VCVTPS2PD     Y7, Z7
	VFMADD231PD   Z6, Z6, Z2
	VFMADD231PD   Z7, Z7, Z3

sqdone:
	VADDPD Z1, Z0, Z0
	VADDPD Z3, Z2, Z2
	VADDPD Z2, Z0, Z0
	HSUMPD(Z0, Y0, X0, Z1, Y1, X1)
	VMOVSD X0, ret+24(FP)
	VZEROUPPER
	RET

// EXPCONST loads exp's constants: Z16 log₂e, Z17 ln2 high part, Z18 ln2
// low part, Z19 the overflow bound, Z20 the underflow bound, Z21-Z27 the
// polynomial (expCoef).
#define EXPCONST \
	MOVL         $0x3fb8aa3b, AX; \
	VPBROADCASTD AX, Z16; \
	MOVL         $0x3f318000, AX; \
	VPBROADCASTD AX, Z17; \
	MOVL         $0xb95e8083, AX; \
	VPBROADCASTD AX, Z18; \
	MOVL         $0x42b17218, AX; \
	VPBROADCASTD AX, Z19; \
	MOVL         $0xc2aeac4f, AX; \
	VPBROADCASTD AX, Z20; \
	VBROADCASTSS ·expCoef+0(SB), Z21; \
	VBROADCASTSS ·expCoef+4(SB), Z22; \
	VBROADCASTSS ·expCoef+8(SB), Z23; \
	VBROADCASTSS ·expCoef+12(SB), Z24; \
	VBROADCASTSS ·expCoef+16(SB), Z25; \
	VBROADCASTSS ·expCoef+20(SB), Z26; \
	VBROADCASTSS ·expCoef+24(SB), Z27

// EXP replaces x by exp(x) as exp32 computes it: x = n·ln2 + r,
// exp(x) = 2ⁿ·p(r); below the normal range 0, above it +Inf, NaN stays.
// n, p are scratch, k a scratch mask.
#define EXP(x, n, p, k) \
	VCMPPS       $1, Z20, x, k; \
	VMINPS       x, Z19, x; \
	VMAXPS       x, Z20, x; \
	VMULPS       Z16, x, n; \
	VRNDSCALEPS  $8, n, n; \
	VFNMADD231PS Z17, n, x; \
	VFNMADD231PS Z18, n, x; \
	VMOVAPS      Z27, p; \
	VFMADD213PS  Z26, x, p; \
	VFMADD213PS  Z25, x, p; \
	VFMADD213PS  Z24, x, p; \
	VFMADD213PS  Z23, x, p; \
	VFMADD213PS  Z22, x, p; \
	VFMADD213PS  Z21, x, p; \
	VSCALEFPS    n, p, x; \
	VPXORD       x, x, k, x

// func expShiftAVX512(x *float32, n int, shift float32) float32
TEXT ·expShiftAVX512(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS shift+16(FP), Z31
	EXPCONST
	VPXORD       Z0, Z0, Z0
	VPXORD       Z1, Z1, Z1

exp32loop:
	CMPQ    CX, $32
	JLT     exp16
	VMOVUPS (SI), Z2
	VMOVUPS 64(SI), Z5
	VSUBPS  Z31, Z2, Z2
	VSUBPS  Z31, Z5, Z5
	EXP(Z2, Z3, Z4, K2)
	EXP(Z5, Z6, Z7, K3)
	VMOVUPS Z2, (SI)
	VMOVUPS Z5, 64(SI)
	VADDPS  Z2, Z0, Z0
	VADDPS  Z5, Z1, Z1
	ADDQ    $128, SI
	SUBQ    $32, CX
	JMP     exp32loop

exp16:
	CMPQ    CX, $16
	JLT     exptail
	VMOVUPS (SI), Z2
	VSUBPS  Z31, Z2, Z2
	EXP(Z2, Z3, Z4, K2)
	VMOVUPS Z2, (SI)
	VADDPS  Z2, Z0, Z0
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     exp16

exptail:
	TESTQ CX, CX
	JEQ   expdone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z2
	VSUBPS    Z31, Z2, Z2
	EXP(Z2, Z3, Z4, K2)
	VMOVUPS   Z2, K1, (SI)
	VADDPS    Z2, Z1, K1, Z1

expdone:
	VADDPS Z1, Z0, Z0
	HSUMPS(Z0, Y0, X0, Z1, Y1, X1)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func normAffineAVX512(out, x, gamma, beta *float32, n int, mu, rstd float32)
TEXT ·normAffineAVX512(SB), NOSPLIT, $0-48
	MOVQ         out+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         gamma+16(FP), R8
	MOVQ         beta+24(FP), R9
	MOVQ         n+32(FP), CX
	VBROADCASTSS mu+40(FP), Z30
	VBROADCASTSS rstd+44(FP), Z31

norm32:
	CMPQ        CX, $32
	JLT         norm16
	VMOVUPS     (SI), Z0
	VMOVUPS     64(SI), Z1
	VSUBPS      Z30, Z0, Z0
	VSUBPS      Z30, Z1, Z1
	VMULPS      Z31, Z0, Z0
	VMULPS      Z31, Z1, Z1
	VMOVUPS     (R8), Z2
	VMOVUPS     64(R8), Z3
	VFMADD213PS (R9), Z2, Z0
	VFMADD213PS 64(R9), Z3, Z1
	VMOVUPS     Z0, (DI)
	VMOVUPS     Z1, 64(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	ADDQ        $128, R8
	ADDQ        $128, R9
	SUBQ        $32, CX
	JMP         norm32

norm16:
	CMPQ        CX, $16
	JLT         normtail
	VMOVUPS     (SI), Z0
	VSUBPS      Z30, Z0, Z0
	VMULPS      Z31, Z0, Z0
	VMOVUPS     (R8), Z2
	VFMADD213PS (R9), Z2, Z0
	VMOVUPS     Z0, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	ADDQ        $64, R8
	ADDQ        $64, R9
	SUBQ        $16, CX
	JMP         norm16

normtail:
	TESTQ CX, CX
	JEQ   normdone
	TAILMASK
	VMOVUPS.Z   (SI), K1, Z0
	VMOVUPS.Z   (R8), K1, Z2
	VMOVUPS.Z   (R9), K1, Z3
	VSUBPS      Z30, Z0, Z0
	VMULPS      Z31, Z0, Z0
	VFMADD213PS Z3, Z2, Z0
	VMOVUPS     Z0, K1, (DI)

normdone:
	VZEROUPPER
	RET

// ERFCONST loads erf's constants: Z8 the abs mask, Z9 4.0 (erf is ±1
// beyond), Z10 2.0 (intervals per unit), Z11 the last interval (7), Z12
// the interval centres, Z13-Z20 the coefficients of t⁰..t⁷ per interval.
#define ERFCONST \
	MOVL         $0x7fffffff, AX; \
	VPBROADCASTD AX, Z8; \
	MOVL         $0x40800000, AX; \
	VPBROADCASTD AX, Z9; \
	MOVL         $0x40000000, AX; \
	VPBROADCASTD AX, Z10; \
	MOVL         $7, AX; \
	VPBROADCASTD AX, Z11; \
	VMOVUPS      ·erfCenter+0(SB), Y12; \
	VMOVUPS      ·erfCoef+0(SB), Y13; \
	VMOVUPS      ·erfCoef+32(SB), Y14; \
	VMOVUPS      ·erfCoef+64(SB), Y15; \
	VMOVUPS      ·erfCoef+96(SB), Y16; \
	VMOVUPS      ·erfCoef+128(SB), Y17; \
	VMOVUPS      ·erfCoef+160(SB), Y18; \
	VMOVUPS      ·erfCoef+192(SB), Y19; \
	VMOVUPS      ·erfCoef+224(SB), Y20

// ERF replaces x by erf(x) as erf32 computes it. z, i, t, p, c are
// scratch.
#define ERF(x, z, i, t, p, c) \
	VANDPS      Z8, x, z; \
	VXORPS      z, x, x; \
	VMINPS      z, Z9, z; \
	VMULPS      Z10, z, i; \
	VCVTTPS2DQ  i, i; \
	VPMINSD     Z11, i, i; \
	VPERMPS     Z12, i, t; \
	VSUBPS      t, z, t; \
	VPERMPS     Z20, i, p; \
	VPERMPS     Z19, i, c; \
	VFMADD213PS c, t, p; \
	VPERMPS     Z18, i, c; \
	VFMADD213PS c, t, p; \
	VPERMPS     Z17, i, c; \
	VFMADD213PS c, t, p; \
	VPERMPS     Z16, i, c; \
	VFMADD213PS c, t, p; \
	VPERMPS     Z15, i, c; \
	VFMADD213PS c, t, p; \
	VPERMPS     Z14, i, c; \
	VFMADD213PS c, t, p; \
	VPERMPS     Z13, i, c; \
	VFMADD213PS c, t, p; \
	VORPS       p, x, x

// func erfAVX512(out, x *float32, n int)
TEXT ·erfAVX512(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	ERFCONST

erfloop:
	CMPQ    CX, $16
	JLT     erftail
	VMOVUPS (SI), Z0
	ERF(Z0, Z1, Z2, Z3, Z4, Z5)
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     erfloop

erftail:
	TESTQ CX, CX
	JEQ   erfdone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	ERF(Z0, Z1, Z2, Z3, Z4, Z5)
	VMOVUPS   Z0, K1, (DI)

erfdone:
	VZEROUPPER
	RET

// GELU1 computes out = h + h·erf(x/√2) with h = x/2 for the x in x, into
// x; z, i, t, p, c and e are scratch. Z21 holds 1/√2, Z22 0.5.
#define GELU1(x, e, z, i, t, p, c) \
	VMULPS      Z21, x, e; \
	ERF(e, z, i, t, p, c); \
	VMULPS      Z22, x, x; \
	VFMADD231PS e, x, x

// func geluAVX512(out, x *float32, n int)
TEXT ·geluAVX512(SB), NOSPLIT, $0-24
	MOVQ         out+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	ERFCONST
	MOVL         $0x3f3504f3, AX
	VPBROADCASTD AX, Z21
	MOVL         $0x3f000000, AX
	VPBROADCASTD AX, Z22

gelu32:
	CMPQ    CX, $32
	JLT     gelu16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z23
	GELU1(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	GELU1(Z23, Z24, Z25, Z26, Z27, Z28, Z29)
	VMOVUPS Z0, (DI)
	VMOVUPS Z23, 64(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JMP     gelu32

gelu16:
	CMPQ    CX, $16
	JLT     gelutail
	VMOVUPS (SI), Z0
	GELU1(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     gelu16

gelutail:
	TESTQ CX, CX
	JEQ   geludone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	GELU1(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	VMOVUPS   Z0, K1, (DI)

geludone:
	VZEROUPPER
	RET

// GELUT1 computes x/(1+exp(-2√(2/π)·(x+0.044715x³))) into x; a, b, c,
// d are scratch and k a scratch mask. Z28 holds 0.044715, Z29 1.0, Z30
// -2√(2/π).
#define GELUT1(x, a, b, c, d, k) \
	VMULPS      x, x, a; \
	VMOVAPS     Z29, b; \
	VFMADD231PS a, Z28, b; \
	VMULPS      b, x, a; \
	VMULPS      Z30, a, a; \
	EXP(a, c, d, k); \
	VADDPS      Z29, a, a; \
	VDIVPS      a, x, x

// func geluTanhAVX512(out, x *float32, n int)
TEXT ·geluTanhAVX512(SB), NOSPLIT, $0-24
	MOVQ         out+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	EXPCONST
	MOVL         $0x3d372713, AX
	VPBROADCASTD AX, Z28
	MOVL         $0x3f800000, AX
	VPBROADCASTD AX, Z29
	MOVL         $0xbfcc422a, AX
	VPBROADCASTD AX, Z30

gelut32:
	CMPQ    CX, $32
	JLT     gelut16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z5
	GELUT1(Z0, Z1, Z2, Z3, Z4, K2)
	GELUT1(Z5, Z6, Z7, Z8, Z9, K3)
	VMOVUPS Z0, (DI)
	VMOVUPS Z5, 64(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JMP     gelut32

gelut16:
	CMPQ    CX, $16
	JLT     geluttail
	VMOVUPS (SI), Z0
	GELUT1(Z0, Z1, Z2, Z3, Z4, K2)
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     gelut16

geluttail:
	TESTQ CX, CX
	JEQ   gelutdone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	GELUT1(Z0, Z1, Z2, Z3, Z4, K2)
	VMOVUPS   Z0, K1, (DI)

gelutdone:
	VZEROUPPER
	RET

// func f16ToF32AVX512(dst *float32, src *uint16, n int)
// n is a multiple of 16.
TEXT ·f16ToF32AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JEQ  h2fdone

h2floop:
	VCVTPH2PS (SI), Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	DECQ      CX
	JNE       h2floop

h2fdone:
	VZEROUPPER
	RET

// func f32ToF16AVX512(dst *uint16, src *float32, n int)
// n is a multiple of 16.
TEXT ·f32ToF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JEQ  f2hdone

f2hloop:
	VMOVUPS   (SI), Z0
	VCVTPS2PH $0, Z0, (DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	DECQ      CX
	JNE       f2hloop

f2hdone:
	VZEROUPPER
	RET

// func bf16ToF32AVX512(dst *float32, src *uint16, n int)
// n is a multiple of 16.
TEXT ·bf16ToF32AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JEQ  b2fdone

b2floop:
	VPMOVZXWD (SI), Z0
	VPSLLD    $16, Z0, Z0
	VMOVDQU32 Z0, (DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	DECQ      CX
	JNE       b2floop

b2fdone:
	VZEROUPPER
	RET

// func f32ToBF16AVX512(dst *uint16, src *float32, n int)
// n is a multiple of 16.
TEXT ·f32ToBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVL         $0x7fffffff, AX
	VPBROADCASTD AX, Z8
	MOVL         $0x7f800000, AX
	VPBROADCASTD AX, Z9
	MOVL         $1, AX
	VPBROADCASTD AX, Z10
	MOVL         $0x7fff, AX
	VPBROADCASTD AX, Z11
	MOVL         $0x40, AX
	VPBROADCASTD AX, Z12
	SHRQ         $4, CX
	JEQ          f2bdone

f2bloop:
	VMOVDQU32 (SI), Z0
	VPANDD    Z8, Z0, Z1
	VPCMPUD   $6, Z9, Z1, K1 // NaN: |b| > Inf's bits
	VPSRLD    $16, Z0, Z2
	VPANDD    Z10, Z2, Z3
	VPADDD    Z11, Z3, Z3
	VPADDD    Z0, Z3, Z3
	VPSRLD    $16, Z3, Z3    // round to nearest even
	VPORD     Z12, Z2, K1, Z3 // NaN: keep it, quiet
	VPMOVDW   Z3, (DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	DECQ      CX
	JNE       f2bloop

f2bdone:
	VZEROUPPER
	RET
