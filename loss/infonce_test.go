package loss

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

type fixtureMeta struct {
	B, D     int
	Variants map[string]struct {
		Kind  string
		Scale float64
		Loss  float64
	}
}

// maxDiff returns the largest |got-want| and checks every entry against
// atol + rtol·|want|.
func maxDiff[T float](got []T, want []float64, atol, rtol float64) (float64, bool) {
	if len(got) != len(want) {
		return math.Inf(1), false
	}
	var m float64
	ok := true
	for i, w := range want {
		d := math.Abs(float64(got[i]) - w)
		m = max(m, d)
		if d > atol+rtol*math.Abs(w) || math.IsNaN(d) {
			ok = false
		}
	}
	return m, ok
}

func to[T float](x []float64) []T {
	y := make([]T, len(x))
	for i, v := range x {
		y[i] = T(v)
	}
	return y
}

// TestGoldenInfoNCE compares every variant of every infonce fixture —
// scores, loss and the gradients of anchors, positives and hard negatives —
// in float32 and float64, one-shot and in chunks of 3 as the fixture's
// GradCache check does.
func TestGoldenInfoNCE(t *testing.T) {
	for _, dir := range golden.Dirs(t, "training", "infonce.safetensors") {
		raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
		if err != nil {
			t.Fatal(err)
		}
		var meta fixtureMeta
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		ts := readFixture(t, filepath.Join(dir, "infonce.safetensors"))
		b, d := meta.B, meta.D
		c := append(append([]float64{}, ts["P"]...), ts["N"]...)
		if len(meta.Variants) == 0 {
			t.Fatalf("%s: no variants", dir)
		}
		for name, v := range meta.Variants {
			opts := []Option{WithScale(v.Scale)}
			if _, ts, ok := strings.Cut(name, "temperature"); ok {
				temp, err := strconv.ParseFloat(ts, 64)
				if err != nil {
					t.Fatalf("%s: variant %q: %v", dir, name, err)
				}
				opts = []Option{WithTemperature(temp)}
			}
			switch v.Kind {
			case "mnrl":
			case "mnsrl":
				opts = append(opts, Symmetric())
			default:
				t.Fatalf("%s: variant %q: unknown kind %q", dir, name, v.Kind)
			}
			for _, chunk := range []int{0, 3} {
				l, err := NewInfoNCE(append(opts, WithChunk(chunk))...)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(l.Scale()-v.Scale) > 1e-9*v.Scale {
					t.Errorf("%s: scale %v, want %v", name, l.Scale(), v.Scale)
				}
				t.Run(fmt.Sprintf("%s/%s/chunk=%d/f32", filepath.Base(dir), name, chunk), func(t *testing.T) {
					checkGolden[float32](t, l, ts, name, to[float32](ts["A"]), to[float32](c), b, d, 2e-6, 1e-4)
				})
				t.Run(fmt.Sprintf("%s/%s/chunk=%d/f64", filepath.Base(dir), name, chunk), func(t *testing.T) {
					checkGolden[float64](t, l, ts, name, ts["A"], c, b, d, 1e-7, 1e-6)
				})
			}
		}
	}
}

func checkGolden[T float](t *testing.T, l *InfoNCE, ts map[string][]float64, name string, a, c []T, b, d int, atol, rtol float64) {
	da := make([]T, len(a))
	dc := make([]T, len(c))
	got, err := infonce(l, da, dc, a, c, b, d)
	if err != nil {
		t.Fatal(err)
	}
	if diff, ok := maxDiff([]float64{got}, ts[name+".loss"], atol, rtol); !ok {
		t.Errorf("loss %v, want %v (diff %.3g)", got, ts[name+".loss"][0], diff)
	}
	np := b * d
	for _, g := range []struct {
		tensor string
		got    []T
	}{{"grad_A", da}, {"grad_P", dc[:np]}, {"grad_N", dc[np:]}} {
		if diff, ok := maxDiff(g.got, ts[name+"."+g.tensor], atol, rtol); !ok {
			t.Errorf("%s: max abs diff %.3g", g.tensor, diff)
		}
	}
	if a32, ok := any(a).([]float32); ok {
		s := make([]float32, b*len(c)/d)
		if err := l.Scores(s, a32, any(c).([]float32), b, d); err != nil {
			t.Fatal(err)
		}
		if diff, ok := maxDiff(s, ts[name+".scores"], 1e-5, 1e-5); !ok {
			t.Errorf("scores: max abs diff %.3g", diff)
		}
	}
}

// reference is an independent, plain transcription of the loss: for each
// anchor a list of (logit, is-target) pairs, then log-sum-exp.
func reference(a, c []float64, b, d int, scale float64, sim Similarity, symmetric, qq bool, mask MaskFunc) float64 {
	nc := len(c) / d
	vec := func(x []float64, i int) []float64 {
		v := x[i*d : (i+1)*d]
		if sim == Dot {
			return v
		}
		var n float64
		for _, e := range v {
			n += e * e
		}
		n = max(math.Sqrt(n), 1e-12)
		out := make([]float64, d)
		for k, e := range v {
			out[k] = e / n
		}
		return out
	}
	s := func(x []float64, i int, y []float64, j int) float64 {
		var r float64
		u, v := vec(x, i), vec(y, j)
		for k := range u {
			r += u[k] * v[k]
		}
		return r
	}
	ce := func(logits []float64, target float64) float64 {
		m := math.Inf(-1)
		for _, z := range logits {
			m = max(m, z)
		}
		var sum float64
		for _, z := range logits {
			sum += math.Exp(z - m)
		}
		return m + math.Log(sum) - target
	}
	masked := func(i, j int) bool {
		return mask != nil && mask(i, j, float32(s(a, i, c, j)), float32(s(a, i, c, i)))
	}
	var fwd float64
	for i := 0; i < b; i++ {
		var logits []float64
		for j := 0; j < nc; j++ {
			if j == i || !masked(i, j) {
				logits = append(logits, scale*s(a, i, c, j))
			}
		}
		if qq {
			for k := 0; k < b; k++ {
				if k != i && (mask == nil || !mask(i, nc+k, float32(s(a, i, a, k)), float32(s(a, i, c, i)))) {
					logits = append(logits, scale*s(a, i, a, k))
				}
			}
		}
		fwd += ce(logits, scale*s(a, i, c, i))
	}
	fwd /= float64(b)
	if !symmetric {
		return fwd
	}
	var bwd float64
	for j := 0; j < b; j++ {
		var logits []float64
		for i := 0; i < b; i++ {
			if i == j || !masked(i, j) {
				logits = append(logits, scale*s(a, i, c, j))
			}
		}
		bwd += ce(logits, scale*s(a, j, c, j))
	}
	return (fwd + bwd/float64(b)) / 2
}

type variant struct {
	name string
	opts []Option
	sim  Similarity
	sym  bool
	qq   bool
	mask MaskFunc
}

// byIndex masks a fixed pattern of pairs, so finite differences never
// flip a masking decision.
func byIndex(i, j int, _, _ float32) bool { return (i+2*j)%5 == 0 }

func variants() []variant {
	var vs []variant
	for _, sim := range []Similarity{Cosine, Dot} {
		for _, sym := range []bool{false, true} {
			for _, qq := range []bool{false, true} {
				for _, m := range []MaskFunc{nil, byIndex} {
					v := variant{sim: sim, sym: sym, qq: qq, mask: m}
					v.name = sim.String()
					v.opts = []Option{WithSimilarity(sim), WithScale(7)}
					if sym {
						v.name += "/symmetric"
						v.opts = append(v.opts, Symmetric())
					}
					if qq {
						v.name += "/qq"
						v.opts = append(v.opts, WithQueryNegatives())
					}
					if m != nil {
						v.name += "/mask"
						v.opts = append(v.opts, WithMask(m))
					}
					vs = append(vs, v)
				}
			}
		}
	}
	return vs
}

func f64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func randn(r *rand.Rand, n int, sd float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64() * sd
	}
	return x
}

// TestFiniteDifferences checks the gradient of every variant, every chunk
// size and every input entry against central differences in float64, and
// the loss against the plain reference.
func TestFiniteDifferences(t *testing.T) {
	const b, d, negs = 5, 6, 2
	r := rand.New(rand.NewPCG(1, 2))
	a := randn(r, b*d, 0.3)
	c := randn(r, (1+negs)*b*d, 0.3)
	for _, v := range variants() {
		for _, chunk := range []int{0, 1, 2, 5} {
			t.Run(fmt.Sprintf("%s/chunk=%d", v.name, chunk), func(t *testing.T) {
				l, err := NewInfoNCE(append(v.opts, WithChunk(chunk))...)
				if err != nil {
					t.Fatal(err)
				}
				da := make([]float64, len(a))
				dc := make([]float64, len(c))
				got, err := infonce(l, da, dc, a, c, b, d)
				if err != nil {
					t.Fatal(err)
				}
				if want := reference(a, c, b, d, 7, v.sim, v.sym, v.qq, v.mask); math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
					t.Fatalf("loss %v, reference %v", got, want)
				}
				f := func() float64 {
					v, err := infonce[float64](l, nil, nil, a, c, b, d)
					if err != nil {
						t.Fatal(err)
					}
					return v
				}
				checkFD(t, "a", a, da, f)
				checkFD(t, "c", c, dc, f)
			})
		}
	}
}

// checkFD compares grad with central differences of f over every entry
// of x.
func checkFD(t *testing.T, name string, x, grad []float64, f func() float64) {
	t.Helper()
	const h = 1e-6
	var worst float64
	for i := range x {
		old := x[i]
		x[i] = old + h
		fp := f()
		x[i] = old - h
		fm := f()
		x[i] = old
		num := (fp - fm) / (2 * h)
		err := math.Abs(num-grad[i]) / max(1e-3, math.Abs(num)+math.Abs(grad[i]))
		worst = max(worst, err)
	}
	if worst > 1e-6 {
		t.Errorf("d%s: worst relative error against finite differences %.3g", name, worst)
	}
}

// TestChunksAgreeFloat32 checks, in float32, that every chunk size gives
// the one-shot loss and gradients.
func TestChunksAgreeFloat32(t *testing.T) {
	const b, d, negs = 9, 16, 1
	r := rand.New(rand.NewPCG(3, 4))
	a := to[float32](randn(r, b*d, 1))
	c := to[float32](randn(r, (1+negs)*b*d, 1))
	for _, v := range variants() {
		l0, _ := NewInfoNCE(v.opts...)
		da0 := make([]float32, len(a))
		dc0 := make([]float32, len(c))
		want, err := l0.Loss(da0, dc0, a, c, b, d)
		if err != nil {
			t.Fatal(err)
		}
		for chunk := 1; chunk <= b+1; chunk++ {
			l, _ := NewInfoNCE(append(v.opts, WithChunk(chunk))...)
			da := make([]float32, len(a))
			dc := make([]float32, len(c))
			got, err := l.Loss(da, dc, a, c, b, d)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(float64(got-want)) > 1e-6 {
				t.Errorf("%s chunk=%d: loss %v, one-shot %v", v.name, chunk, got, want)
			}
			if m, ok := maxDiff(da, f64(da0), 1e-6, 1e-5); !ok {
				t.Errorf("%s chunk=%d: da max diff %.3g", v.name, chunk, m)
			}
			if m, ok := maxDiff(dc, f64(dc0), 1e-6, 1e-5); !ok {
				t.Errorf("%s chunk=%d: dc max diff %.3g", v.name, chunk, m)
			}
		}
	}
}

func TestGradientsAccumulate(t *testing.T) {
	const b, d = 3, 4
	r := rand.New(rand.NewPCG(5, 6))
	a := to[float32](randn(r, b*d, 1))
	c := to[float32](randn(r, 2*b*d, 1))
	l, _ := NewInfoNCE()
	da := make([]float32, len(a))
	dc := make([]float32, len(c))
	if _, err := l.Loss(da, dc, a, c, b, d); err != nil {
		t.Fatal(err)
	}
	da2 := append([]float32{}, da...)
	dc2 := append([]float32{}, dc...)
	if _, err := l.Loss(da2, dc2, a, c, b, d); err != nil {
		t.Fatal(err)
	}
	for i := range da {
		if math.Abs(float64(da2[i]-2*da[i])) > 1e-6 {
			t.Fatalf("da[%d]: second call gave %v, want 2×%v", i, da2[i], da[i])
		}
	}
	// Only one side requested.
	dcOnly := make([]float32, len(c))
	if _, err := l.Loss(nil, dcOnly, a, c, b, d); err != nil {
		t.Fatal(err)
	}
	for i := range dc {
		if dcOnly[i] != dc[i] {
			t.Fatalf("dc[%d] alone %v, with da %v", i, dcOnly[i], dc[i])
		}
	}
}

func TestMaskAbovePositive(t *testing.T) {
	const b, d = 4, 8
	r := rand.New(rand.NewPCG(7, 8))
	a := randn(r, b*d, 1)
	c := randn(r, 2*b*d, 1)
	// Make candidate 5 (anchor 1's hard negative) a near copy of anchor 1.
	copy(c[5*d:6*d], a[1*d:2*d])
	l, _ := NewInfoNCE(WithMask(MaskAbovePositive(0)))
	got, err := infonce[float64](l, nil, nil, a, c, b, d)
	if err != nil {
		t.Fatal(err)
	}
	want := reference(a, c, b, d, 20, Cosine, false, false, MaskAbovePositive(0))
	plain := reference(a, c, b, d, 20, Cosine, false, false, nil)
	if math.Abs(got-want) > 1e-12 {
		t.Fatalf("masked loss %v, reference %v", got, want)
	}
	if !(got < plain) {
		t.Fatalf("masking a copy of the anchor did not lower the loss: %v vs %v", got, plain)
	}
}

func TestErrors(t *testing.T) {
	for _, opt := range []Option{WithScale(0), WithScale(math.Inf(1)), WithTemperature(-1), WithChunk(-1), WithSimilarity(9)} {
		if _, err := NewInfoNCE(opt); err == nil {
			t.Errorf("NewInfoNCE accepted a bad option")
		}
	}
	l, _ := NewInfoNCE()
	a := make([]float32, 6)
	cases := []struct {
		name         string
		da, dc, a, c []float32
		b, d         int
	}{
		{"anchors", nil, nil, a[:5], make([]float32, 6), 2, 3},
		{"few candidates", nil, nil, a, make([]float32, 3), 2, 3},
		{"ragged candidates", nil, nil, a, make([]float32, 7), 2, 3},
		{"empty batch", nil, nil, nil, nil, 0, 3},
		{"da", make([]float32, 5), nil, a, make([]float32, 6), 2, 3},
		{"dc", nil, make([]float32, 5), a, make([]float32, 6), 2, 3},
	}
	for _, tc := range cases {
		if _, err := l.Loss(tc.da, tc.dc, tc.a, tc.c, tc.b, tc.d); !errors.Is(err, ErrShape) {
			t.Errorf("%s: err = %v, want ErrShape", tc.name, err)
		}
	}
	if err := l.Scores(make([]float32, 3), a, make([]float32, 6), 2, 3); !errors.Is(err, ErrShape) {
		t.Errorf("Scores: err = %v, want ErrShape", err)
	}
}
