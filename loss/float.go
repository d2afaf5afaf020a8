package loss

import "github.com/kotodama-ai/kotodama/kernels"

// float is the element type of the loss computations: float32 in use,
// float64 in the tests that check the gradients by finite differences, so
// those checks run exactly the code that trains.
type float interface{ ~float32 | ~float64 }

// gemm computes C = alpha*op(A)*op(B) + beta*C (row-major) with the kernels
// package for float32 and a plain loop for float64.
func gemm[T float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if a32, ok := any(a).([]float32); ok {
		kernels.Sgemm(transA, transB, m, n, k, float32(alpha), a32, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
		return
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s T
			for l := 0; l < k; l++ {
				var av, bv T
				if transA {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if transB {
					bv = b[j*ldb+l]
				} else {
					bv = b[l*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// dot returns Σ x[i]*y[i], accumulated in float64.
func dot[T float](x, y []T) float64 {
	var s float64
	for i, v := range x {
		s += float64(v) * float64(y[i])
	}
	return s
}
