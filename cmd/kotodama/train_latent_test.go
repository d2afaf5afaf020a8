package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/pooling"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// TestTrainLatent trains a latent attention over the frozen tiny fixture
// model, then continues training the saved model (module and encoder),
// checking what each run saves.
func TestTrainLatent(t *testing.T) {
	src := golden.Dirs(t, "models", "modules.json")[0]
	dir := t.TempDir()
	run := func(name string, cfg map[string]any) trainSummary {
		t.Helper()
		base := map[string]any{
			"output": filepath.Join(dir, name), "datasets": testData, "tasks": []string{"jsick-train"},
			"max_seq_length": 24, "batch_size": 4, "steps": 3, "lr": 1e-3, "checkpoint_every": 2, "threads": 1,
			"eval": map[string]any{"task": "jmteb:" + testData + "/jmteb-dummy/dummy_retrieval", "bm25": false},
		}
		for k, v := range cfg {
			base[k] = v
		}
		b, _ := json.Marshal(base)
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, err := runVerb(t, "train", "-config", path, "-json")
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr)
		}
		var sum trainSummary
		if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
			t.Fatal(err)
		}
		if sum.After["ndcg@10"] <= 0 {
			t.Fatalf("%s: summary %+v", name, sum)
		}
		return sum
	}
	tensor := func(dir, name string) []float32 {
		t.Helper()
		f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
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
	const word = "embeddings.word_embeddings.weight"
	const latents = pooling.LatentPrefix + "latents"

	frozen := run("frozen", map[string]any{"model": src, "freeze_encoder": true,
		"latent_attention": map[string]any{"latents": 8, "heads": 2}})
	m, err := embed.Load(frozen.Model)
	if err != nil {
		t.Fatal(err)
	}
	la := m.LatentAttention()
	if la == nil || la.Latents != 8 || la.Heads != 2 || !la.IncludePrompt {
		t.Fatalf("saved model's latent attention: %+v", la)
	}
	if _, err := m.Encode(context.Background(), []string{"猫が寝ている"}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if !slices.Equal(tensor(frozen.Model, word), tensor(src, word)) {
		t.Error("the frozen encoder's weights changed")
	}
	fresh, _ := pooling.NewLatentAttention(kernels.NewCPU(), la.LatentConfig)
	fresh.Params.Init(42) // the run's seed
	trained := tensor(filepath.Join(frozen.Model, "1_LatentAttention"), latents)
	if slices.Equal(trained, fresh.Params.Latents.Host()) {
		t.Error("the latents did not train")
	}

	// Training the saved model again continues its latent attention, and
	// the encoder now learns too.
	again := run("again", map[string]any{"model": frozen.Model})
	if slices.Equal(tensor(filepath.Join(again.Model, "1_LatentAttention"), latents), trained) {
		t.Error("the latents did not train in the second run")
	}
	if slices.Equal(tensor(again.Model, word), tensor(src, word)) {
		t.Error("the encoder did not train in the second run")
	}
	if slices.Equal(tensor(again.Model, latents), trained) {
		t.Error("model.safetensors holds stale latents")
	}
}

func TestTrainLatentConfigErrors(t *testing.T) {
	src := golden.Dirs(t, "models", "modules.json")[0]
	dir := t.TempDir()
	for name, c := range map[string]struct{ body, want string }{
		"freeze without latent":         {`{"model": "` + src + `", "output": "` + dir + `/o", "freeze_encoder": true, "eval": {"task": ""}, "datasets": "` + testData + `", "tasks": ["jsick-train"], "steps": 1}`, "freeze_encoder"},
		"prompt excluded with prefixes": {`{"model": "m", "output": "o", "latent_attention": {"include_prompt": false}, "prefixes": {"*": {"query": "q: "}}}`, "include_prompt"},
		"negative heads":                {`{"model": "m", "output": "o", "latent_attention": {"heads": -1}}`, "negative"},
		"heads do not divide":           {`{"model": "` + src + `", "output": "` + dir + `/o2", "latent_attention": {"heads": 5}, "eval": {"task": ""}, "datasets": "` + testData + `", "tasks": ["jsick-train"], "steps": 1}`, "head_dim"},
	} {
		p := filepath.Join(dir, "c.json")
		os.WriteFile(p, []byte(c.body), 0o644)
		_, _, err := runVerb(t, "train", "-config", p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %s", name, err, c.want)
		}
	}
}
