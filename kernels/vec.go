package kernels

import (
	"fmt"
	"math"
)

// Dot returns Σ x[i]*y[i] over len(x); y must be at least as long. The sum
// is accumulated in float32 in several partial sums, as BLAS sdot does.
func Dot(x, y []float32) float32 {
	return active.dot(x, y[:len(x)])
}

// Axpy computes y[i] += alpha*x[i] over len(x).
func Axpy(alpha float32, x, y []float32) {
	active.axpy(alpha, x, y[:len(x)])
}

// Scale computes x[i] *= alpha.
func Scale(alpha float32, x []float32) {
	active.scale(alpha, x)
}

// AddBias adds bias to every row of x, a row-major matrix of len(bias)
// columns: x[r*len(bias)+c] += bias[c].
func AddBias(x, bias []float32) {
	cols := len(bias)
	if cols == 0 {
		return
	}
	if len(x)%cols != 0 {
		panic(fmt.Sprintf("kernels: AddBias: len(x) = %d is not a multiple of len(bias) = %d", len(x), cols))
	}
	for r := 0; r < len(x); r += cols {
		active.add(x[r:r+cols], bias)
	}
}

// Softmax replaces each row of x (row-major, cols columns) by its softmax.
// When mask is not nil it has cols entries added to every row first (0
// to keep a column, a large negative value or -Inf to drop it). The row
// maximum is subtracted before exponentiation, so large scores do not
// overflow, and a dropped column comes out exactly 0. A row whose every
// entry is -Inf becomes all zeros rather than NaN; a NaN or +Inf in a row
// makes the whole row NaN, as in PyTorch.
//
// exp is evaluated in float32 by a degree-6 polynomial after reduction by
// ln 2 (relative error below 2e-7, tested against math.Exp).
func Softmax(x []float32, cols int, mask []float32) {
	if cols <= 0 {
		return
	}
	if len(x)%cols != 0 {
		panic(fmt.Sprintf("kernels: Softmax: len(x) = %d is not a multiple of cols = %d", len(x), cols))
	}
	if mask != nil && len(mask) != cols {
		panic(fmt.Sprintf("kernels: Softmax: len(mask) = %d, want cols = %d", len(mask), cols))
	}
	for r := 0; r < len(x); r += cols {
		softmaxRow(active, x[r:r+cols], mask)
	}
}

func softmaxRow(im *impl, row, mask []float32) {
	if mask != nil {
		im.add(row, mask)
	}
	mx := im.max(row)
	if math.IsInf(float64(mx), -1) {
		clear(row)
		return
	}
	sum := im.expShift(row, mx)
	im.scale(1/sum, row)
}

// LayerNorm normalizes each row of x (cols columns) to zero mean and unit
// variance, then applies gamma and beta: out = (x-μ)/√(σ²+eps)*gamma + beta,
// with the biased variance as PyTorch uses. out may alias x. When mean and
// rstd are not nil they receive each row's μ and 1/√(σ²+eps), which the
// backward pass needs. The mean and variance are accumulated in float64
// (two passes); the normalization runs in float32.
func LayerNorm(out, x, gamma, beta []float32, cols int, eps float32, mean, rstd []float32) {
	if cols <= 0 {
		return
	}
	rows := len(x) / cols
	if len(x)%cols != 0 || len(out) < len(x) || len(gamma) != cols || len(beta) != cols {
		panic(fmt.Sprintf("kernels: LayerNorm: len(x)=%d len(out)=%d len(gamma)=%d len(beta)=%d cols=%d", len(x), len(out), len(gamma), len(beta), cols))
	}
	if (mean != nil && len(mean) < rows) || (rstd != nil && len(rstd) < rows) {
		panic(fmt.Sprintf("kernels: LayerNorm: len(mean)=%d len(rstd)=%d, want %d rows", len(mean), len(rstd), rows))
	}
	for r := range rows {
		mu, rs := layerNormRow(active, out[r*cols:(r+1)*cols], x[r*cols:(r+1)*cols], gamma, beta, eps)
		if mean != nil {
			mean[r] = mu
		}
		if rstd != nil {
			rstd[r] = rs
		}
	}
}

func layerNormRow(im *impl, out, row, gamma, beta []float32, eps float32) (mu, rs float32) {
	n := float64(len(row))
	mu = float32(im.sum(row) / n)
	v := im.sumSq(row, mu) / n
	rs = float32(1 / math.Sqrt(v+float64(eps)))
	im.normAffine(out, row, gamma, beta, mu, rs)
	return mu, rs
}

// GELU computes out[i] = x[i]·Φ(x[i]) with the normal CDF
// Φ(x) = (1+erf(x/√2))/2, as PyTorch's default gelu and BERT use. out may
// alias x.
//
// erf is evaluated in float32 by a degree-7 polynomial on each of eight
// intervals of [0, 4) (and ±1 beyond); it differs from math.Erf by less
// than ErfMaxError (7e-8) for every float32 input, at every dispatch
// level. GELU(-Inf) is NaN, as in PyTorch.
func GELU(out, x []float32) {
	active.gelu(out[:len(x)], x)
}

// ErfMaxError bounds |erf₃₂(x) - math.Erf(x)| for the float32 erf inside
// GELU, over every float32 x: measured exhaustively (TestErfExhaustive
// with KOTODAMA_EXHAUSTIVE=1), the largest error is 6.53e-8 for the
// generic level on amd64 and 6.21e-8 for AVX2, AVX-512 and both arm64
// levels (which evaluate the polynomial with fused multiply-adds), about
// one ulp of erf near 0.5; TestErfBound checks a dense sample at every
// level on every run. GELU's own error is at most |x|/2 times this plus one
// rounding of the result.
const ErfMaxError = 7e-8

// GELUTanh computes the tanh approximation
// out = x/2·(1+tanh(√(2/π)·(x+0.044715x³))), PyTorch's
// gelu(approximate="tanh"), evaluated as x/(1+exp(-2·√(2/π)·(x+0.044715x³))).
func GELUTanh(out, x []float32) {
	active.geluTanh(out[:len(x)], x)
}

// Sum returns Σ x[i], accumulated in float64.
func Sum(x []float32) float32 {
	return float32(active.sum(x))
}

// Max returns the largest element of x, or -Inf when x is empty. A NaN in x
// makes the result NaN.
func Max(x []float32) float32 {
	return active.max(x)
}

// Norm2 returns the Euclidean norm √(Σ x[i]²), accumulated in float64 so
// it neither overflows nor underflows for any float32 input.
func Norm2(x []float32) float32 {
	return float32(math.Sqrt(active.sumSq(x, 0)))
}
