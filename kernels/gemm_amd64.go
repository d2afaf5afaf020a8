//go:build !purego

package kernels

import "unsafe"

// avx512Gemm: 24 of the 32 zmm registers accumulate a 12×32 tile; per k
// step it loads two vectors of B and broadcasts 12 values of A for 24
// FMAs. An A micro-panel (12×KC floats, 18 KiB) stays in the 48 KiB L1
// of Sapphire Rapids while B micro-panels (32×KC, 48 KiB) stream from a
// B block of KC×NC (1.2 MiB) in its 2 MiB L2.
var avx512Gemm = gemmKernel{
	name:   "avx512_12x32",
	mr:     12,
	nr:     32,
	kc:     384,
	mc:     4104,
	nc:     768,
	micro:  sgemmAVX512,
	packBN: packBNAVX512Go,
	packBT: packBTAVX512Go,
}

// avx2Gemm: 12 of the 16 ymm registers accumulate a 6×16 tile, BLIS's
// Haswell shape.
var avx2Gemm = gemmKernel{
	name:  "avx2_6x16",
	mr:    6,
	nr:    16,
	kc:    384,
	mc:    4104,
	nc:    768,
	micro: sgemmAVX2,
}

func sgemmAVX512(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, next []float32) {
	_ = a[11*lda+k-1]
	_ = b[32*k-1]
	_ = c[11*ldc+31]
	sgemmKernelAVX512_12x32(k, &a[0], lda, &b[0], &c[0], ldc, alpha, beta, unsafe.SliceData(next), len(next))
}

func sgemmAVX2(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, _ []float32) {
	_ = a[5*lda+k-1]
	_ = b[16*k-1]
	_ = c[5*ldc+15]
	sgemmKernelAVX2_6x16(k, &a[0], lda, &b[0], &c[0], ldc, alpha, beta)
}

// sgemmKernelAVX512_12x32 is the AVX-512 microkernel (see gemmKernel for
// the contract, with MR = 12, NR = 32): for 1 <= k,
//
//	for i := 0; i < 12; i++ {
//		for j := 0; j < 32; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[i*lda+p] * b[p*32+j]
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j] // C not read if beta == 0
//		}
//	}
//
// It also prefetches next[0:nextLen] into L2, one cache line per four
// k steps.
//
//go:noescape
func sgemmKernelAVX512_12x32(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, next *float32, nextLen int)

// sgemmKernelAVX2_6x16 is the AVX2+FMA microkernel (see gemmKernel for
// the contract, with MR = 6, NR = 16): for 1 <= k,
//
//	for i := 0; i < 6; i++ {
//		for j := 0; j < 16; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[i*lda+p] * b[p*16+j]
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j] // C not read if beta == 0
//		}
//	}
//
//go:noescape
func sgemmKernelAVX2_6x16(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)

func packBNAVX512Go(dst, b []float32, ldb, kb, nt int) {
	_ = dst[kb*32-1]
	_ = b[(kb-1)*ldb+nt-1]
	packBNAVX512(&dst[0], &b[0], ldb, kb, nt)
}

func packBTAVX512Go(dst, b []float32, ldb, kb, nt int) {
	_ = dst[kb*32-1]
	_ = b[(nt-1)*ldb+kb-1]
	if ldb >= 1<<29/16 { // the gather's 32-bit offsets would overflow
		packBTGeneric(dst, b, ldb, kb, nt, 32)
		return
	}
	packBTAVX512(&dst[0], &b[0], ldb, kb, nt)
}

// packBNAVX512: for p < kb { for c < 32 { dst[p*32+c] = c < nt ? b[p*ldb+c] : 0 } }, 0 < nt <= 32.
//
//go:noescape
func packBNAVX512(dst, b *float32, ldb, kb, nt int)

// packBTAVX512: for p < kb { for c < 32 { dst[p*32+c] = c < nt ? b[c*ldb+p] : 0 } }, 0 < nt <= 32.
//
//go:noescape
func packBTAVX512(dst, b *float32, ldb, kb, nt int)

// prefetchT1 asks for the cache lines of p[0:n] to be brought into L2.
//
//go:noescape
func prefetchT1(p *float32, n int)
