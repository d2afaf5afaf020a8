package retromae

import (
	"encoding/json"
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

// Tolerances for this float32 implementation against the fixture's
// float64 reference (stored float32); the fixture README states none.
// Losses are compared relatively, tensors absolutely (relatively above
// 1). What float32 rounding gives here is about 1.5e-8 relative on the
// losses and 1.2e-6 on the tensors (largest values ~4, largest gradient
// ~1), so these bounds leave a margin of about 10 and still catch any
// wrong term: the smallest gradient tensors are ~1e-2.
const (
	lossTol   = 1e-6
	tensorTol = 1e-5
)

// fixture is one retromae golden directory, read.
type fixture struct {
	dir   string
	meta  struct{ Loss, EncoderMLMLoss, DecoderMLMLoss float64 }
	batch Batch
	f32   map[string][]float32
	names []string
}

func readFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	fx := &fixture{dir: dir, f32: map[string][]float32{}}
	raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Loss           float64 `json:"loss"`
		EncoderMLMLoss float64 `json:"encoder_mlm_loss"`
		DecoderMLMLoss float64 `json:"decoder_mlm_loss"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	fx.meta.Loss, fx.meta.EncoderMLMLoss, fx.meta.DecoderMLMLoss = meta.Loss, meta.EncoderMLMLoss, meta.DecoderMLMLoss
	f, err := safetensors.Open(filepath.Join(dir, "retromae.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ints := func(name string) []int32 {
		tt, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]int64, tt.NumElements())
		if err := tt.Int64s(v); err != nil {
			t.Fatal(err)
		}
		fx.batch.B, fx.batch.L = tt.Shape[0], tt.Shape[1]
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return out
	}
	b := &fx.batch
	b.DecoderVisible = ints("decoder_attention_mask")
	b.DecoderInputIDs, b.EncoderInputIDs = ints("decoder_input_ids"), ints("encoder_input_ids")
	b.AttentionMask, b.EncoderLabels, b.DecoderLabels = ints("encoder_attention_mask"), ints("encoder_labels"), ints("decoder_labels")
	for _, n := range f.Names() {
		tt, _ := f.Tensor(n)
		if tt.DType.IsFloat() {
			v := make([]float32, tt.NumElements())
			if err := tt.Float32s(v); err != nil {
				t.Fatal(err)
			}
			fx.f32[n] = v
			fx.names = append(fx.names, n)
		}
	}
	return fx
}

// loadFixtureModel builds the fixture's model: the encoder and head from
// model-mlm.safetensors (config-mlm.json), the decoder from
// c_head.safetensors.
func loadFixtureModel(t *testing.T, dir string) *Model {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "config-mlm.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := bert.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := bert.New(kernels.NewCPU(), c)
	if err != nil {
		t.Fatal(err)
	}
	fm, err := safetensors.Open(filepath.Join(dir, "model-mlm.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer fm.Close()
	if err := enc.LoadWeights(fm); err != nil {
		t.Fatal(err)
	}
	m, err := New(enc)
	if err != nil {
		t.Fatal(err)
	}
	if missing, err := m.LoadWeights(fm); err != nil || len(missing) != 1 || missing[0] != PartDecoder {
		t.Fatalf("model-mlm.safetensors: missing %v, %v; want only the decoder missing", missing, err)
	}
	fc, err := safetensors.Open(filepath.Join(dir, "c_head.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	if missing, err := m.LoadWeights(fc); err != nil || len(missing) != 1 || missing[0] != PartHead {
		t.Fatalf("c_head.safetensors: missing %v, %v; want only the head missing", missing, err)
	}
	return m
}

// compare reports the largest difference between got and want over the
// rows (of cols values) that keep selects (all when keep is nil).
func compare(t *testing.T, name string, got, want []float32, cols int, keep func(row int) bool) {
	t.Helper()
	if len(got) < len(want) {
		t.Errorf("%s: %d values, fixture %d", name, len(got), len(want))
		return
	}
	var worst, scale float64
	for i, w := range want {
		if keep != nil && !keep(i/cols) {
			continue
		}
		worst = max(worst, math.Abs(float64(got[i])-float64(w)))
		scale = max(scale, math.Abs(float64(w)))
	}
	if worst > tensorTol*max(1, scale) || math.IsNaN(worst) {
		t.Errorf("%s: max |diff| %.3g (largest |value| %.3g)", name, worst, scale)
	} else {
		t.Logf("%s: max |diff| %.3g (largest |value| %.3g)", name, worst, scale)
	}
}

// TestGolden runs every retromae fixture: with its masks and visibility
// matrix, both losses, the intermediate tensors and the gradient of
// every parameter must match the PyTorch reference.
func TestGolden(t *testing.T) {
	for _, dir := range golden.Dirs(t, filepath.Join("training"), "retromae.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			fx := readFixture(t, dir)
			m := loadFixtureModel(t, dir)
			b := &fx.batch
			a, err := m.NewActs(b.B, b.L, true)
			if err != nil {
				t.Fatal(err)
			}
			l, err := m.Forward(a, b)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"loss", l.Total, fx.meta.Loss},
				{"encoder_mlm_loss", l.Encoder, fx.meta.EncoderMLMLoss},
				{"decoder_mlm_loss", l.Decoder, fx.meta.DecoderMLMLoss},
			} {
				if d := math.Abs(c.got - c.want); d > lossTol*math.Abs(c.want) || math.IsNaN(c.got) {
					t.Errorf("%s = %.7f, fixture %.7f (diff %.3g)", c.name, c.got, c.want, d)
				} else {
					t.Logf("%s = %.7f, fixture %.7f (diff %.3g)", c.name, c.got, c.want, d)
				}
			}
			H := m.Encoder.Config.HiddenSize
			real := func(row int) bool { return b.AttentionMask[row] != 0 }
			compare(t, "encoder_last_hidden_state", a.Enc.Hidden.Host(), fx.f32["encoder_last_hidden_state"], H, nil)
			compare(t, "cls_hidden", a.CLS.Host(), fx.f32["cls_hidden"], H, nil)
			compare(t, "decoder_kv_stream_h2", a.KV.Host(), fx.f32["decoder_kv_stream_h2"], H, nil)
			compare(t, "decoder_query_stream_h1", a.Query.Host(), fx.f32["decoder_query_stream_h1"], H, nil)
			compare(t, "decoder_hidden", a.Dec.FFN.Out.Host(), fx.f32["decoder_hidden"], H, real)

			g, err := m.NewGrads()
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Backward(g, a); err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, p := range g.Tensors() {
				name := "grad." + p.Name
				have[name] = true
				want, ok := fx.f32[name]
				if !ok {
					t.Errorf("fixture has no %s", name)
					continue
				}
				compare(t, name, p.Buf.Host(), want, p.Shape[len(p.Shape)-1], nil)
			}
			for _, n := range fx.names {
				if strings.HasPrefix(n, "grad.") && !have[n] {
					t.Errorf("fixture gradient %s: the model has no such parameter", n)
				}
			}
		})
	}
}
