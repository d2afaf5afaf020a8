package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/loss"
	"github.com/kotodama-ai/kotodama/pooling"
)

// testLatentBERT loads the first model fixture with a fresh latent
// attention (8 latents, 2 heads, NV-Embed's initialization).
func testLatentBERT(t testing.TB, frozen bool) (*LatentBERT, string) {
	t.Helper()
	dir := golden.Dirs(t, "models", "modules.json")[0]
	m, err := bert.Load(kernels.NewCPU(), dir)
	if err != nil {
		t.Fatal(err)
	}
	H := m.Config.HiddenSize
	la, err := pooling.NewLatentAttention(m.Backend, pooling.LatentConfig{Dim: H, Latents: 8, Heads: 2, HeadDim: H / 2, IncludePrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := la.Params.Init(11); err != nil {
		t.Fatal(err)
	}
	e, err := NewLatentBERT(m, la, frozen)
	if err != nil {
		t.Fatal(err)
	}
	return e, dir
}

// TestLatentBERTGradients: the composed backward pass (latent attention
// into the encoder) against central differences of Encode, and GradCache
// against the full batch, trained with the encoder and with it frozen.
// (Each part is checked against float64 differences in its package; this
// checks the wiring, so float32 differences on a sample suffice.)
func TestLatentBERTGradients(t *testing.T) {
	ctx := context.Background()
	for _, frozen := range []bool{false, true} {
		e, _ := testLatentBERT(t, frozen)
		wantN := len(e.Latent.Params.Tensors())
		if !frozen {
			wantN += len(e.Model.Params.Tensors())
		}
		if len(e.Params()) != wantN {
			t.Fatalf("frozen=%v: %d params, want %d", frozen, len(e.Params()), wantN)
		}
		if err := checkParams(e.Params()); err != nil {
			t.Fatal(err)
		}
		batch := randomBatch(rand.New(rand.NewPCG(6, 6)), 4, 1, 1000)
		l, _ := loss.NewInfoNCE()
		ZeroGrad(e.Params())
		full, err := Backprop(ctx, e, l, batch, Mode{}, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		wantG := grads(e.Params())
		ZeroGrad(e.Params())
		got, err := Backprop(ctx, e, l, batch, Mode{}, 5, 1)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(got-full)) > 1e-5*max(1, math.Abs(float64(full))) {
			t.Errorf("frozen=%v: GradCache loss %v, full batch %v", frozen, got, full)
		}
		for i, g := range grads(e.Params()) {
			var worst, scale float64
			for j := range g {
				worst = max(worst, math.Abs(float64(g[j]-wantG[i][j])))
				scale = max(scale, math.Abs(float64(wantG[i][j])))
			}
			if worst > 1e-4*scale+1e-7 {
				t.Errorf("frozen=%v: GradCache %s: max diff %.3g (largest %.3g)", frozen, e.Params()[i].Name, worst, scale)
			}
		}

		lossAt := func() float64 {
			n, d := len(batch.Seqs), e.Dim()
			emb := make([]float32, n*d)
			if _, err := e.Encode(ctx, emb, batch.Seqs, Mode{}); err != nil {
				t.Fatal(err)
			}
			v, err := l.Loss(make([]float32, batch.B*d), make([]float32, (n-batch.B)*d), emb[:batch.B*d], emb[batch.B*d:], batch.B, d)
			if err != nil {
				t.Fatal(err)
			}
			return float64(v)
		}
		r := rand.New(rand.NewPCG(7, 7))
		for pi, p := range e.Params() {
			w, gw := p.Value.Host(), wantG[pi]
			var scale float64
			for _, v := range gw {
				scale = max(scale, math.Abs(float64(v)))
			}
			for _, i := range []int{argmaxAbs(gw), r.IntN(len(w))} {
				const h = 1e-2
				old := w[i]
				w[i] = old + h
				fp := lossAt()
				w[i] = old - h
				fm := lossAt()
				w[i] = old
				num := (fp - fm) / (2 * h)
				if math.Abs(num-float64(gw[i])) > 2e-2*(math.Abs(num)+scale)+1e-4 {
					t.Errorf("frozen=%v: %s[%d]: backward %v, finite differences %v", frozen, p.Name, i, gw[i], num)
				}
			}
		}
		if !frozen {
			// The encoder learns too.
			if GradNorm(e.Params()[:len(e.Model.Params.Tensors())]) == 0 {
				t.Error("encoder gradients are all zero")
			}
		}
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

// TestLatentModelDir: the saved directory has the latent attention in
// place of Pooling, with NV-Embed's names, and every Param in the
// top-level model.safetensors (what resuming reads).
func TestLatentModelDir(t *testing.T) {
	e, src := testLatentBERT(t, false)
	for _, p := range e.Params() {
		for i := range p.Value.Host() {
			p.Value.Host()[i] += 0.001
		}
	}
	dir := filepath.Join(t.TempDir(), "model")
	md := ModelDir{Source: src}
	if err := md.SaveLatentFinal(dir, e); err != nil {
		t.Fatal(err)
	}
	var ms []stModule
	b, _ := os.ReadFile(filepath.Join(dir, "modules.json"))
	if err := json.Unmarshal(b, &ms); err != nil {
		t.Fatal(err)
	}
	types := []string{}
	for _, m := range ms {
		types = append(types, m.Type)
	}
	if !slices.Equal(types, []string{stTransformer, pooling.LatentModuleType, "sentence_transformers.models.Normalize"}) || ms[1].Path != "1_LatentAttention" {
		t.Fatalf("modules.json: %s", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "1_Pooling")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("1_Pooling left in the saved model: %v", err)
	}
	la, err := pooling.LoadLatentAttention(kernels.NewCPU(), nil, filepath.Join(dir, "1_LatentAttention"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(la.Params.Arena.Host(), e.Latent.Params.Arena.Host()) {
		t.Error("the module folder's weights differ from the trained ones")
	}
	// Resuming reads every Param back from model.safetensors.
	e2, _ := testLatentBERT(t, false)
	if err := LoadParams(filepath.Join(dir, "model.safetensors"), e2.Params()); err != nil {
		t.Fatal(err)
	}
	for i, p := range e2.Params() {
		if !slices.Equal(p.Value.Host(), e.Params()[i].Value.Host()) {
			t.Fatalf("%s differs after LoadParams", p.Name)
		}
	}
	// Saving from a source that already has the module keeps one.
	dir2 := filepath.Join(t.TempDir(), "again")
	if err := (ModelDir{Source: dir}).SaveLatentFinal(dir2, e); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(filepath.Join(dir2, "modules.json"))
	if !bytes.Equal(b, b2) {
		t.Errorf("modules.json changed on a second save: %s", b2)
	}
}

// TestLatentResume: a LatentBERT run stopped after a checkpoint and
// resumed ends with the weights of an uninterrupted run, frozen encoder
// or not.
func TestLatentResume(t *testing.T) {
	for _, frozen := range []bool{false, true} {
		run := func(dir string, stopAt int) ([]byte, error) {
			e, src := testLatentBERT(t, frozen)
			opt, err := NewAdamW(e.Params())
			if err != nil {
				t.Fatal(err)
			}
			l, _ := loss.NewInfoNCE()
			tr := &Trainer{
				Encoder: e, Loss: l, Opt: opt, Data: toySource{4, 1, 1000},
				SaveModel: func(d string) error { return ModelDir{Source: src}.SaveLatent(d, e) },
				Steps:     4, MiniBatch: 5, MaxNorm: 1,
				Schedule: Schedule{LR: 1e-2, Warmup: 1, Total: 4, Decay: Linear},
				Seed:     3, Dropout: true, Dir: dir, CheckpointEvery: 2,
			}
			if err := tr.Resume(); err != nil && !errors.Is(err, ErrNoCheckpoint) {
				t.Fatal(err)
			}
			stop := errors.New("stop")
			tr.OnStep = func(s StepInfo) error {
				if s.Step == stopAt {
					return stop
				}
				return nil
			}
			if err := tr.Run(context.Background()); err != nil {
				return nil, err
			}
			return os.ReadFile(filepath.Join(dir, "checkpoints", "step-00000004", "model", "model.safetensors"))
		}
		want, err := run(t.TempDir(), -1)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if _, err := run(dir, 3); err == nil || !strings.Contains(err.Error(), "stop") {
			t.Fatalf("interrupted run: %v", err)
		}
		got, err := run(dir, -1)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("frozen=%v: weights after resuming differ from the uninterrupted run", frozen)
		}
	}
}

func TestNoDecayLatent(t *testing.T) {
	for name, want := range map[string]bool{
		"latent_attention_model.cross_attend_blocks.0.norm_context.weight": true,
		"latent_attention_model.cross_attend_blocks.0.norm_context.bias":   true,
		"latent_attention_model.cross_attend_blocks.1.norm.weight":         true,
		"latent_attention_model.cross_attend_blocks.0.fn.to_q.weight":      false,
		"latent_attention_model.latents":                                   false,
		"latent_attention_model.cross_attend_blocks.1.fn.net.0.bias":       true,
	} {
		if got := NoDecay(name); got != want {
			t.Errorf("NoDecay(%q) = %v, want %v", name, got, want)
		}
	}
}
