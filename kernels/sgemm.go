package kernels

import "fmt"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
// where op(X) is X or Xᵀ as transA / transB say. op(A) is m×k, op(B) is
// k×n and C is m×n; lda, ldb and ldc are the row strides of A, B and C as
// stored. When beta is zero C is not read, so it may hold NaN.
//
// The plain loop it computes:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for l := 0; l < k; l++ {
//				s += opA(i, l) * opB(l, j)
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//		}
//	}
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	sgemmGeneric(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmStrided computes batch independent products
// C_i = alpha*op(A_i)*op(B_i) + beta*C_i where A_i starts at a[i*strideA],
// B_i at b[i*strideB] and C_i at c[i*strideC]. Attention uses it for the
// per-head QKᵀ and PV products without copying heads apart.
func SgemmStrided(transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda, strideA int, b []float32, ldb, strideB int,
	beta float32, c []float32, ldc, strideC int, batch int) {
	if batch < 0 {
		panic(fmt.Sprintf("kernels: SgemmStrided: batch = %d < 0", batch))
	}
	if batch == 0 {
		return
	}
	if strideA < 0 || strideB < 0 || strideC < 0 {
		panic(fmt.Sprintf("kernels: SgemmStrided: negative stride (%d, %d, %d)", strideA, strideB, strideC))
	}
	last := batch - 1
	checkGemm(transA, transB, m, n, k, a[min(len(a), last*strideA):], lda, b[min(len(b), last*strideB):], ldb, c[min(len(c), last*strideC):], ldc)
	for i := 0; i < batch; i++ {
		sgemmGeneric(transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, c[i*strideC:], ldc)
	}
}

// checkGemm panics, naming the argument, when the sizes, leading
// dimensions or slice lengths cannot describe the product.
func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Sgemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	if lda < max(1, colsA) {
		panic(fmt.Sprintf("kernels: Sgemm: lda = %d < %d", lda, max(1, colsA)))
	}
	if ldb < max(1, colsB) {
		panic(fmt.Sprintf("kernels: Sgemm: ldb = %d < %d", ldb, max(1, colsB)))
	}
	if ldc < max(1, n) {
		panic(fmt.Sprintf("kernels: Sgemm: ldc = %d < %d", ldc, max(1, n)))
	}
	if need := span(rowsA, colsA, lda); len(a) < need && m > 0 && k > 0 {
		panic(fmt.Sprintf("kernels: Sgemm: len(a) = %d < %d", len(a), need))
	}
	if need := span(rowsB, colsB, ldb); len(b) < need && n > 0 && k > 0 {
		panic(fmt.Sprintf("kernels: Sgemm: len(b) = %d < %d", len(b), need))
	}
	if need := span(m, n, ldc); len(c) < need {
		panic(fmt.Sprintf("kernels: Sgemm: len(c) = %d < %d", len(c), need))
	}
}

// span is the number of elements a rows×cols matrix with row stride ld
// occupies: the last row need not be padded to ld.
func span(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

// sgemmGeneric is the reference loop nest: it is the oracle the fast paths
// are tested against and the fallback where no microkernel exists.
func sgemmGeneric(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
		if alpha == 0 || k == 0 {
			continue
		}
		for l := 0; l < k; l++ {
			var av float32
			if transA {
				av = a[l*lda+i]
			} else {
				av = a[i*lda+l]
			}
			av *= alpha
			if transB {
				for j := range ci {
					ci[j] += av * b[j*ldb+l]
				}
			} else {
				bl := b[l*ldb : l*ldb+n]
				for j := range ci {
					ci[j] += av * bl[j]
				}
			}
		}
	}
}
