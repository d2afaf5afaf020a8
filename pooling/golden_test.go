package pooling

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// tolerance is the model fixtures' README's for float32 implementations.
const tolerance = 1e-5

type fixture struct {
	batch, seq       int
	ids, types, mask []int32
	f32              map[string][]float32
}

func readFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx := &fixture{f32: map[string][]float32{}}
	ints := func(name string) []int32 {
		tt, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]int64, tt.NumElements())
		if err := tt.Int64s(v); err != nil {
			t.Fatal(err)
		}
		fx.batch, fx.seq = tt.Shape[0], tt.Shape[1]
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return out
	}
	fx.ids, fx.types, fx.mask = ints("input_ids"), ints("token_type_ids"), ints("attention_mask")
	for _, n := range f.Names() {
		tt, _ := f.Tensor(n)
		if tt.DType == safetensors.F32 {
			v := make([]float32, tt.NumElements())
			if err := tt.Float32s(v); err != nil {
				t.Fatal(err)
			}
			fx.f32[n] = v
		}
	}
	return fx
}

// encode runs the fixture's model over its padded batch and returns the
// last hidden state on the backend.
func encode(t *testing.T, be kernels.Backend, dir string, fx *fixture) (*bert.Model, kernels.Buf) {
	t.Helper()
	m, err := bert.Load(be, dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.NewActivations(fx.batch*fx.seq, fx.seq, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Forward(a, fx.ids, fx.types, fx.mask, fx.batch, fx.seq); err != nil {
		t.Fatal(err)
	}
	return m, a.Hidden
}

func pool(t *testing.T, be kernels.Backend, c Config, hidden kernels.Buf, mask []int32, batch, seq, promptLen int) []float32 {
	t.Helper()
	p, err := New(be, c)
	if err != nil {
		t.Fatal(err)
	}
	acts, err := p.NewActs(batch * seq)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := be.Alloc(batch * c.OutputDim())
	if err := p.Forward(out, acts, hidden, mask, batch, seq, promptLen); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, out.Len())
	if err := be.Download(got, out); err != nil {
		t.Fatal(err)
	}
	return got
}

// maxRelDiff is the largest |got-want| / max(1, |want|).
func maxRelDiff(got []float32, want []float64) float64 {
	d := 0.0
	for i, w := range want {
		x := math.Abs(float64(got[i])-w) / max(1, math.Abs(w))
		if math.IsNaN(x) {
			return math.Inf(1)
		}
		d = max(d, x)
	}
	return d
}

// TestGoldenPooling pools every model fixture's encoder output with each
// mode the fixture stores, and with the model's configured pooling (and
// Normalize when modules.json lists it) against its final embedding.
func TestGoldenPooling(t *testing.T) {
	for _, dir := range golden.Dirs(t, "models", "expected.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			be := kernels.NewCPU()
			fx := readFixture(t, dir)
			m, hidden := encode(t, be, dir, fx)
			H := m.Config.HiddenSize
			for _, mode := range []Mode{Mean, CLS, Max, LastToken} {
				want, ok := fx.f32["pooled_"+mode.String()]
				if !ok {
					t.Fatalf("fixture has no pooled_%s", mode)
				}
				got := pool(t, be, Config{Dim: H, Modes: []Mode{mode}, IncludePrompt: true}, hidden, fx.mask, fx.batch, fx.seq, 0)
				d := golden.MaxDiff(got, want)
				t.Logf("pooled_%s: max |diff| %.3g", mode, d)
				if d > tolerance {
					t.Errorf("pooled_%s: max |diff| %g > %g", mode, d, tolerance)
				}
			}
			b, err := os.ReadFile(filepath.Join(dir, "1_Pooling", "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseConfig(b)
			if err != nil {
				t.Fatal(err)
			}
			got := pool(t, be, c, hidden, fx.mask, fx.batch, fx.seq, 0)
			modules, err := os.ReadFile(filepath.Join(dir, "modules.json"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(modules), "sentence_transformers.models.Normalize") {
				Normalize(got, c.OutputDim())
			}
			d := golden.MaxDiff(got, fx.f32["embedding"])
			t.Logf("embedding (%v): max |diff| %.3g", c.Modes, d)
			if d > tolerance {
				t.Errorf("embedding: max |diff| %g > %g", d, tolerance)
			}
		})
	}
}

// refPool is sentence-transformers' Pooling.forward transcribed in
// float64 over a fixture's reference hidden states, for the modes and
// settings the fixtures do not store.
func refPool(h []float32, mask []int32, batch, seq, dim int, modes []Mode, includePrompt bool, promptLen int) []float64 {
	m := append([]int32(nil), mask...)
	if !includePrompt {
		for b := range batch {
			for l := range min(promptLen, seq) {
				m[b*seq+l] = 0
			}
		}
	}
	var out []float64
	for b := range batch {
		for _, mode := range modes {
			v := make([]float64, dim)
			at := func(l, c int) float64 { return float64(h[(b*seq+l)*dim+c]) }
			switch mode {
			case CLS:
				for c := range v {
					v[c] = at(0, c)
				}
			case Max:
				for c := range v {
					v[c] = math.Inf(-1)
					for l := range seq {
						x := at(l, c)
						if m[b*seq+l] == 0 {
							x = -1e9
						}
						v[c] = max(v[c], x)
					}
				}
			case Mean, MeanSqrtLen, WeightedMean:
				var sum float64
				for l := range seq {
					w := float64(m[b*seq+l])
					if mode == WeightedMean {
						w *= float64(l + 1)
					}
					sum += w
					for c := range v {
						v[c] += at(l, c) * w
					}
				}
				sum = max(sum, 1e-9)
				if mode == MeanSqrtLen {
					sum = math.Sqrt(sum)
				}
				for c := range v {
					v[c] /= sum
				}
			case LastToken:
				idx := 0
				for l := seq - 1; l >= 0; l-- {
					if m[b*seq+l] != 0 {
						idx = l
						break
					}
				}
				for c := range v {
					v[c] = at(idx, c) * float64(m[b*seq+idx])
				}
			}
			out = append(out, v...)
		}
	}
	return out
}

// TestPoolingModes checks every mode, all of them concatenated, and
// include_prompt=false against the float64 transcription, on the
// fixtures' reference hidden states.
func TestPoolingModes(t *testing.T) {
	for _, dir := range golden.Dirs(t, "models", "expected.safetensors") {
		fx := readFixture(t, dir)
		h := fx.f32["last_hidden_state"]
		dim := len(h) / (fx.batch * fx.seq)
		be := kernels.NewCPU()
		hidden := kernels.HostBuf(h)
		all := []Mode{CLS, Max, Mean, MeanSqrtLen, WeightedMean, LastToken}
		cases := []struct {
			modes         []Mode
			includePrompt bool
			promptLen     int
		}{
			{[]Mode{MeanSqrtLen}, true, 0},
			{[]Mode{WeightedMean}, true, 0},
			{all, true, 0},
			{all, false, 4},
			{[]Mode{Mean, LastToken}, false, 1 << 20}, // the prompt covers everything
		}
		for _, tc := range cases {
			want := refPool(h, fx.mask, fx.batch, fx.seq, dim, tc.modes, tc.includePrompt, tc.promptLen)
			got := pool(t, be, Config{Dim: dim, Modes: tc.modes, IncludePrompt: tc.includePrompt}, hidden, fx.mask, fx.batch, fx.seq, tc.promptLen)
			// mean_sqrt_len grows with √length (16× at 256 tokens), so the
			// float32 sum's error is judged relative to the values.
			if d := maxRelDiff(got, want); d > tolerance {
				t.Errorf("%s: modes %v include_prompt=%v prompt %d: max |diff| %g", filepath.Base(dir), tc.modes, tc.includePrompt, tc.promptLen, d)
			}
		}
	}
}

func TestParseConfig(t *testing.T) {
	for in, want := range map[string]Config{
		`{"word_embedding_dimension": 8}`: {Dim: 8, Modes: []Mode{Mean}, IncludePrompt: true},
		`{"word_embedding_dimension": 8, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false, "include_prompt": false}`: {Dim: 8, Modes: []Mode{CLS}},
		`{"word_embedding_dimension": 8, "pooling_mode_lasttoken": true, "pooling_mode_max_tokens": true}`:                            {Dim: 8, Modes: []Mode{Max, Mean, LastToken}, IncludePrompt: true},
		`{"word_embedding_dimension": 8, "pooling_mode": "weightedmean"}`:                                                             {Dim: 8, Modes: []Mode{WeightedMean}, IncludePrompt: true},
	} {
		got, err := ParseConfig([]byte(in))
		if err != nil || got.Dim != want.Dim || got.IncludePrompt != want.IncludePrompt || len(got.Modes) != len(want.Modes) {
			t.Errorf("%s: got %+v (%v), want %+v", in, got, err, want)
			continue
		}
		for i := range got.Modes {
			if got.Modes[i] != want.Modes[i] {
				t.Errorf("%s: modes %v, want %v", in, got.Modes, want.Modes)
			}
		}
	}
	for _, in := range []string{`{}`, `{"word_embedding_dimension": 8, "pooling_mode_mean_tokens": false}`, `{"word_embedding_dimension": 8, "pooling_mode": "median"}`, `[`} {
		if _, err := ParseConfig([]byte(in)); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}
