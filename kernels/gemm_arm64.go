//go:build !purego

package kernels

// neonGemm: 24 of the 32 NEON registers accumulate a 6×16 tile; per k
// step one load fills four registers with a row of B and six
// load-and-replicate instructions broadcast A. The block sizes are
// chosen for a 64 KiB L1 and 1 MiB of L2 per core and are not tuned on
// hardware.
var neonGemm = gemmKernel{
	name:  "neon_6x16",
	mr:    6,
	nr:    16,
	kc:    256,
	mc:    4104,
	nc:    1024,
	micro: sgemmNEON,
}

func sgemmNEON(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, _ []float32) {
	_ = a[5*lda+k-1]
	_ = b[16*k-1]
	_ = c[5*ldc+15]
	sgemmKernelNEON_6x16(k, &a[0], lda, &b[0], &c[0], ldc, alpha, beta)
}

// sgemmKernelNEON_6x16 is the NEON microkernel (see gemmKernel for the
// contract, with MR = 6, NR = 16): for 1 <= k,
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
func sgemmKernelNEON_6x16(k int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)
