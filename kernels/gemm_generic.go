package kernels

// genericGemm is the pure-Go microkernel's row of the block-size table.
// Go does not vectorize and keeps at most 15 float registers on amd64, so
// the tile is 2×4: eight accumulators, four B values and two A values stay
// in registers (a 4×4 tile spills and runs at half the speed).
var genericGemm = gemmKernel{
	name:  "generic_2x4",
	mr:    2,
	nr:    4,
	kc:    256,
	mc:    512,
	nc:    1024,
	micro: sgemmKernelGeneric2x4,
}

// sgemmKernelGeneric2x4 is the microkernel in plain Go (see gemmKernel
// for the contract).
func sgemmKernelGeneric2x4(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, _ []float32) {
	a0 := a[0*lda : 0*lda+k]
	a1 := a[1*lda : 1*lda+k]
	b = b[:k*4]
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	for p := range a0 {
		bp := b[p*4 : p*4+4 : p*4+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		x, y := a0[p], a1[p]
		c00 += x * b0
		c01 += x * b1
		c02 += x * b2
		c03 += x * b3
		c10 += y * b0
		c11 += y * b1
		c12 += y * b2
		c13 += y * b3
	}
	storeRow4(c[0*ldc:0*ldc+4], c00, c01, c02, c03, alpha, beta)
	storeRow4(c[1*ldc:1*ldc+4], c10, c11, c12, c13, alpha, beta)
}

func storeRow4(c []float32, s0, s1, s2, s3, alpha, beta float32) {
	c = c[:4]
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*s0, alpha*s1, alpha*s2, alpha*s3
		return
	}
	c[0] = alpha*s0 + beta*c[0]
	c[1] = alpha*s1 + beta*c[1]
	c[2] = alpha*s2 + beta*c[2]
	c[3] = alpha*s3 + beta*c[3]
}
