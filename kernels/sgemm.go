package kernels

import "fmt"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
// where op(X) is X or Xᵀ as transA / transB say. op(A) is m×k, op(B) is
// k×n and C is m×n; lda, ldb and ldc are the row strides of A, B and C as
// stored. It runs on the Default pool; see Pool.Sgemm to choose threads.
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
//
// Special values follow reference BLAS. When beta is zero C is not read,
// so it may hold NaN. When alpha is zero (or k is zero) A and B are not
// read: C becomes beta*C, and NaN or Inf in A or B does not reach C.
// Otherwise NaN and Inf in A, B and C propagate by IEEE arithmetic
// (Inf·0 is NaN). Sums are evaluated in blocked order with fused
// multiply-adds, so results differ from the plain loop by rounding.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	Default().Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemm is the package-level Sgemm on p's threads.
func (p *Pool) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	p.gemm(active.gemm, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmStrided computes batch independent products
// C_i = alpha*op(A_i)*op(B_i) + beta*C_i where A_i starts at a[i*strideA],
// B_i at b[i*strideB] and C_i at c[i*strideC]; the C_i must not overlap.
// Attention uses it for the per-head QKᵀ and PV products without copying
// heads apart. It runs on the
// Default pool; see Pool.SgemmStrided to choose threads.
func SgemmStrided(transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda, strideA int, b []float32, ldb, strideB int,
	beta float32, c []float32, ldc, strideC int, batch int) {
	Default().SgemmStrided(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch)
}

// SgemmStrided is the package-level SgemmStrided on p's threads. Small
// products run in parallel across the batch, large ones one after another
// with each product parallel.
func (p *Pool) SgemmStrided(transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda, strideA int, b []float32, ldb, strideB int,
	beta float32, c []float32, ldc, strideC int, batch int) {
	checkStrided(transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch)
	p.gemmStrided(active.gemm, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch)
}

func (p *Pool) gemmStrided(gk *gemmKernel, transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda, strideA int, b []float32, ldb, strideB int,
	beta float32, c []float32, ldc, strideC int, batch int) {
	if batch >= p.threads || m*n*k < p.parallelMinWork() {
		t := p.newTask()
		t.stridedBody = stridedBatch{gk: gk, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
			a: a, lda: lda, strideA: strideA, b: b, ldb: ldb, strideB: strideB, beta: beta, c: c, ldc: ldc, strideC: strideC}
		t.body = &t.stridedBody
		p.run(t, batch)
		return
	}
	for i := range batch {
		p.gemm(gk, transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, c[i*strideC:], ldc)
	}
}

// stridedBatch is a parallel SgemmStrided: item i is product i, run on
// its own goroutine.
type stridedBatch struct {
	gk                        *gemmKernel
	transA, transB            bool
	m, n, k                   int
	alpha, beta               float32
	a, b, c                   []float32
	lda, ldb, ldc             int
	strideA, strideB, strideC int
}

func (s *stridedBatch) item(i int) {
	// Empty operands may start past the end of their slice.
	a, b, c := s.a[min(len(s.a), i*s.strideA):], s.b[min(len(s.b), i*s.strideB):], s.c[min(len(s.c), i*s.strideC):]
	serialPool.gemm(s.gk, s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, s.lda, b, s.ldb, s.beta, c, s.ldc)
}

// serialPool runs on the calling goroutine; it starts no goroutines.
var serialPool = NewPool(1)

// checkStrided panics, naming the argument, when SgemmStrided's arguments
// cannot describe the batch.
func checkStrided(transA, transB bool, m, n, k int, a []float32, lda, strideA int, b []float32, ldb, strideB int, c []float32, ldc, strideC int, batch int) {
	if batch < 0 {
		panic(fmt.Sprintf("kernels: SgemmStrided: batch = %d < 0", batch))
	}
	if strideA < 0 || strideB < 0 || strideC < 0 {
		panic(fmt.Sprintf("kernels: SgemmStrided: negative stride (%d, %d, %d)", strideA, strideB, strideC))
	}
	if batch == 0 {
		return
	}
	last := batch - 1
	checkGemm(transA, transB, m, n, k, a[min(len(a), last*strideA):], lda, b[min(len(b), last*strideB):], ldb, c[min(len(c), last*strideC):], ldc)
	// Products of C must not overlap, or parallel items would race.
	if batch > 1 && m > 0 && n > 0 && strideC < span(m, n, ldc) {
		panic(fmt.Sprintf("kernels: SgemmStrided: strideC = %d < %d, the span of one C", strideC, span(m, n, ldc)))
	}
}

// checkGemm panics, naming the argument, when the sizes, leading
// dimensions or slice lengths cannot describe the product.
func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	checkAC(m, n, k, transA, a, lda, c, ldc)
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	if ldb < max(1, colsB) {
		panic(fmt.Sprintf("kernels: Sgemm: ldb = %d < %d", ldb, max(1, colsB)))
	}
	if need := span(rowsB, colsB, ldb); len(b) < need && n > 0 && k > 0 {
		panic(fmt.Sprintf("kernels: Sgemm: len(b) = %d < %d", len(b), need))
	}
}

// checkAC checks the sizes and the A and C operands of a product.
func checkAC(m, n, k int, transA bool, a []float32, lda int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Sgemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	if lda < max(1, colsA) {
		panic(fmt.Sprintf("kernels: Sgemm: lda = %d < %d", lda, max(1, colsA)))
	}
	if ldc < max(1, n) {
		panic(fmt.Sprintf("kernels: Sgemm: ldc = %d < %d", ldc, max(1, n)))
	}
	if need := span(rowsA, colsA, lda); len(a) < need && m > 0 && k > 0 {
		panic(fmt.Sprintf("kernels: Sgemm: len(a) = %d < %d", len(a), need))
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

// sgemmGeneric is the reference loop nest, kept as the oracle that the
// blocked paths are tested against.
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
