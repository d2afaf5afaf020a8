//go:build !purego

package kernels

import "math"

// The Go sides of the vector kernels in vec_avx512_amd64.s and
// vec_avx2_amd64.s. The AVX-512 kernels handle every length themselves
// (a masked last vector); the AVX2 ones take whole vectors of 8 and leave
// the tail to the generic code. Each assembly declaration's comment shows
// the loop it computes.

func vecAVX512(im *impl) {
	im.dot = func(x, y []float32) float32 {
		if len(x) == 0 {
			return 0
		}
		_ = y[len(x)-1]
		return dotAVX512(&x[0], &y[0], len(x))
	}
	im.axpy = func(alpha float32, x, y []float32) {
		if len(x) == 0 {
			return
		}
		_ = y[len(x)-1]
		axpyAVX512(alpha, &x[0], &y[0], len(x))
	}
	im.scale = func(alpha float32, x []float32) {
		if len(x) > 0 {
			scaleAVX512(alpha, &x[0], len(x))
		}
	}
	im.add = func(y, x []float32) {
		if len(y) == 0 {
			return
		}
		_ = x[len(y)-1]
		addAVX512(&y[0], &x[0], len(y))
	}
	im.sum = func(x []float32) float64 {
		if len(x) == 0 {
			return 0
		}
		return sumAVX512(&x[0], len(x))
	}
	im.max = func(x []float32) float32 {
		if len(x) == 0 {
			return float32(math.Inf(-1))
		}
		return maxAVX512(&x[0], len(x))
	}
	im.sumSq = func(x []float32, mu float32) float64 {
		if len(x) == 0 {
			return 0
		}
		return sumSqAVX512(&x[0], len(x), mu)
	}
	im.expShift = func(x []float32, shift float32) float32 {
		if len(x) == 0 {
			return 0
		}
		return expShiftAVX512(&x[0], len(x), shift)
	}
	im.normAffine = func(out, x, gamma, beta []float32, mu, rstd float32) {
		if len(x) == 0 {
			return
		}
		_, _, _ = out[len(x)-1], gamma[len(x)-1], beta[len(x)-1]
		normAffineAVX512(&out[0], &x[0], &gamma[0], &beta[0], len(x), mu, rstd)
	}
	im.gelu = unary(geluAVX512)
	im.geluTanh = unary(geluTanhAVX512)
	im.erf = unary(erfAVX512)
	im.f16ToF32 = halfTo(f16ToF32AVX512, f16ToF32Generic, 16)
	im.bf16ToF32 = halfTo(bf16ToF32AVX512, bf16ToF32Generic, 16)
	im.f32ToF16 = toHalf(f32ToF16AVX512, f32ToF16Generic, 16)
	im.f32ToBF16 = toHalf(f32ToBF16AVX512, f32ToBF16Generic, 16)
}

func vecAVX2(im *impl) {
	im.dot = func(x, y []float32) float32 {
		y = y[:len(x)]
		n := len(x) &^ 7
		var s float32
		if n > 0 {
			s = dotAVX2(&x[0], &y[0], n)
		}
		return s + dotGeneric(x[n:], y[n:])
	}
	im.axpy = func(alpha float32, x, y []float32) {
		y = y[:len(x)]
		n := len(x) &^ 7
		if n > 0 {
			axpyAVX2(alpha, &x[0], &y[0], n)
		}
		axpyGeneric(alpha, x[n:], y[n:])
	}
	im.scale = func(alpha float32, x []float32) {
		n := len(x) &^ 7
		if n > 0 {
			scaleAVX2(alpha, &x[0], n)
		}
		scaleGeneric(alpha, x[n:])
	}
	im.add = func(y, x []float32) {
		x = x[:len(y)]
		n := len(y) &^ 7
		if n > 0 {
			addAVX2(&y[0], &x[0], n)
		}
		addGeneric(y[n:], x[n:])
	}
	im.sum = func(x []float32) float64 {
		n := len(x) &^ 7
		var s float64
		if n > 0 {
			s = sumAVX2(&x[0], n)
		}
		return s + sumGeneric(x[n:])
	}
	im.max = func(x []float32) float32 {
		n := len(x) &^ 7
		m := maxGeneric(x[n:])
		if n > 0 {
			m = max(m, maxAVX2(&x[0], n))
		}
		return m
	}
	im.sumSq = func(x []float32, mu float32) float64 {
		n := len(x) &^ 7
		var s float64
		if n > 0 {
			s = sumSqAVX2(&x[0], n, mu)
		}
		return s + sumSqGeneric(x[n:], mu)
	}
	im.expShift = func(x []float32, shift float32) float32 {
		n := len(x) &^ 7
		var s float32
		if n > 0 {
			s = expShiftAVX2(&x[0], n, shift)
		}
		return s + expShiftGeneric(x[n:], shift)
	}
	im.normAffine = func(out, x, gamma, beta []float32, mu, rstd float32) {
		out, gamma, beta = out[:len(x)], gamma[:len(x)], beta[:len(x)]
		n := len(x) &^ 7
		if n > 0 {
			normAffineAVX2(&out[0], &x[0], &gamma[0], &beta[0], n, mu, rstd)
		}
		normAffineGeneric(out[n:], x[n:], gamma[n:], beta[n:], mu, rstd)
	}
	im.gelu = unaryTail(geluAVX2, geluGeneric)
	im.geluTanh = unaryTail(geluTanhAVX2, geluTanhGeneric)
	im.erf = unaryTail(erfAVX2, erfGeneric)
	im.f16ToF32 = halfTo(f16ToF32AVX2, f16ToF32Generic, 8)
	im.bf16ToF32 = halfTo(bf16ToF32AVX2, bf16ToF32Generic, 8)
	im.f32ToF16 = toHalf(f32ToF16AVX2, f32ToF16Generic, 8)
	im.f32ToBF16 = toHalf(f32ToBF16AVX2, f32ToBF16Generic, 8)
}

// unary wraps an out = f(x) kernel that handles every length.
func unary(k func(out, x *float32, n int)) func(out, x []float32) {
	return func(out, x []float32) {
		if len(x) == 0 {
			return
		}
		_ = out[len(x)-1]
		k(&out[0], &x[0], len(x))
	}
}

// unaryTail wraps an out = f(x) kernel of whole 8-vectors, finishing the
// tail with the generic code.
func unaryTail(k func(out, x *float32, n int), tail func(out, x []float32)) func(out, x []float32) {
	return func(out, x []float32) {
		out = out[:len(x)]
		n := len(x) &^ 7
		if n > 0 {
			k(&out[0], &x[0], n)
		}
		tail(out[n:], x[n:])
	}
}

// halfTo and toHalf wrap conversion kernels of whole vectors of w.
func halfTo(k func(dst *float32, src *uint16, n int), tail func([]float32, []uint16), w int) func([]float32, []uint16) {
	return func(dst []float32, src []uint16) {
		dst = dst[:len(src)]
		n := len(src) / w * w
		if n > 0 {
			k(&dst[0], &src[0], n)
		}
		tail(dst[n:], src[n:])
	}
}

func toHalf(k func(dst *uint16, src *float32, n int), tail func([]uint16, []float32), w int) func([]uint16, []float32) {
	return func(dst []uint16, src []float32) {
		dst = dst[:len(src)]
		n := len(src) / w * w
		if n > 0 {
			k(&dst[0], &src[0], n)
		}
		tail(dst[n:], src[n:])
	}
}

// avx2Const holds the constants of the AVX2 kernels, each repeated across
// a 256-bit row so the assembly can use it as a memory operand; the
// assembly names the rows by their byte offsets (C_* in
// vec_avx2_amd64.s), in this order.
var avx2Const = func() (c [22][8]uint32) {
	f := math.Float32bits
	rows := []uint32{
		f(log2e), f(ln2Hi), f(ln2Lo), f(expHi), f(expLo), // 0-4
		f(expCoef[0]), f(expCoef[1]), f(expCoef[2]), f(expCoef[3]), f(expCoef[4]), f(expCoef[5]), f(expCoef[6]), // 5-11
		127,                      // 12: exponent bias
		erfBits, f(erfSat), f(2), // 13-15: |x| mask, 4.0, intervals per unit
		7,                               // 16: last interval
		f(1 / math.Sqrt2), f(0.5), f(1), // 17-19
		f(0.044715), f(-2 * geluTanhC), // 20-21
	}
	for i, v := range rows {
		for j := range c[i] {
			c[i][j] = v
		}
	}
	return c
}()

// bf16Const: |x| mask, +Inf, 1, 0x7fff, 0x40 (quiet bit of a bf16 NaN).
var bf16Const = func() (c [5][8]uint32) {
	for i, v := range []uint32{0x7fffffff, 0x7f800000, 1, 0x7fff, 0x40} {
		for j := range c[i] {
			c[i][j] = v
		}
	}
	return c
}()

// dotAVX512 returns Σ x[i]*y[i] for i < n.
//
//go:noescape
func dotAVX512(x, y *float32, n int) float32

// axpyAVX512: for i < n { y[i] += alpha * x[i] }.
//
//go:noescape
func axpyAVX512(alpha float32, x, y *float32, n int)

// scaleAVX512: for i < n { x[i] *= alpha }.
//
//go:noescape
func scaleAVX512(alpha float32, x *float32, n int)

// addAVX512: for i < n { y[i] += x[i] }.
//
//go:noescape
func addAVX512(y, x *float32, n int)

// sumAVX512 returns Σ float64(x[i]) for i < n.
//
//go:noescape
func sumAVX512(x *float32, n int) float64

// maxAVX512 returns the largest x[i] for i < n (n > 0), NaN if any is.
//
//go:noescape
func maxAVX512(x *float32, n int) float32

// sumSqAVX512 returns Σ float64(x[i]-mu)² for i < n.
//
//go:noescape
func sumSqAVX512(x *float32, n int, mu float32) float64

// expShiftAVX512: for i < n { x[i] = exp32(x[i] - shift); s += x[i] }; return s.
//
//go:noescape
func expShiftAVX512(x *float32, n int, shift float32) float32

// normAffineAVX512: for i < n { out[i] = (x[i]-mu)*rstd*gamma[i] + beta[i] }.
//
//go:noescape
func normAffineAVX512(out, x, gamma, beta *float32, n int, mu, rstd float32)

// geluAVX512: for i < n { out[i] = 0.5*x[i]*(1 + erf32(x[i]/√2)) }.
//
//go:noescape
func geluAVX512(out, x *float32, n int)

// geluTanhAVX512: for i < n { out[i] = x[i]/(1 + exp32(-2√(2/π)(x[i]+0.044715x[i]³))) }.
//
//go:noescape
func geluTanhAVX512(out, x *float32, n int)

// erfAVX512: for i < n { out[i] = erf32(x[i]) }.
//
//go:noescape
func erfAVX512(out, x *float32, n int)

// f16ToF32AVX512: for i < n { dst[i] = f16ToF32(src[i]) }, n a multiple of 16.
//
//go:noescape
func f16ToF32AVX512(dst *float32, src *uint16, n int)

// f32ToF16AVX512: for i < n { dst[i] = f32ToF16(src[i]) }, n a multiple of 16.
//
//go:noescape
func f32ToF16AVX512(dst *uint16, src *float32, n int)

// bf16ToF32AVX512: for i < n { dst[i] = bf16 src[i] widened }, n a multiple of 16.
//
//go:noescape
func bf16ToF32AVX512(dst *float32, src *uint16, n int)

// f32ToBF16AVX512: for i < n { dst[i] = src[i] rounded to bf16 }, n a multiple of 16.
//
//go:noescape
func f32ToBF16AVX512(dst *uint16, src *float32, n int)

// The AVX2 kernels compute the same loops for n a multiple of 8.

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

//go:noescape
func scaleAVX2(alpha float32, x *float32, n int)

//go:noescape
func addAVX2(y, x *float32, n int)

//go:noescape
func sumAVX2(x *float32, n int) float64

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func sumSqAVX2(x *float32, n int, mu float32) float64

//go:noescape
func expShiftAVX2(x *float32, n int, shift float32) float32

//go:noescape
func normAffineAVX2(out, x, gamma, beta *float32, n int, mu, rstd float32)

//go:noescape
func geluAVX2(out, x *float32, n int)

//go:noescape
func geluTanhAVX2(out, x *float32, n int)

//go:noescape
func erfAVX2(out, x *float32, n int)

//go:noescape
func f16ToF32AVX2(dst *float32, src *uint16, n int)

//go:noescape
func f32ToF16AVX2(dst *uint16, src *float32, n int)

//go:noescape
func bf16ToF32AVX2(dst *float32, src *uint16, n int)

//go:noescape
func f32ToBF16AVX2(dst *uint16, src *float32, n int)
