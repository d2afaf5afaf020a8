//go:build !purego

#include "textflag.h"


// func packBNAVX512(dst, b *float32, ldb, kb, nt int)
TEXT ·packBNAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	MOVQ kb+24(FP), BX
	MOVQ nt+32(FP), CX
	SHLQ $2, R8

	// K1, K2: the columns of each half of the panel that exist.
	MOVQ  CX, DX
	CMPQ  DX, $16
	JLE   lowonly
	SUBQ  $16, DX
	MOVQ  $1, AX
	MOVQ  DX, CX
	SHLQ  CX, AX
	DECQ  AX
	KMOVW AX, K2
	MOVQ  $0xffff, AX
	KMOVW AX, K1
	JMP   masked

lowonly:
	MOVQ  $1, AX
	SHLQ  CX, AX
	DECQ  AX
	KMOVW AX, K1
	KXORW K2, K2, K2

masked:
	LEAQ (SI)(R8*8), R9 // the row 8 ahead, to prefetch

bnloop:
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	VMOVUPS.Z  (SI), K1, Z0
	VMOVUPS.Z  64(SI), K2, Z1
	VMOVUPS    Z0, (DI)
	VMOVUPS    Z1, 64(DI)
	ADDQ       R8, SI
	ADDQ       R8, R9
	ADDQ       $128, DI
	DECQ       BX
	JNE        bnloop
	VZEROUPPER
	RET

// func packBTAVX512(dst, b *float32, ldb, kb, nt int)
TEXT ·packBTAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	MOVQ kb+24(FP), BX
	MOVQ nt+32(FP), CX

	// Z30 = [0, ldb, 2·ldb, ... 15·ldb]: the element offsets of 16 rows.
	MOVQ         R8, AX
	VPBROADCASTD AX, Z29
	MOVQ         $0x0706050403020100, AX
	MOVQ         AX, X0
	MOVQ         $0x0f0e0d0c0b0a0908, AX
	MOVQ         AX, X1
	VPUNPCKLQDQ  X1, X0, X0
	VPMOVZXBD    X0, Z30
	VPMULLD      Z29, Z30, Z30

	// R10, R11: the rows of each half of the panel that exist.
	MOVQ CX, DX
	CMPQ DX, $16
	JLE  tlow
	SUBQ $16, DX
	MOVQ $1, R11
	MOVQ DX, CX
	SHLQ CX, R11
	DECQ R11
	MOVQ $0xffff, R10
	JMP  tmasked

tlow:
	MOVQ $1, R10
	SHLQ CX, R10
	DECQ R10
	MOVQ $0, R11

tmasked:
	MOVQ R8, R12
	SHLQ $6, R12     // 16 rows in bytes
	ADDQ SI, R12     // second half of the panel

btloop:
	VPXORD     Z0, Z0, Z0
	VPXORD     Z1, Z1, Z1
	KMOVW      R10, K1
	KMOVW      R11, K2
	VGATHERDPS (SI)(Z30*4), K1, Z0
	VGATHERDPS (R12)(Z30*4), K2, Z1
	VMOVUPS    Z0, (DI)
	VMOVUPS    Z1, 64(DI)
	ADDQ       $4, SI
	ADDQ       $4, R12
	ADDQ       $128, DI
	DECQ       BX
	JNE        btloop
	VZEROUPPER
	RET

// func prefetchT1(p *float32, n int)
TEXT ·prefetchT1(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	ADDQ $15, CX
	SHRQ $4, CX
	JEQ  pfdone

pfloop:
	PREFETCHT1 (SI)
	ADDQ       $64, SI
	DECQ       CX
	JNE        pfloop

pfdone:
	RET
