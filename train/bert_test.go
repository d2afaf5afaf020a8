package train

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/loss"
	"github.com/kotodama-ai/kotodama/pooling"
)

// testBERT loads the first model fixture (a tiny random BERT in the
// sentence-transformers layout) with mean pooling and its config's
// dropout, and returns it with its directory.
func testBERT(t testing.TB) (*BERT, string) {
	t.Helper()
	dir := golden.Dirs(t, "models", "modules.json")[0]
	m, err := bert.Load(kernels.NewCPU(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.HiddenDropoutProb == 0 || m.Config.AttentionProbsDropoutProb == 0 {
		t.Fatalf("%s: the tests want a config with dropout", dir)
	}
	p, err := pooling.New(m.Backend, pooling.Config{Dim: m.Config.HiddenSize, Modes: []pooling.Mode{pooling.Mean}, IncludePrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewBERT(m, p)
	if err != nil {
		t.Fatal(err)
	}
	return e, dir
}

// TestBERTGradCacheEqualsFullBatch: on a real BERT with dropout on, every
// GradCache mini-batch size gives the one-shot loss and gradients.
func TestBERTGradCacheEqualsFullBatch(t *testing.T) {
	ctx := context.Background()
	e, _ := testBERT(t)
	batch := randomBatch(rand.New(rand.NewPCG(5, 5)), 4, 1, 1000)
	l, _ := loss.NewInfoNCE()
	mode := Mode{Train: true, Seed: 3}
	ZeroGrad(e.Params())
	want, err := Backprop(ctx, e, l, batch, mode, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantG := grads(e.Params())
	for _, mb := range []int{1, 5} {
		ZeroGrad(e.Params())
		got, err := Backprop(ctx, e, l, batch, mode, mb, 1)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(got-want)) > 1e-5*max(1, math.Abs(float64(want))) {
			t.Errorf("mini=%d: loss %v, full batch %v", mb, got, want)
		}
		for i, g := range grads(e.Params()) {
			var worst, scale float64
			for j := range g {
				worst = max(worst, math.Abs(float64(g[j]-wantG[i][j])))
				scale = max(scale, math.Abs(float64(wantG[i][j])))
			}
			if worst > 1e-4*scale+1e-7 {
				t.Errorf("mini=%d: %s: max diff %.3g (largest gradient %.3g)", mb, e.Params()[i].Name, worst, scale)
			}
		}
	}
	// Without dropout the model must give another loss, or the test above
	// would not show the masks replay.
	ZeroGrad(e.Params())
	if v, _ := Backprop(ctx, e, l, batch, Mode{}, 0, 1); v == want {
		t.Fatal("dropout changed nothing")
	}
}

// TestModelDirRoundTrip: a saved model directory loads back with the same
// weights and pooling, keeps the source's files and adds the prompts.
func TestModelDirRoundTrip(t *testing.T) {
	e, src := testBERT(t)
	// Move the weights so the saved ones differ from the source's.
	for _, p := range e.Params() {
		for i := range p.Value.Host() {
			p.Value.Host()[i] += 0.001
		}
	}
	dir := filepath.Join(t.TempDir(), "model")
	md := ModelDir{Source: src, MaxSeqLength: 33, Prompts: map[string]string{"query": "クエリ: ", "document": "文章: "}}
	if err := md.SaveFinal(dir, e); err != nil {
		t.Fatal(err)
	}
	if err := md.SaveFinal(dir, e); err != nil { // replacing an existing one
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	} else if st.Mode().Perm()&0o055 != 0o055 {
		t.Fatalf("the model directory is not readable by others: %v", st.Mode())
	}
	m2, err := bert.Load(kernels.NewCPU(), dir)
	if err != nil {
		t.Fatal(err)
	}
	got := m2.Params.Tensors()
	for i, p := range e.Params() {
		if !slices.Equal(got[i].Buf.Host(), p.Value.Host()) {
			t.Fatalf("%s differs after the round trip", p.Name)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "1_Pooling", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := pooling.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pc.Modes, e.Pool.Modes) || pc.Dim != e.Pool.Dim {
		t.Fatalf("pooling config %+v, trained with %+v", pc, e.Pool.Config)
	}
	var st struct{ Prompts map[string]string }
	b, _ = os.ReadFile(filepath.Join(dir, "config_sentence_transformers.json"))
	if err := json.Unmarshal(b, &st); err != nil || st.Prompts["query"] != "クエリ: " {
		t.Fatalf("config_sentence_transformers.json: %s (%v)", b, err)
	}
	var sb struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	b, _ = os.ReadFile(filepath.Join(dir, "sentence_bert_config.json"))
	if err := json.Unmarshal(b, &sb); err != nil || sb.MaxSeqLength != 33 {
		t.Fatalf("sentence_bert_config.json: %s (%v)", b, err)
	}
	var cfg struct {
		TorchDtype string `json:"torch_dtype"`
	}
	b, _ = os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.TorchDtype != "float32" {
		t.Fatalf("config.json names torch_dtype %q for F32 weights (%v)", cfg.TorchDtype, err)
	}
	for _, name := range []string{"modules.json", "sentence_bert_config.json", "tokenizer.json", "config.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("leftovers beside the model dir: %d entries", len(ents))
	}
}

func TestFloat32Config(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"model_type": "bert", "torch_dtype": "float16"}`, "float32"},
		{`{"model_type": "bert", "torch_dtype": "bfloat16"}`, "float32"},
		{`{"model_type": "bert", "torch_dtype": "float32"}`, "float32"},
		{`{"model_type": "bert"}`, ""},
	} {
		b, err := float32Config([]byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			ModelType  string `json:"model_type"`
			TorchDtype string `json:"torch_dtype"`
		}
		if err := json.Unmarshal(b, &cfg); err != nil || cfg.TorchDtype != c.want || cfg.ModelType != "bert" {
			t.Errorf("float32Config(%s) = %s (%v)", c.in, b, err)
		}
	}
	if _, err := float32Config([]byte(`{"torch_dtype": `)); err == nil {
		t.Error("float32Config accepted truncated JSON")
	}
}
