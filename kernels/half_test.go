package kernels

import (
	"math"
	"testing"
)

// refF16ToF32 decodes a half from its fields, independently of the
// kernels.
func refF16ToF32(h uint16) float32 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10&0x1f), float64(h&0x3ff)
	switch {
	case e == 0x1f && m == 0:
		return float32(math.Inf(int(sign)))
	case e == 0x1f:
		return math.Float32frombits(uint32(h&0x8000)<<16 | 0x7fc00000 | uint32(h&0x3ff)<<13) // quiet
	case e == 0:
		return float32(sign * math.Ldexp(m, -24))
	}
	return float32(sign * math.Ldexp(1024+m, e-25))
}

// refRound rounds |x| (finite, a float32) to a binary format with p
// significand bits (implicit bit included), minimum normal exponent emin
// and maximum exponent emax, ties to even, and returns the bits of the
// result below the sign: (biased exponent) << (p-1) | fraction, or the
// infinity encoding on overflow.
func refRound(x float64, p, emin, emax int) uint32 {
	x = math.Abs(x)
	if x == 0 {
		return 0
	}
	_, e := math.Frexp(x) // x = f·2^e, f in [0.5, 1)
	e--                   // x = f'·2^e, f' in [1, 2)
	if e < emin {
		e = emin // subnormal: fixed spacing
	}
	q := math.RoundToEven(math.Ldexp(x, p-1-e))
	if q >= math.Ldexp(1, p) { // rounding carried into the next binade
		q /= 2
		e++
	}
	bias := 1 - emin
	if e > emax {
		return uint32(emax+bias+1) << (p - 1)
	}
	if q < math.Ldexp(1, p-1) { // subnormal
		return uint32(q)
	}
	return uint32(e+bias)<<(p-1) | uint32(q-math.Ldexp(1, p-1))
}

func refF32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	if f != f {
		return sign | 0x7e00 | uint16(b>>13&0x3ff)
	}
	if math.IsInf(float64(f), 0) {
		return sign | 0x7c00
	}
	return sign | uint16(refRound(float64(f), 11, -14, 15))
}

func refF32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	if f != f {
		return uint16(b>>16) | 0x40
	}
	if math.IsInf(float64(f), 0) {
		return sign | 0x7f80
	}
	return sign | uint16(refRound(float64(f), 8, -126, 127))
}

// halfInputs is every half and bfloat16 bit pattern, in an odd-length
// slice so every vector tail is taken.
func halfInputs() []uint16 {
	h := make([]uint16, 1<<16+5)
	for i := range h {
		h[i] = uint16(i)
	}
	return h
}

// f32Inputs samples float32 bit patterns: a stride through all of them,
// plus every pattern near the rounding boundaries of half and bfloat16
// (ties, and one ulp either side) in a range of exponents.
func f32Inputs(stride uint32) []float32 {
	var xs []float32
	for b := uint64(0); b < 1<<32; b += uint64(stride) {
		xs = append(xs, math.Float32frombits(uint32(b)))
	}
	for e := uint32(90); e < 160; e++ {
		for _, low := range []uint32{0x1000, 0x0fff, 0x1001, 0x3000, 0x2000, 0x8000, 0x7fff, 0x8001, 0x18000, 0x10000} {
			for _, sign := range []uint32{0, 1 << 31} {
				xs = append(xs, math.Float32frombits(sign|e<<23|low), math.Float32frombits(sign|e<<23|0x7fffff&^0xffff|low))
			}
		}
	}
	return append(xs, 65504, 65519.99, 65520, -65520, 6.1035156e-05, 5.9604645e-08, 2.9802322e-08, 2.9802326e-08, float32(math.MaxFloat32),
		math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00001), math.Float32frombits(0x7fa00000), math.Float32frombits(1))
}

func TestF16ToF32(t *testing.T) {
	eachLevel(t, func(t *testing.T, im *impl) {
		h := halfInputs()
		out := make([]float32, len(h))
		im.f16ToF32(out, h)
		for i, v := range h {
			if want := refF16ToF32(v); math.Float32bits(out[i]) != math.Float32bits(want) {
				t.Fatalf("f16ToF32(%#04x) = %v (%#x), want %v (%#x)", v, out[i], math.Float32bits(out[i]), want, math.Float32bits(want))
			}
		}
	})
}

func TestBF16ToF32(t *testing.T) {
	eachLevel(t, func(t *testing.T, im *impl) {
		h := halfInputs()
		out := make([]float32, len(h))
		im.bf16ToF32(out, h)
		for i, v := range h {
			if got := math.Float32bits(out[i]); got != uint32(v)<<16 {
				t.Fatalf("bf16ToF32(%#04x) = %#x, want %#x", v, got, uint32(v)<<16)
			}
		}
	})
}

func TestF32ToF16AndBF16(t *testing.T) {
	stride := uint32(4099)
	if testing.Short() {
		stride = 65537
	}
	xs := f32Inputs(stride)
	eachLevel(t, func(t *testing.T, im *impl) {
		h := make([]uint16, len(xs))
		im.f32ToF16(h, xs)
		for i, x := range xs {
			if want := refF32ToF16(x); h[i] != want {
				t.Fatalf("f32ToF16(%v = %#x) = %#04x, want %#04x", x, math.Float32bits(x), h[i], want)
			}
		}
		im.f32ToBF16(h, xs)
		for i, x := range xs {
			if want := refF32ToBF16(x); h[i] != want {
				t.Fatalf("f32ToBF16(%v = %#x) = %#04x, want %#04x", x, math.Float32bits(x), h[i], want)
			}
		}
	})
}

// TestHalfPublic checks the exported conversions and that they write only
// len(src) values.
func TestHalfPublic(t *testing.T) {
	src := []float32{1, -2, 0.5, 65504, 1e-8, float32(math.Inf(-1)), 3.14159, 100}
	h := make([]uint16, len(src)+1)
	h[len(src)] = 0xbeef
	F32ToF16(h, src)
	back := make([]float32, len(src)+1)
	back[len(src)] = 42
	F16ToF32(back, h[:len(src)])
	for i, x := range src {
		if want := refF16ToF32(refF32ToF16(x)); back[i] != want {
			t.Errorf("F16 round trip of %v = %v, want %v", x, back[i], want)
		}
	}
	F32ToBF16(h, src)
	BF16ToF32(back, h[:len(src)])
	for i, x := range src {
		if want := math.Float32frombits(uint32(refF32ToBF16(x)) << 16); back[i] != want {
			t.Errorf("BF16 round trip of %v = %v, want %v", x, back[i], want)
		}
	}
	if h[len(src)] != 0xbeef || back[len(src)] != 42 {
		t.Error("conversion wrote past len(src)")
	}
}
