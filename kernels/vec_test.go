package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// vecLens are the lengths every vector kernel is tested at: all short
// ones (every tail of every vector width) and a few long ones.
var vecLens = func() []int {
	var l []int
	for n := 0; n <= 70; n++ {
		l = append(l, n)
	}
	return append(l, 127, 128, 129, 255, 256, 257, 768, 1000, 3072+5)
}()

// vecInput returns n values in [-scale, scale) inside a guarded buffer,
// starting off elements past a 64-byte boundary so unaligned starts are
// covered.
func vecInput(rng *rand.Rand, n int, scale float64) guarded {
	g := newGuarded(rng, n)
	for i := range g.data {
		g.data[i] = float32((rng.Float64()*2 - 1) * scale)
	}
	return g
}

const ulp32 = 0x1p-23

func TestDotAxpyScaleAdd(t *testing.T) {
	eachLevel(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(10, 10))
		for _, n := range vecLens {
			x, y := vecInput(rng, n, 2), vecInput(rng, n, 2)
			sx, sy := x.snapshot(), y.snapshot()

			var want, abs float64
			for i := range n {
				want += float64(x.data[i]) * float64(y.data[i])
				abs += math.Abs(float64(x.data[i]) * float64(y.data[i]))
			}
			checkClose(t, fmt.Sprintf("dot n=%d", n), im.dot(x.data, y.data), want, float64(n+2)*ulp32*abs)
			x.checkUnchanged(t, "dot x", sx, nil)
			y.checkUnchanged(t, "dot y", sy, nil)

			const alpha = -1.75
			wantY := make([]float64, n)
			for i := range n {
				wantY[i] = float64(y.data[i]) + alpha*float64(x.data[i])
			}
			im.axpy(alpha, x.data, y.data)
			for i := range n {
				checkClose(t, fmt.Sprintf("axpy n=%d [%d]", n, i), y.data[i], wantY[i], 2*ulp32*(math.Abs(wantY[i])+math.Abs(alpha*float64(x.data[i]))))
			}
			x.checkUnchanged(t, "axpy x", sx, nil)
			y.checkUnchanged(t, "axpy around y", sy, func(int) bool { return true })

			// Scale and add round once per element, so they are exact
			// against float32 arithmetic.
			sy = y.snapshot()
			wantS := make([]float32, n)
			for i := range n {
				wantS[i] = y.data[i] * 0.3
			}
			im.scale(0.3, y.data)
			for i := range n {
				if y.data[i] != wantS[i] {
					t.Fatalf("scale n=%d [%d] = %v, want %v", n, i, y.data[i], wantS[i])
				}
			}
			y.checkUnchanged(t, "scale around y", sy, func(int) bool { return true })
			for i := range n {
				wantS[i] = y.data[i] + x.data[i]
			}
			im.add(y.data, x.data)
			for i := range n {
				if y.data[i] != wantS[i] {
					t.Fatalf("add n=%d [%d] = %v, want %v", n, i, y.data[i], wantS[i])
				}
			}
			y.checkUnchanged(t, "add around y", sy, func(int) bool { return true })
			x.checkUnchanged(t, "add x", sx, nil)
		}
	})
}

func TestReductions(t *testing.T) {
	eachLevel(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(11, 11))
		for _, n := range vecLens {
			x := vecInput(rng, n, 100)
			sx := x.snapshot()
			var sum, abs, sq, sqmu float64
			mx := math.Inf(-1)
			const mu = 3.5
			for _, v := range x.data {
				sum += float64(v)
				abs += math.Abs(float64(v))
				sq += float64(v) * float64(v)
				d := float64(v - mu)
				sqmu += d * d
				mx = math.Max(mx, float64(v))
			}
			checkClose(t, fmt.Sprintf("sum n=%d", n), float32(im.sum(x.data)), sum, 1e-12*abs+ulp32*math.Abs(sum))
			checkClose(t, fmt.Sprintf("sumSq n=%d", n), float32(im.sumSq(x.data, 0)), sq, 1e-12*sq+ulp32*sq)
			checkClose(t, fmt.Sprintf("sumSq(mu) n=%d", n), float32(im.sumSq(x.data, mu)), sqmu, 1e-12*sqmu+ulp32*sqmu)
			if got := im.max(x.data); float64(got) != mx {
				t.Errorf("max n=%d = %v, want %v", n, got, mx)
			}
			x.checkUnchanged(t, "reductions x", sx, nil)
			if n > 0 {
				for _, pos := range []int{0, n / 2, n - 1} {
					saved := x.data[pos]
					x.data[pos] = float32(math.NaN())
					if got := im.max(x.data); !math.IsNaN(float64(got)) {
						t.Errorf("max n=%d with NaN at %d = %v, want NaN", n, pos, got)
					}
					if got := im.sum(x.data); !math.IsNaN(got) {
						t.Errorf("sum n=%d with NaN at %d = %v, want NaN", n, pos, got)
					}
					x.data[pos] = float32(math.Inf(1))
					if got := im.max(x.data); !math.IsInf(float64(got), 1) {
						t.Errorf("max n=%d with +Inf at %d = %v, want +Inf", n, pos, got)
					}
					x.data[pos] = saved
				}
			}
		}
		if got := im.max(nil); !math.IsInf(float64(got), -1) {
			t.Errorf("max(empty) = %v, want -Inf", got)
		}
		// Norm2's float64 accumulation neither overflows nor underflows.
		big := []float32{3e38, 3e38, -3e38, 1e-45}
		if got, want := math.Sqrt(im.sumSq(big, 0)), math.Sqrt(3)*3e38; math.Abs(got-want) > 1e-6*want {
			t.Errorf("sumSq of huge values: sqrt = %v, want %v", got, want)
		}
	})
}

func TestExp32(t *testing.T) {
	worst := 0.0
	for x := float32(-87.3); x < 88.7; x += 0.0037 {
		got := float64(exp32(x))
		want := math.Exp(float64(x))
		worst = math.Max(worst, math.Abs(got-want)/want)
	}
	if worst > 2e-7 {
		t.Errorf("exp32 relative error %.3g > 2e-7", worst)
	}
	for x, want := range map[float32]float32{
		0: 1, -88: 0, -1000: 0, float32(math.Inf(-1)): 0, 89: float32(math.Inf(1)), float32(math.Inf(1)): float32(math.Inf(1)),
	} {
		if got := exp32(x); got != want {
			t.Errorf("exp32(%v) = %v, want %v", x, got, want)
		}
	}
	if got := exp32(float32(math.NaN())); got == got {
		t.Errorf("exp32(NaN) = %v", got)
	}
}

// TestSoftmax checks softmaxRow at every level against float64, with and
// without a mask, and the special rows: all -Inf, a NaN, a +Inf.
func TestSoftmax(t *testing.T) {
	eachLevel(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(12, 12))
		for _, n := range vecLens {
			if n == 0 {
				continue
			}
			x := vecInput(rng, n, 30)
			mask := make([]float32, n)
			for i := range mask {
				switch rng.IntN(4) {
				case 0:
					mask[i] = -10000
				case 1:
					mask[i] = float32(math.Inf(-1))
				}
			}
			mask[rng.IntN(n)] = 0
			for _, mk := range [][]float32{nil, mask} {
				row := append([]float32(nil), x.data...)
				want := make([]float64, n)
				mx := math.Inf(-1)
				for i, v := range row {
					want[i] = float64(v)
					if mk != nil {
						want[i] = float64(v + mk[i]) // the kernel adds in float32
					}
					mx = math.Max(mx, want[i])
				}
				var s float64
				for i := range want {
					want[i] = math.Exp(want[i] - mx)
					s += want[i]
				}
				softmaxRow(im, row, mk)
				for i := range row {
					checkClose(t, fmt.Sprintf("softmax n=%d mask=%v [%d]", n, mk != nil, i), row[i], want[i]/s, 1e-6*want[i]/s+1e-7/float64(n))
					if mk != nil && math.IsInf(float64(mk[i]), -1) && row[i] != 0 {
						t.Errorf("softmax: masked column %d = %v, want 0", i, row[i])
					}
				}
			}
		}
		inf, nan := float32(math.Inf(1)), float32(math.NaN())
		for name, tc := range map[string]struct {
			row     []float32
			allNaN  bool
			allZero bool
		}{
			"all -Inf": {row: []float32{-inf, -inf, -inf}, allZero: true},
			"NaN":      {row: []float32{1, nan, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, allNaN: true},
			"+Inf":     {row: []float32{1, 2, inf, 4}, allNaN: true},
		} {
			softmaxRow(im, tc.row, nil)
			for i, v := range tc.row {
				if tc.allNaN && v == v || tc.allZero && v != 0 {
					t.Errorf("softmax %s: [%d] = %v", name, i, v)
				}
			}
		}
	})
}

func TestLayerNorm(t *testing.T) {
	eachLevel(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(13, 13))
		for _, n := range vecLens {
			if n == 0 {
				continue
			}
			x := vecInput(rng, n, 4)
			for i := range x.data {
				x.data[i] += 10 // an offset mean, as real activations have
			}
			gamma, beta := vecInput(rng, n, 1), vecInput(rng, n, 1)
			out := vecInput(rng, n, 1)
			sx, so := x.snapshot(), out.snapshot()
			const eps = 1e-12
			var mu, v float64
			for _, e := range x.data {
				mu += float64(e)
			}
			mu /= float64(n)
			for _, e := range x.data {
				v += (float64(e) - mu) * (float64(e) - mu)
			}
			v /= float64(n)
			rs := 1 / math.Sqrt(v+eps)
			gotMu, gotRs := layerNormRow(im, out.data, x.data, gamma.data, beta.data, eps)
			checkClose(t, fmt.Sprintf("layernorm n=%d mean", n), gotMu, mu, 1e-6*math.Abs(mu))
			if n > 1 {
				checkClose(t, fmt.Sprintf("layernorm n=%d rstd", n), gotRs, rs, 1e-5*rs)
			}
			for i, e := range x.data {
				want := (float64(e)-mu)*rs*float64(gamma.data[i]) + float64(beta.data[i])
				if n > 1 {
					checkClose(t, fmt.Sprintf("layernorm n=%d [%d]", n, i), out.data[i], want, 2e-5*(math.Abs((float64(e)-mu)*rs*float64(gamma.data[i]))+1e-2)+4*ulp32*math.Abs(want))
				}
			}
			x.checkUnchanged(t, "layernorm x", sx, nil)
			out.checkUnchanged(t, "layernorm around out", so, func(int) bool { return true })
			// In place.
			layerNormRow(im, x.data, x.data, gamma.data, beta.data, eps)
			for i := range x.data {
				if x.data[i] != out.data[i] {
					t.Fatalf("layernorm in place n=%d [%d] = %v, out of place %v", n, i, x.data[i], out.data[i])
				}
			}
		}
	})
}

// TestErfBound measures the float32 erf of every level against math.Erf
// on a dense sweep (every 61st float32 bit pattern between 2⁻¹⁶ and 6, and
// a uniform grid) and checks it stays within ErfMaxError.
func TestErfBound(t *testing.T) {
	var xs []float32
	step := uint32(61)
	if testing.Short() {
		step = 997
	}
	for b := math.Float32bits(0x1p-16); b <= math.Float32bits(6); b += step {
		v := math.Float32frombits(b)
		xs = append(xs, v, -v)
	}
	for i := range 200001 {
		xs = append(xs, float32(-6+12*float64(i)/200000))
	}
	eachLevel(t, func(t *testing.T, im *impl) {
		out := make([]float32, len(xs))
		im.erf(out, xs)
		worst, at := 0.0, float32(0)
		for i, x := range xs {
			if d := math.Abs(float64(out[i]) - math.Erf(float64(x))); d > worst {
				worst, at = d, x
			}
		}
		t.Logf("max |erf32 - math.Erf| = %.3g at x = %v over %d inputs", worst, at, len(xs))
		if worst > ErfMaxError {
			t.Errorf("max |erf32 - math.Erf| = %.3g at x = %v, above ErfMaxError %g", worst, at, ErfMaxError)
		}
		special := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 10, -10, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
		got := make([]float32, len(special))
		im.erf(got, special)
		for i, x := range special {
			want := float32(math.Erf(float64(x)))
			close := math.Abs(float64(got[i]-want)) <= 2*ulp32*math.Abs(float64(want))
			if !close && !(got[i] != got[i] && want != want) || math.Signbit(float64(got[i])) != math.Signbit(float64(want)) {
				t.Errorf("erf(%v) = %v, want %v", x, got[i], want)
			}
		}
	})
}

// TestErfExhaustive checks ErfMaxError over every float32 in [0, 4.5]
// (erf is odd and exactly ±1 beyond) at every level. It takes a minute, so
// it runs only with KOTODAMA_EXHAUSTIVE=1.
func TestErfExhaustive(t *testing.T) {
	if os.Getenv("KOTODAMA_EXHAUSTIVE") != "1" {
		t.Skip("set KOTODAMA_EXHAUSTIVE=1 to run")
	}
	const chunk = 1 << 20
	xs := make([]float32, chunk)
	want := make([]float64, chunk)
	out := make([]float32, chunk)
	worst := make([]float64, len(levels))
	at := make([]float32, len(levels))
	end := math.Float32bits(4.5)
	for b0 := uint32(0); b0 <= end; b0 += chunk {
		n := int(min(chunk, end-b0+1))
		for i := range n {
			xs[i] = math.Float32frombits(b0 + uint32(i))
			want[i] = math.Erf(float64(xs[i]))
		}
		for l, im := range levels {
			im.erf(out[:n], xs[:n])
			for i := range n {
				if d := math.Abs(float64(out[i]) - want[i]); d > worst[l] {
					worst[l], at[l] = d, xs[i]
				}
			}
		}
	}
	for l, im := range levels {
		t.Logf("%s: max |erf32 - math.Erf| = %.4g at x = %v", im.level, worst[l], at[l])
		if worst[l] > ErfMaxError {
			t.Errorf("%s: max error %.4g above ErfMaxError %g", im.level, worst[l], ErfMaxError)
		}
	}
}

func TestGELU(t *testing.T) {
	eachLevel(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(14, 14))
		for _, n := range vecLens {
			x := vecInput(rng, n, 8)
			out := vecInput(rng, n, 1)
			sx, so := x.snapshot(), out.snapshot()
			im.gelu(out.data, x.data)
			for i, v := range x.data {
				f := float64(v)
				want := 0.5 * f * (1 + math.Erf(f/math.Sqrt2))
				checkClose(t, fmt.Sprintf("gelu n=%d [%d] x=%v", n, i, v), out.data[i], want, 0.5*math.Abs(f)*ErfMaxError+2*ulp32*math.Abs(want)+1e-30)
			}
			x.checkUnchanged(t, "gelu x", sx, nil)
			out.checkUnchanged(t, "gelu around out", so, func(int) bool { return true })

			im.geluTanh(out.data, x.data)
			for i, v := range x.data {
				f := float64(v)
				want := 0.5 * f * (1 + math.Tanh(geluTanhC*(f+0.044715*f*f*f)))
				checkClose(t, fmt.Sprintf("geluTanh n=%d [%d] x=%v", n, i, v), out.data[i], want, 8*ulp32*math.Abs(want)+1e-7*math.Abs(f))
			}
			// In place.
			y := append([]float32(nil), x.data...)
			im.gelu(y, y)
			im.gelu(out.data, x.data)
			for i := range y {
				if y[i] != out.data[i] {
					t.Fatalf("gelu in place n=%d [%d] = %v, out of place %v", n, i, y[i], out.data[i])
				}
			}
		}
		inf, nan := float32(math.Inf(1)), float32(math.NaN())
		in := []float32{inf, -inf, nan, 0, -100, 100}
		out := make([]float32, len(in))
		im.gelu(out, in)
		if !(out[0] == inf && out[1] != out[1] && out[2] != out[2] && out[3] == 0 && out[4] == 0 && out[5] == 100) {
			t.Errorf("gelu(%v) = %v, want [+Inf NaN NaN 0 -0 100]", in, out)
		}
		im.geluTanh(out, in)
		if !(out[0] == inf && out[2] != out[2] && out[3] == 0 && out[4] == 0 && out[5] == 100) {
			t.Errorf("geluTanh(%v) = %v, want [+Inf ? NaN 0 -0 100]", in, out)
		}
	})
}

// TestPublicVec checks that the exported functions reach the active level
// and validate their arguments.
func TestPublicVec(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6}
	if got := Dot(x, x); got != 91 {
		t.Errorf("Dot = %v, want 91", got)
	}
	if got := Sum(x); got != 21 {
		t.Errorf("Sum = %v, want 21", got)
	}
	if got := Max(x); got != 6 {
		t.Errorf("Max = %v, want 6", got)
	}
	if got := Norm2([]float32{3, 4}); got != 5 {
		t.Errorf("Norm2 = %v, want 5", got)
	}
	y := append([]float32(nil), x...)
	Axpy(2, x, y)
	Scale(0.5, y)
	AddBias(y, []float32{1, -1, 0})
	want := []float32{2.5, 2, 4.5, 7, 6.5, 9}
	for i := range y {
		if y[i] != want[i] {
			t.Fatalf("Axpy, Scale, AddBias: %v, want %v", y, want)
		}
	}
	s := []float32{0, 0, 1, 1}
	Softmax(s, 2, []float32{0, float32(math.Inf(-1))})
	if s[0] != 1 || s[1] != 0 || s[2] != 1 || s[3] != 0 {
		t.Errorf("Softmax with mask = %v", s)
	}
	ln := make([]float32, 6)
	mean, rstd := make([]float32, 2), make([]float32, 2)
	LayerNorm(ln, x, []float32{1, 1, 1}, []float32{0, 0, 0}, 3, 0, mean, rstd)
	if mean[0] != 2 || mean[1] != 5 || math.Abs(float64(ln[0])+math.Sqrt(1.5)) > 1e-6 {
		t.Errorf("LayerNorm = %v mean %v rstd %v", ln, mean, rstd)
	}
	g := make([]float32, 2)
	GELU(g, []float32{0, 1})
	if g[0] != 0 || math.Abs(float64(g[1])-0.8413447460685429) > 1e-7 {
		t.Errorf("GELU(0, 1) = %v", g)
	}
	GELUTanh(g, []float32{0, 1})
	if g[0] != 0 || math.Abs(float64(g[1])-0.8411919906082768) > 1e-6 {
		t.Errorf("GELUTanh(0, 1) = %v", g)
	}
	for name, f := range map[string]func(){
		"AddBias":      func() { AddBias(make([]float32, 5), make([]float32, 2)) },
		"Softmax cols": func() { Softmax(make([]float32, 5), 2, nil) },
		"Softmax mask": func() { Softmax(make([]float32, 4), 2, make([]float32, 3)) },
		"LayerNorm": func() {
			LayerNorm(make([]float32, 4), make([]float32, 4), make([]float32, 1), make([]float32, 2), 2, 0, nil, nil)
		},
		"LayerNorm mean": func() {
			LayerNorm(make([]float32, 4), make([]float32, 4), make([]float32, 2), make([]float32, 2), 2, 0, make([]float32, 1), nil)
		},
		"Dot short y":    func() { Dot(make([]float32, 4), make([]float32, 3)) },
		"GELU short out": func() { GELU(make([]float32, 3), make([]float32, 4)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
