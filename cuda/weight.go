//go:build cuda

package cuda

import "github.com/kotodama-ai/kotodama/kernels"

// PackWeight implements kernels.Backend. cuBLAS reads the transposed
// operand as stored, and there is no packing to save, so the Weight is w
// itself, left unchanged.
func (d *Device) PackWeight(w kernels.Buf, out, in int) kernels.Weight {
	checkSizes("PackWeight", out, in)
	dev("PackWeight", "w", w, out*in)
	return kernels.PlainWeight(w, out, in)
}

// GemmWeight implements kernels.Backend: Gemm with W transposed.
func (d *Device) GemmWeight(m int, alpha float32, a kernels.Buf, lda int, w kernels.Weight, beta float32, c kernels.Buf, ldc int) {
	d.Gemm(false, true, m, w.Out(), w.In(), alpha, a, lda, w.Plain(), max(1, w.In()), beta, c, ldc)
}
