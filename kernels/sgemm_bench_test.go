package kernels

import (
	"fmt"
	"testing"
)

// benchShapes are BERT-base's GEMMs (batch 32 × 128 tokens = 4096 rows,
// hidden 768, FFN 3072, 12 heads of 64) plus the square 1024 of the peer
// benchmark. transB marks weights stored as PyTorch does, out×in.
var benchShapes = []struct {
	m, n, k int
	transB  bool
}{
	{1024, 1024, 1024, false},
	{4096, 768, 768, true},  // Q, K, V and attention output projections
	{4096, 3072, 768, true}, // FFN up
	{4096, 768, 3072, true}, // FFN down
	{128, 768, 768, true},   // one sequence through a projection
	{128, 128, 64, true},    // one head's QKᵀ
	{128, 64, 128, false},   // one head's PV
}

// BenchmarkSgemm measures every level on every shape with the default
// pool, e.g. BenchmarkSgemm/avx512/m=4096/n=768/k=768/transB.
func BenchmarkSgemm(b *testing.B) {
	for _, im := range levels {
		for _, s := range benchShapes {
			name := fmt.Sprintf("%s/m=%d/n=%d/k=%d", im.level, s.m, s.n, s.k)
			if s.transB {
				name += "/transB"
			}
			b.Run(name, func(b *testing.B) {
				benchGemm(b, Default(), im, s.m, s.n, s.k, s.transB)
			})
		}
	}
}

func benchGemm(b *testing.B, p *Pool, im *impl, m, n, k int, transB bool) {
	a := make([]float32, m*k)
	bb := make([]float32, k*n)
	c := make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%17) * 0.01
	}
	for i := range bb {
		bb[i] = float32(i%13) * 0.01
	}
	ldb := n
	if transB {
		ldb = k
	}
	for b.Loop() {
		p.gemm(im.gemm, false, transB, m, n, k, 1, a, k, bb, ldb, 0, c, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
