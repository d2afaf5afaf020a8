package bert

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/pooling"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// TestGoldenBackward runs every bert_backward fixture: loss =
// Σ mean_pool(last_hidden_state)·R, back-propagated through mean pooling
// and the whole encoder; every parameter's gradient and the gradient of
// the embedding output must match torch autograd's.
func TestGoldenBackward(t *testing.T) {
	for _, dir := range golden.Dirs(t, "training", "bert_backward.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			be := kernels.NewCPU()
			m, err := Load(be, dir)
			if err != nil {
				t.Fatal(err)
			}
			var meta struct{ Loss float64 }
			raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &meta); err != nil {
				t.Fatal(err)
			}
			f, err := safetensors.Open(filepath.Join(dir, "bert_backward.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			floats := func(name string) []float32 {
				tt, err := f.Tensor(name)
				if err != nil {
					t.Fatal(err)
				}
				v := make([]float32, tt.NumElements())
				if err := tt.Float32s(v); err != nil {
					t.Fatal(err)
				}
				return v
			}
			var batch, seq int
			ints := func(name string) []int32 {
				tt, err := f.Tensor(name)
				if err != nil {
					t.Fatal(err)
				}
				v := make([]int64, tt.NumElements())
				if err := tt.Int64s(v); err != nil {
					t.Fatal(err)
				}
				batch, seq = tt.Shape[0], tt.Shape[1]
				out := make([]int32, len(v))
				for i, x := range v {
					out[i] = int32(x)
				}
				return out
			}
			ids, types, mask := ints("input_ids"), ints("token_type_ids"), ints("attention_mask")
			H := m.Config.HiddenSize
			a, err := m.NewActivations(batch*seq, seq, true)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Forward(a, ids, types, mask, batch, seq); err != nil {
				t.Fatal(err)
			}
			pool, err := pooling.New(be, pooling.Config{Dim: H, Modes: []pooling.Mode{pooling.Mean}, IncludePrompt: true})
			if err != nil {
				t.Fatal(err)
			}
			pa, err := pool.NewActs(batch * seq)
			if err != nil {
				t.Fatal(err)
			}
			pooled := make([]float32, batch*H)
			if err := pool.Forward(kernels.HostBuf(pooled), pa, a.Hidden, mask, batch, seq, 0); err != nil {
				t.Fatal(err)
			}
			R := floats("R")
			var loss float64
			for i, v := range pooled {
				loss += float64(v) * float64(R[i])
			}
			if d := math.Abs(loss - meta.Loss); d > 1e-4*math.Abs(meta.Loss) {
				t.Errorf("loss %v, fixture %v", loss, meta.Loss)
			}

			dHidden := make([]float32, batch*seq*H)
			if err := pool.Backward(kernels.HostBuf(dHidden), pa, kernels.HostBuf(R), a.Hidden, batch, seq); err != nil {
				t.Fatal(err)
			}
			g, err := NewParams(be, m.Config)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Backward(g, a, kernels.HostBuf(dHidden)); err != nil {
				t.Fatal(err)
			}
			// A float32 implementation is within ~2e-5 of the float64
			// reference where gradients reach ~73 (fixture README).
			check := func(name string, got []float32, want []float32) {
				if len(got) != len(want) {
					t.Errorf("%s: %d values, fixture %d", name, len(got), len(want))
					return
				}
				var worst, scale float64
				for i, w := range want {
					worst = max(worst, math.Abs(float64(got[i])-float64(w)))
					scale = max(scale, math.Abs(float64(w)))
				}
				if worst > 1e-4+1e-5*scale || math.IsNaN(worst) {
					t.Errorf("%s: max |diff| %.3g (largest |grad| %.3g)", name, worst, scale)
				} else {
					t.Logf("%s: max |diff| %.3g (largest |grad| %.3g)", name, worst, scale)
				}
			}
			have := map[string]bool{}
			for _, p := range g.Tensors() {
				name := "grad." + p.Name
				have[name] = true
				if !f.Has(name) {
					t.Errorf("fixture has no %s", name)
					continue
				}
				check(p.Name, p.Buf.Host(), floats(name))
			}
			check("embedding_output", a.DEmbedding.Host(), floats("grad.embedding_output"))
			// Gradients of parameters the encoder does not have (the
			// pooler, unused by sentence-transformers) must be zero.
			for _, name := range f.Names() {
				if strings.HasPrefix(name, "grad.") && name != "grad.embedding_output" && !have[name] {
					for _, v := range floats(name) {
						if v != 0 {
							t.Errorf("fixture gradient %s is not zero, but the encoder has no such parameter", name)
							break
						}
					}
				}
			}
		})
	}
}

// tinyModel is a random BERT small enough for finite differences.
func tinyModel(t *testing.T, seed uint64) *Model {
	c := Config{ModelType: "bert", VocabSize: 23, HiddenSize: 8, NumHiddenLayers: 2, NumAttentionHeads: 2,
		IntermediateSize: 12, HiddenAct: "gelu", MaxPositionEmbeddings: 16, TypeVocabSize: 2, LayerNormEps: 1e-12,
		PositionEmbeddingType: "absolute", HiddenDropoutProb: 0.1, AttentionProbsDropoutProb: 0.1}
	m, err := New(kernels.NewCPU(), c)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, seed))
	for _, p := range m.Params.Tensors() {
		for i := range p.Buf.Host() {
			v := 0.3 * r.NormFloat64()
			if strings.Contains(p.Name, "LayerNorm.weight") {
				v += 1
			}
			p.Buf.Host()[i] = float32(v)
		}
	}
	return m
}

// TestBackwardFiniteDifferences checks the composed backward pass — every
// parameter tensor, with dropout on (hidden and attention) and a padded,
// mixed-length batch under max+mean pooling — against central
// differences of the forward. The forward is float32, so the check
// samples entries and allows 1% (the building blocks are checked to 1e-4
// against float64 differences in package kernels).
func TestBackwardFiniteDifferences(t *testing.T) {
	m := tinyModel(t, 3)
	be := m.Backend
	const batch, seq = 3, 6
	ids := []int32{1, 5, 9, 2, 0, 0, 1, 7, 7, 7, 3, 2, 1, 4, 2, 0, 0, 0}
	mask := []int32{1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}
	types := []int32{0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0}
	H := m.Config.HiddenSize
	pool, _ := pooling.New(be, pooling.Config{Dim: H, Modes: []pooling.Mode{pooling.Max, pooling.Mean}, IncludePrompt: true})
	pa, _ := pool.NewActs(batch * seq)
	r := rand.New(rand.NewPCG(8, 8))
	R := make([]float32, batch*pool.OutputDim())
	for i := range R {
		R[i] = float32(r.NormFloat64())
	}
	a, err := m.NewActivations(batch*seq, seq, true)
	if err != nil {
		t.Fatal(err)
	}
	a.Dropout = Dropout{Hidden: 0.1, Attention: 0.1, Seed: 42, Offset: 5}
	pooled := make([]float32, batch*pool.OutputDim())
	lossAt := func() float64 {
		if err := m.Forward(a, ids, types, mask, batch, seq); err != nil {
			t.Fatal(err)
		}
		if err := pool.Forward(kernels.HostBuf(pooled), pa, a.Hidden, mask, batch, seq, 0); err != nil {
			t.Fatal(err)
		}
		var l float64
		for i, v := range pooled {
			l += float64(v) * float64(R[i])
		}
		return l
	}
	lossAt()
	dHidden := make([]float32, batch*seq*H)
	if err := pool.Backward(kernels.HostBuf(dHidden), pa, kernels.HostBuf(R), a.Hidden, batch, seq); err != nil {
		t.Fatal(err)
	}
	g, _ := NewParams(be, m.Config)
	if err := m.Backward(g, a, kernels.HostBuf(dHidden)); err != nil {
		t.Fatal(err)
	}
	grads := g.Tensors()
	for pi, p := range m.Params.Tensors() {
		w, gw := p.Buf.Host(), grads[pi].Buf.Host()
		// The largest-gradient entries plus a few others: entries of
		// unused embedding rows have exactly zero gradient.
		idx := []int{argmaxAbs(gw)}
		for k := 0; k < 3; k++ {
			idx = append(idx, r.IntN(len(w)))
		}
		var scale float64
		for _, v := range gw {
			scale = max(scale, math.Abs(float64(v)))
		}
		for _, i := range idx {
			const h = 1e-2
			old := w[i]
			w[i] = old + h
			fp := lossAt()
			w[i] = old - h
			fm := lossAt()
			w[i] = old
			num := (fp - fm) / (2 * h)
			if err := math.Abs(num - float64(gw[i])); err > 1e-2*(math.Abs(num)+scale)+1e-4 {
				t.Errorf("%s[%d]: backward %v, finite differences %v", p.Name, i, gw[i], num)
			}
		}
	}
	if t.Failed() {
		return
	}
	// The dropout masks made a difference (otherwise this test would
	// not exercise their replay).
	a.Dropout = Dropout{}
	withMasks := append([]float32(nil), pooled...)
	lossAt()
	same := true
	for i := range pooled {
		same = same && pooled[i] == withMasks[i]
	}
	if same {
		t.Fatal("dropout changed nothing")
	}
}

func argmaxAbs(x []float32) int {
	best := 0
	for i, v := range x {
		if math.Abs(float64(v)) > math.Abs(float64(x[best])) {
			best = i
		}
	}
	return best
}

func TestBackwardErrors(t *testing.T) {
	m := tinyModel(t, 1)
	g, _ := NewParams(m.Backend, m.Config)
	inf, _ := m.NewActivations(8, 4, false)
	if err := m.Backward(g, inf, kernels.HostBuf(make([]float32, 64))); err == nil {
		t.Error("Backward on inference activations: no error")
	}
	a, _ := m.NewActivations(8, 4, true)
	if err := m.Backward(g, a, kernels.HostBuf(make([]float32, 64))); err == nil {
		t.Error("Backward before Forward: no error")
	}
	if err := m.Forward(a, []int32{1, 2, 3, 4}, nil, []int32{1, 1, 1, 1}, 1, 4); err != nil {
		t.Fatal(err)
	}
	if err := m.Backward(g, a, kernels.HostBuf(make([]float32, 3))); err == nil {
		t.Error("short dHidden: no error")
	}
	if err := m.Backward(nil, a, kernels.HostBuf(make([]float32, 32))); err == nil {
		t.Error("nil gradients: no error")
	}
	a.Dropout = Dropout{Hidden: 1}
	if err := m.Forward(a, []int32{1, 2, 3, 4}, nil, []int32{1, 1, 1, 1}, 1, 4); err == nil {
		t.Error("dropout 1: no error")
	}
	_ = fmt.Sprint()
}
