package pooling

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// latentFixture is one training/latent_attention fixture: NV-Embed's
// LatentAttentionModel run by torch in float64 (README.md there).
type latentFixture struct {
	cfg        LatentConfig
	batch, seq int
	mask       []int32
	loss       float64
	f32        map[string][]float32
}

func readLatentFixture(t *testing.T, dir string) *latentFixture {
	t.Helper()
	var meta struct {
		B, L, Dim    int
		NumLatents   int     `json:"num_latents"`
		Heads        int     `json:"heads"`
		DimHead      int     `json:"dim_head"`
		LayerNormEps float64 `json:"layernorm_eps"`
		Loss         float64 `json:"loss"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.LayerNormEps != LatentEps {
		t.Fatalf("fixture LayerNorm eps %v, LatentEps %v", meta.LayerNormEps, LatentEps)
	}
	f, err := safetensors.Open(filepath.Join(dir, "latent_attention.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx := &latentFixture{
		cfg:   LatentConfig{Dim: meta.Dim, Latents: meta.NumLatents, Heads: meta.Heads, HeadDim: meta.DimHead, IncludePrompt: true},
		batch: meta.B, seq: meta.L, loss: meta.Loss, f32: map[string][]float32{},
	}
	for _, n := range f.Names() {
		tt, _ := f.Tensor(n)
		switch tt.DType {
		case safetensors.F32:
			v := make([]float32, tt.NumElements())
			if err := tt.Float32s(v); err != nil {
				t.Fatal(err)
			}
			fx.f32[n] = v
		case safetensors.I64:
			v := make([]int64, tt.NumElements())
			if err := tt.Int64s(v); err != nil {
				t.Fatal(err)
			}
			for _, x := range v {
				fx.mask = append(fx.mask, int32(x))
			}
		}
	}
	if len(fx.mask) != fx.batch*fx.seq {
		t.Fatalf("attention_mask of %d values for B=%d L=%d", len(fx.mask), fx.batch, fx.seq)
	}
	return fx
}

// latentTolerance: the fixture README states no tolerance; its values are
// float64 results stored as float32, and a float32 implementation should
// agree to a few float32 roundings of the largest magnitude involved.
func latentClose(got, want []float32) (worst, scale float64, ok bool) {
	for i, w := range want {
		worst = max(worst, math.Abs(float64(got[i])-float64(w)))
		scale = max(scale, math.Abs(float64(w)))
	}
	return worst, scale, worst <= 2e-6*max(1, scale) && !math.IsNaN(worst)
}

// TestLatentGolden runs every latent_attention fixture: the module's
// output before pooling (hiddens_out), the pooled and normalized vectors,
// and, for loss = Σ pooled·G, the gradient of H and of every parameter.
func TestLatentGolden(t *testing.T) {
	for _, dir := range golden.Dirs(t, "training", "latent_attention.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			fx := readLatentFixture(t, dir)
			be := kernels.NewCPU()
			l, err := NewLatentAttention(be, fx.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range l.Params.Tensors() {
				v, ok := fx.f32["param."+p.Name]
				if !ok {
					t.Fatalf("fixture has no param.%s", p.Name)
				}
				if len(v) != p.Buf.Len() {
					t.Fatalf("param.%s: %d values, module %v", p.Name, len(v), p.Shape)
				}
				copy(p.Buf.Host(), v)
			}
			B, L, d := fx.batch, fx.seq, fx.cfg.Dim
			a, err := l.NewActs(B * L)
			if err != nil {
				t.Fatal(err)
			}
			H := fx.f32["H"]
			pooled := make([]float32, B*d)
			if err := l.Forward(kernels.HostBuf(pooled), a, kernels.HostBuf(H), fx.mask, B, L, 0); err != nil {
				t.Fatal(err)
			}
			check := func(name string, got []float32) {
				want, ok := fx.f32[name]
				if !ok {
					t.Errorf("fixture has no %s", name)
					return
				}
				if len(got) != len(want) {
					t.Errorf("%s: %d values, fixture %d", name, len(got), len(want))
					return
				}
				worst, scale, ok := latentClose(got, want)
				if !ok {
					t.Errorf("%s: max |diff| %.3g (largest |value| %.3g)", name, worst, scale)
				} else {
					t.Logf("%s: max |diff| %.3g (largest |value| %.3g)", name, worst, scale)
				}
			}
			check("hiddens_out", a.Out.Host())
			check("pooled", pooled)
			normed := slices.Clone(pooled)
			Normalize(normed, d)
			check("pooled_normalized", normed)
			G := fx.f32["G"]
			var loss float64
			for i, v := range pooled {
				loss += float64(v) * float64(G[i])
			}
			if math.Abs(loss-fx.loss) > 1e-5*max(1, math.Abs(fx.loss)) {
				t.Errorf("loss %v, fixture %v", loss, fx.loss)
			}

			g, err := l.NewGrads()
			if err != nil {
				t.Fatal(err)
			}
			dH := make([]float32, B*L*d)
			if err := l.Backward(kernels.HostBuf(dH), g, a, kernels.HostBuf(G), kernels.HostBuf(H)); err != nil {
				t.Fatal(err)
			}
			check("grad.H", dH)
			for _, p := range g.Tensors() {
				check("grad."+p.Name, p.Buf.Host())
			}
			// Padded positions get exactly nothing.
			for b := range B {
				for s := range L {
					if fx.mask[b*L+s] != 0 {
						continue
					}
					for _, v := range dH[(b*L+s)*d : (b*L+s+1)*d] {
						if v != 0 {
							t.Fatalf("grad.H at padded position (%d, %d) is %v", b, s, v)
						}
					}
				}
			}
			// Backward accumulates: a second pass doubles every gradient.
			before := slices.Clone(g.Arena.Host())
			dH2 := slices.Clone(dH)
			if err := l.Backward(kernels.HostBuf(dH2), g, a, kernels.HostBuf(G), kernels.HostBuf(H)); err != nil {
				t.Fatal(err)
			}
			for i, v := range g.Arena.Host() {
				if math.Abs(float64(v-2*before[i])) > 1e-6*(1+math.Abs(float64(v))) {
					t.Fatalf("second Backward: gradient %d is %v, want %v", i, v, 2*before[i])
				}
			}
			for i, v := range dH2 {
				if math.Abs(float64(v-2*dH[i])) > 1e-6*(1+math.Abs(float64(v))) {
					t.Fatalf("second Backward: dH[%d] is %v, want %v", i, v, 2*dH[i])
				}
			}
		})
	}
}

// latentRef is the textbook float64 computation of the module, the oracle
// for finite differences: params by Tensors name, H [B, L, d].
func latentRef(c LatentConfig, params map[string][]float64, H []float64, mask []int32, B, L, promptLen int) (out, pooled []float64) {
	d, in, f, r, dh := c.Dim, c.Inner(), c.FF(), c.Latents, c.HeadDim
	T := B * L
	ln := func(x, gamma, beta []float64, rows int) []float64 {
		y := make([]float64, len(x))
		for i := range rows {
			row := x[i*d : (i+1)*d]
			var mu, v float64
			for _, e := range row {
				mu += e
			}
			mu /= float64(d)
			for _, e := range row {
				v += (e - mu) * (e - mu)
			}
			rs := 1 / math.Sqrt(v/float64(d)+LatentEps)
			for j, e := range row {
				y[i*d+j] = (e-mu)*rs*gamma[j] + beta[j]
			}
		}
		return y
	}
	// y [rows, o] = x [rows, k] · Wᵀ (+ b)
	linear := func(x, W, b []float64, rows, k, o int) []float64 {
		y := make([]float64, rows*o)
		for i := range rows {
			for j := range o {
				var s float64
				if b != nil {
					s = b[j]
				}
				for l := range k {
					s += x[i*k+l] * W[j*k+l]
				}
				y[i*o+j] = s
			}
		}
		return y
	}
	P := func(n string) []float64 { return params[n] }
	xn := ln(H, P("cross_attend_blocks.0.norm.weight"), P("cross_attend_blocks.0.norm.bias"), T)
	cn := ln(P("latents"), P("cross_attend_blocks.0.norm_context.weight"), P("cross_attend_blocks.0.norm_context.bias"), r)
	q := linear(xn, P("cross_attend_blocks.0.fn.to_q.weight"), nil, T, d, in)
	kv := linear(cn, P("cross_attend_blocks.0.fn.to_kv.weight"), nil, r, d, 2*in)
	ctx := make([]float64, T*in)
	s := make([]float64, r)
	for i := range T {
		for h := range c.Heads {
			mx := math.Inf(-1)
			for j := range r {
				var dot float64
				for e := range dh {
					dot += q[i*in+h*dh+e] * kv[j*2*in+h*dh+e]
				}
				s[j] = dot / math.Sqrt(float64(dh))
				mx = max(mx, s[j])
			}
			var sum float64
			for j := range r {
				s[j] = math.Exp(s[j] - mx)
				sum += s[j]
			}
			for j := range r {
				for e := range dh {
					ctx[i*in+h*dh+e] += s[j] / sum * kv[j*2*in+in+h*dh+e]
				}
			}
		}
	}
	mid := linear(ctx, P("cross_attend_blocks.0.fn.to_out.weight"), nil, T, in, d)
	for i := range mid {
		mid[i] += H[i]
	}
	fn := ln(mid, P("cross_attend_blocks.1.norm.weight"), P("cross_attend_blocks.1.norm.bias"), T)
	pre := linear(fn, P("cross_attend_blocks.1.fn.net.0.weight"), P("cross_attend_blocks.1.fn.net.0.bias"), T, d, 2*f)
	act := make([]float64, T*f)
	for i := range T {
		for j := range f {
			a, g := pre[i*2*f+j], pre[i*2*f+f+j]
			act[i*f+j] = a * 0.5 * g * (1 + math.Erf(g/math.Sqrt2))
		}
	}
	out = linear(act, P("cross_attend_blocks.1.fn.net.2.weight"), P("cross_attend_blocks.1.fn.net.2.bias"), T, f, d)
	for i := range out {
		out[i] += mid[i]
	}
	pooled = make([]float64, B*d)
	for b := range B {
		var n float64
		for l := range L {
			if mask[b*L+l] == 0 || (!c.IncludePrompt && l < promptLen) {
				continue
			}
			n++
			for e := range d {
				pooled[b*d+e] += out[(b*L+l)*d+e]
			}
		}
		for e := range d {
			pooled[b*d+e] /= max(n, 1e-9)
		}
	}
	return out, pooled
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// latentFD checks l's Backward (float32) against central differences of
// the float64 oracle, loss = Σ pooled·G, for H and every parameter tensor
// (every entry of small tensors, a sample with the largest of large ones).
func latentFD(t *testing.T, l *LatentAttention, H, G []float32, mask []int32, B, L, promptLen int) {
	t.Helper()
	c := l.LatentConfig
	a, err := l.NewActs(B * L)
	if err != nil {
		t.Fatal(err)
	}
	pooled := make([]float32, B*c.Dim)
	if err := l.Forward(kernels.HostBuf(pooled), a, kernels.HostBuf(H), mask, B, L, promptLen); err != nil {
		t.Fatal(err)
	}
	g, _ := l.NewGrads()
	dH := make([]float32, len(H))
	if err := l.Backward(kernels.HostBuf(dH), g, a, kernels.HostBuf(G), kernels.HostBuf(H)); err != nil {
		t.Fatal(err)
	}
	params := map[string][]float64{}
	for _, p := range l.Params.Tensors() {
		params[p.Name] = to64(p.Buf.Host())
	}
	h64, g64 := to64(H), to64(G)
	loss := func() float64 {
		_, p := latentRef(c, params, h64, mask, B, L, promptLen)
		var s float64
		for i, v := range p {
			s += v * g64[i]
		}
		return s
	}
	// The float32 forward agrees with the oracle.
	_, ref := latentRef(c, params, h64, mask, B, L, promptLen)
	if d := golden.MaxDiff(pooled, ref); d > 1e-5 {
		t.Errorf("pooled: max |diff| %.3g against the float64 oracle", d)
	}
	r := rand.New(rand.NewPCG(4, 4))
	check := func(name string, x []float64, got []float32) {
		idx := make([]int, len(x))
		for i := range idx {
			idx[i] = i
		}
		if len(x) > 96 {
			r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			idx = append(idx[:64], argmaxAbs32(got))
		}
		var scale float64
		for _, v := range got {
			scale = max(scale, math.Abs(float64(v)))
		}
		const h = 1e-6
		var worst float64
		for _, i := range idx {
			old := x[i]
			x[i] = old + h
			fp := loss()
			x[i] = old - h
			fm := loss()
			x[i] = old
			num := (fp - fm) / (2 * h)
			worst = max(worst, math.Abs(num-float64(got[i]))/(math.Abs(num)+1e-3*scale+1e-12))
		}
		if worst > 2e-4 {
			t.Errorf("%s: worst relative error against float64 finite differences %.3g", name, worst)
		} else {
			t.Logf("%s: worst relative error %.3g over %d entries", name, worst, len(idx))
		}
	}
	check("H", h64, dH)
	for _, p := range g.Tensors() {
		check(p.Name, params[p.Name], p.Buf.Host())
	}
}

func argmaxAbs32(x []float32) int {
	best := 0
	for i, v := range x {
		if math.Abs(float64(v)) > math.Abs(float64(x[best])) {
			best = i
		}
	}
	return best
}

// TestLatentFiniteDifferences checks every gradient of the fixtures'
// modules, and of modules of other shapes (inner width unlike Dim, one
// head, the instruction excluded from the mean) initialized as NV-Embed
// is, against float64 finite differences.
func TestLatentFiniteDifferences(t *testing.T) {
	for _, dir := range golden.Dirs(t, "training", "latent_attention.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			fx := readLatentFixture(t, dir)
			l, err := NewLatentAttention(kernels.NewCPU(), fx.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range l.Params.Tensors() {
				copy(p.Buf.Host(), fx.f32["param."+p.Name])
			}
			latentFD(t, l, fx.f32["H"], fx.f32["G"], fx.mask, fx.batch, fx.seq, 0)
		})
	}
	for _, c := range []LatentConfig{
		{Dim: 6, Latents: 5, Heads: 3, HeadDim: 4, IncludePrompt: false},
		{Dim: 8, Latents: 3, Heads: 1, HeadDim: 8, IncludePrompt: true},
	} {
		t.Run(fmt.Sprintf("d=%d,r=%d,heads=%dx%d,prompt=%v", c.Dim, c.Latents, c.Heads, c.HeadDim, c.IncludePrompt), func(t *testing.T) {
			l, err := NewLatentAttention(kernels.NewCPU(), c)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Params.Init(7); err != nil {
				t.Fatal(err)
			}
			// Move the LayerNorms off their identity start, so their
			// gradients are exercised with non-trivial values.
			r := rand.New(rand.NewPCG(5, 5))
			for _, b := range []kernels.Buf{l.Params.NormGamma, l.Params.NormBeta, l.Params.ContextGamma, l.Params.ContextBeta, l.Params.FFGamma, l.Params.FFBeta} {
				for i := range b.Host() {
					b.Host()[i] += float32(0.3 * r.NormFloat64())
				}
			}
			const B, L = 3, 5
			mask := []int32{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0}
			H := make([]float32, B*L*c.Dim)
			for i := range H {
				H[i] = float32(r.NormFloat64())
			}
			G := make([]float32, B*c.Dim)
			for i := range G {
				G[i] = float32(r.NormFloat64())
			}
			latentFD(t, l, H, G, mask, B, L, 2)
		})
	}
}

// TestLatentInit checks the initialization's distributions: N(0, 1)
// latents, U(±1/√fan_in) Linear weights and biases, LayerNorms at identity.
func TestLatentInit(t *testing.T) {
	c := LatentConfig{Dim: 32, Latents: 64, Heads: 4, HeadDim: 6}
	l, err := NewLatentAttention(kernels.NewCPU(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Params.Init(3); err != nil {
		t.Fatal(err)
	}
	fanIn := map[string]int{
		"cross_attend_blocks.0.fn.to_q.weight": c.Dim, "cross_attend_blocks.0.fn.to_kv.weight": c.Dim,
		"cross_attend_blocks.0.fn.to_out.weight": c.Inner(),
		"cross_attend_blocks.1.fn.net.0.weight":  c.Dim, "cross_attend_blocks.1.fn.net.0.bias": c.Dim,
		"cross_attend_blocks.1.fn.net.2.weight": c.FF(), "cross_attend_blocks.1.fn.net.2.bias": c.FF(),
	}
	for _, p := range l.Params.Tensors() {
		v := p.Buf.Host()
		var mean, sq, mx float64
		for _, x := range v {
			mean += float64(x)
			sq += float64(x) * float64(x)
			mx = max(mx, math.Abs(float64(x)))
		}
		mean /= float64(len(v))
		sd := math.Sqrt(sq/float64(len(v)) - mean*mean)
		switch n, ok := fanIn[p.Name]; {
		case p.Name == "latents":
			if math.Abs(mean) > 0.1 || math.Abs(sd-1) > 0.1 {
				t.Errorf("latents: mean %.3f sd %.3f, want N(0, 1)", mean, sd)
			}
		case ok:
			bound := 1 / math.Sqrt(float64(n))
			// U(−b, b) has sd b/√3.
			if mx > bound || math.Abs(sd-bound/math.Sqrt(3)) > 0.25*bound/math.Sqrt(3) {
				t.Errorf("%s: max %.4f sd %.4f, want U(±%.4f)", p.Name, mx, sd, bound)
			}
		default:
			want := 0.0
			if p.Name[len(p.Name)-6:] == "weight" {
				want = 1
			}
			for _, x := range v {
				if float64(x) != want {
					t.Fatalf("%s: %v, want all %v", p.Name, x, want)
				}
			}
		}
	}
	if len(l.Params.Tensors()) != 14 {
		t.Errorf("%d tensors", len(l.Params.Tensors()))
	}
}

// BenchmarkLatent runs the forward and backward passes at a BERT-small
// width with NV-Embed's 512 latents and 8 heads.
func BenchmarkLatent(b *testing.B) {
	for _, s := range []struct{ d, batch, seq int }{{256, 16, 64}} {
		c := LatentConfig{Dim: s.d, Latents: 512, Heads: 8, HeadDim: s.d / 8}
		l, _ := NewLatentAttention(kernels.NewCPU(), c)
		l.Params.Init(1)
		T := s.batch * s.seq
		a, _ := l.NewActs(T)
		g, _ := l.NewGrads()
		H := make([]float32, T*s.d)
		r := rand.New(rand.NewPCG(1, 1))
		for i := range H {
			H[i] = float32(r.NormFloat64())
		}
		mask := make([]int32, T)
		for i := range mask {
			mask[i] = 1
		}
		out := make([]float32, s.batch*s.d)
		dH := make([]float32, T*s.d)
		name := fmt.Sprintf("d=%d/batch=%d/seq=%d", s.d, s.batch, s.seq)
		b.Run("forward/"+name, func(b *testing.B) {
			for b.Loop() {
				l.Forward(kernels.HostBuf(out), a, kernels.HostBuf(H), mask, s.batch, s.seq, 0)
			}
		})
		b.Run("forward+backward/"+name, func(b *testing.B) {
			for b.Loop() {
				l.Forward(kernels.HostBuf(out), a, kernels.HostBuf(H), mask, s.batch, s.seq, 0)
				l.Backward(kernels.HostBuf(dH), g, a, kernels.HostBuf(out), kernels.HostBuf(H))
			}
		})
	}
}
