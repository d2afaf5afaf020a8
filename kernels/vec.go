package kernels

import (
	"fmt"
	"math"
)

// Dot returns Σ x[i]*y[i] over len(x); y must be at least as long.
func Dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// Axpy computes y[i] += alpha*x[i] over len(x).
func Axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// Scale computes x[i] *= alpha.
func Scale(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
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
		row := x[r : r+cols]
		for c, b := range bias {
			row[c] += b
		}
	}
}

// Softmax replaces each row of x (row-major, cols columns) by its softmax.
// When mask is not nil it has cols entries added to every row first (0
// to keep a column, a large negative value to drop it). The row maximum is
// subtracted before exponentiation, so large scores do not overflow. A row
// whose every entry is -Inf becomes all zeros rather than NaN.
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
		row := x[r : r+cols]
		if mask != nil {
			for c, m := range mask {
				row[c] += m
			}
		}
		mx := float32(math.Inf(-1))
		for _, v := range row {
			mx = max(mx, v)
		}
		if math.IsInf(float64(mx), -1) {
			clear(row)
			continue
		}
		var sum float32
		for c, v := range row {
			e := float32(math.Exp(float64(v - mx)))
			row[c] = e
			sum += e
		}
		inv := 1 / sum
		for c := range row {
			row[c] *= inv
		}
	}
}

// LayerNorm normalizes each row of x (cols columns) to zero mean and unit
// variance, then applies gamma and beta: out = (x-μ)/√(σ²+eps)*gamma + beta,
// with the biased variance as PyTorch uses. out may alias x. When mean and
// rstd are not nil they receive each row's μ and 1/√(σ²+eps), which the
// backward pass needs.
func LayerNorm(out, x, gamma, beta []float32, cols int, eps float32, mean, rstd []float32) {
	if cols <= 0 {
		return
	}
	rows := len(x) / cols
	if len(x)%cols != 0 || len(out) < len(x) || len(gamma) != cols || len(beta) != cols {
		panic(fmt.Sprintf("kernels: LayerNorm: len(x)=%d len(out)=%d len(gamma)=%d len(beta)=%d cols=%d", len(x), len(out), len(gamma), len(beta), cols))
	}
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		mu := s / float64(cols)
		var ss float64
		for _, v := range row {
			d := float64(v) - mu
			ss += d * d
		}
		rs := 1 / math.Sqrt(ss/float64(cols)+float64(eps))
		o := out[r*cols : (r+1)*cols]
		for c, v := range row {
			o[c] = float32((float64(v)-mu)*rs)*gamma[c] + beta[c]
		}
		if mean != nil {
			mean[r] = float32(mu)
		}
		if rstd != nil {
			rstd[r] = float32(rs)
		}
	}
}

// GELU computes out[i] = x[i]·Φ(x[i]) with the exact normal CDF
// Φ(x) = (1+erf(x/√2))/2, as PyTorch's default gelu and BERT use. out may
// alias x.
func GELU(out, x []float32) {
	out = out[:len(x)]
	for i, v := range x {
		out[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
}

// GELUTanh computes the tanh approximation
// out = x/2·(1+tanh(√(2/π)·(x+0.044715x³))), PyTorch's gelu(approximate="tanh").
func GELUTanh(out, x []float32) {
	out = out[:len(x)]
	const c = 0.7978845608028654 // √(2/π)
	for i, v := range x {
		f := float64(v)
		out[i] = float32(0.5 * f * (1 + math.Tanh(c*(f+0.044715*f*f*f))))
	}
}

// Sum returns Σ x[i].
func Sum(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

// Max returns the largest element of x, or -Inf when x is empty. A NaN in x
// makes the result NaN.
func Max(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m || v != v {
			m = v
			if v != v {
				return m
			}
		}
	}
	return m
}

// Norm2 returns the Euclidean norm √(Σ x[i]²).
func Norm2(x []float32) float32 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return float32(math.Sqrt(s))
}
