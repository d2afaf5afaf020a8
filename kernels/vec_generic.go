package kernels

import "math"

// The pure-Go level: the kernels every other level is tested against
// (besides the float64 references in the tests), and the tails that the
// vector levels leave over.

func dotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scaleGeneric(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

func addGeneric(y, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += x[i]
	}
}

func sumGeneric(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

func maxGeneric(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		} else if v != v {
			return v
		}
	}
	return m
}

func sumSqGeneric(x []float32, mu float32) float64 {
	var s float64
	for _, v := range x {
		d := float64(v - mu)
		s += d * d
	}
	return s
}

func expShiftGeneric(x []float32, shift float32) float32 {
	var s float32
	for i, v := range x {
		e := exp32(v - shift)
		x[i] = e
		s += e
	}
	return s
}

func normAffineGeneric(out, x, gamma, beta []float32, mu, rstd float32) {
	out = out[:len(x)]
	gamma = gamma[:len(x)]
	beta = beta[:len(x)]
	for i, v := range x {
		out[i] = (v-mu)*rstd*gamma[i] + beta[i]
	}
}

func geluGeneric(out, x []float32) {
	out = out[:len(x)]
	for i, v := range x {
		out[i] = 0.5 * v * (1 + erf32(v*(1/math.Sqrt2)))
	}
}

func erfGeneric(out, x []float32) {
	out = out[:len(x)]
	for i, v := range x {
		out[i] = erf32(v)
	}
}

// geluTanhC is √(2/π).
const geluTanhC = 0.7978845608028654

func geluTanhGeneric(out, x []float32) {
	out = out[:len(x)]
	for i, v := range x {
		// x/2·(1+tanh(y)) = x·sigmoid(2y) = x/(1+exp(-2y)).
		y := geluTanhC * (v + 0.044715*v*v*v)
		out[i] = v / (1 + exp32(-2*y))
	}
}

// Constants of exp32: log₂e, and ln 2 split so that n·ln2Hi is exact for
// the |n| <= 128 that occur.
const (
	log2e   = 1.44269504088896341
	ln2Hi   = 0.693359375
	ln2Lo   = -2.12194440e-4
	expHi   = 88.72283935546875  // largest x whose exp is finite in float32
	expLo   = -87.33654022216797 // smallest x whose exp is normal in float32
	erfSat  = 4                  // erf(z) rounds to ±1 in float32 for |z| >= 4
	erfBits = 0x7fffffff
)

// exp32 is the float32 exp that the vector levels compute lane by lane:
// x = n·ln2 + r with |r| <= ln2/2, exp(x) = 2ⁿ·p(r). Results below the
// normal range are 0, above it +Inf; NaN stays NaN.
func exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < expLo:
		return 0
	case x > expHi:
		return float32(math.Inf(1))
	}
	n := float32(math.RoundToEven(float64(x * log2e)))
	r := x - n*ln2Hi
	r -= n * ln2Lo
	c := &expCoef
	p := c[6]
	p = p*r + c[5]
	p = p*r + c[4]
	p = p*r + c[3]
	p = p*r + c[2]
	p = p*r + c[1]
	p = p*r + c[0]
	// 2ⁿ is built in two halves so that n = 128 (x just below expHi) does
	// not overflow the exponent field.
	h := int32(n) / 2
	s1 := math.Float32frombits(uint32(h+127) << 23)
	s2 := math.Float32frombits(uint32(int32(n)-h+127) << 23)
	return p * s1 * s2
}

// erf32 is the float32 erf that the vector levels compute lane by lane:
// a degree-7 polynomial on each half-unit interval of [0, 4), odd
// symmetry, and ±1 beyond 4.
func erf32(x float32) float32 {
	z := math.Float32frombits(math.Float32bits(x) & erfBits)
	if !(z < erfSat) { // also NaN
		if z != z {
			return x
		}
		z = erfSat
	}
	i := min(int(z*2), 7)
	t := z - erfCenter[i]
	c := &erfCoef
	p := c[7][i]
	p = p*t + c[6][i]
	p = p*t + c[5][i]
	p = p*t + c[4][i]
	p = p*t + c[3][i]
	p = p*t + c[2][i]
	p = p*t + c[1][i]
	p = p*t + c[0][i]
	return math.Float32frombits(math.Float32bits(p) | math.Float32bits(x)&^erfBits)
}
