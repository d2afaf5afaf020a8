package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkVec measures each vector kernel at every level on BERT-sized
// rows (hidden 768, FFN 3072, attention rows of 128), e.g.
// BenchmarkVec/gelu/avx512/n=3072, with bytes/s of float32 input.
func BenchmarkVec(b *testing.B) {
	x := make([]float32, 3072)
	y := make([]float32, 3072)
	g := make([]float32, 3072)
	h := make([]uint16, 3072)
	for i := range x {
		x[i] = float32(i%97)*0.05 - 2.4
		y[i] = float32(i%89) * 0.01
		g[i] = 1
	}
	for _, im := range levels {
		for _, k := range []struct {
			name string
			n    int
			f    func(n int)
		}{
			{"dot", 768, func(n int) { im.dot(x[:n], y[:n]) }},
			{"axpy", 768, func(n int) { im.axpy(0.5, x[:n], y[:n]) }},
			{"sum", 768, func(n int) { im.sum(x[:n]) }},
			{"max", 768, func(n int) { im.max(x[:n]) }},
			{"softmax", 128, func(n int) { copy(y[:n], x[:n]); softmaxRow(im, y[:n], nil) }},
			{"layernorm", 768, func(n int) { layerNormRow(im, y[:n], x[:n], g[:n], y[:n], 1e-12) }},
			{"gelu", 3072, func(n int) { im.gelu(y[:n], x[:n]) }},
			{"geluTanh", 3072, func(n int) { im.geluTanh(y[:n], x[:n]) }},
			{"f32ToF16", 3072, func(n int) { im.f32ToF16(h[:n], x[:n]) }},
			{"f16ToF32", 3072, func(n int) { im.f16ToF32(y[:n], h[:n]) }},
			{"f32ToBF16", 3072, func(n int) { im.f32ToBF16(h[:n], x[:n]) }},
		} {
			b.Run(fmt.Sprintf("%s/%s/n=%d", k.name, im.level, k.n), func(b *testing.B) {
				b.SetBytes(int64(4 * k.n))
				for b.Loop() {
					k.f(k.n)
				}
			})
		}
	}
}
