//go:build !purego

package kernels

// vecNEON swaps in the NEON vector kernels. Go's arm64 assembler has
// fused multiply-add but no other float vector arithmetic, so only the
// kernels built from FMAs are here (dot, axpy); the rest stay generic.
func vecNEON(im *impl) {
	im.dot = func(x, y []float32) float32 {
		y = y[:len(x)]
		n := len(x) &^ 15
		var s float32
		if n > 0 {
			var p [16]float32
			dotNEON(&x[0], &y[0], n, &p)
			for _, v := range p {
				s += v
			}
		}
		return s + dotGeneric(x[n:], y[n:])
	}
	im.axpy = func(alpha float32, x, y []float32) {
		y = y[:len(x)]
		n := len(x) &^ 15
		if n > 0 {
			axpyNEON(alpha, &x[0], &y[0], n)
		}
		axpyGeneric(alpha, x[n:], y[n:])
	}
}

// dotNEON accumulates x[i]*y[i] for i < n (a multiple of 16) into 16
// partial sums: partial[j] = Σ x[16t+j]*y[16t+j].
//
//go:noescape
func dotNEON(x, y *float32, n int, partial *[16]float32)

// axpyNEON: for i < n { y[i] += alpha*x[i] }, n a multiple of 16.
//
//go:noescape
func axpyNEON(alpha float32, x, y *float32, n int)
