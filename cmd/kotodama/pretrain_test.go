package main

import (
	"bufio"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// TestPretrainRun pre-trains every fixture model a few steps on a text
// file and JMTEB's dummy corpus, checks every output of the run (the
// model directory loading with embed and holding the head and decoder,
// the log, the curves), then runs again and resumes at the end.
func TestPretrainRun(t *testing.T) {
	for _, src := range golden.Dirs(t, "models", "modules.json") {
		t.Run(filepath.Base(src), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "run")
			text := filepath.Join(dir, "text.txt")
			lines := "東京大学で自然言語処理の研究をしています。\n\n猫が窓辺で昼寝をしている。\nThe quick brown fox jumps over the lazy dog.\n"
			if err := os.WriteFile(text, []byte(lines), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := map[string]any{
				"model":            src,
				"output":           out,
				"datasets":         testData,
				"text":             []string{text},
				"corpus":           []string{"jmteb:" + testData + "/jmteb-dummy/dummy_retrieval"},
				"exclude_task":     "",
				"max_seq_length":   24,
				"batch_size":       4,
				"steps":            4,
				"lr":               1e-3,
				"checkpoint_every": 2,
				"log_every":        1,
				"threads":          1,
			}
			b, _ := json.Marshal(cfg)
			path := filepath.Join(dir, "config.json")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, err := runVerb(t, "pretrain", "-config", path, "-json")
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			var sum pretrainSummary
			if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
				t.Fatalf("%v: %s", err, stdout)
			}
			if sum.Steps != 4 || sum.Passages != 13 || sum.PerEpoch != 3 || sum.Model != filepath.Join(out, "model") || !(sum.FinalLoss > 0) {
				t.Fatalf("summary %+v", sum)
			}
			if strings.Join(sum.Initialized, ",") != "cls.predictions,c_head" {
				t.Errorf("initialized %v, want the head and the decoder (the fixture has neither)", sum.Initialized)
			}

			// The model directory: every parameter under its name, loadable
			// by embed as a sentence-transformers model.
			f, err := safetensors.Open(filepath.Join(out, "model", "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"bert.embeddings.word_embeddings.weight", "cls.predictions.bias", "cls.predictions.transform.dense.weight", "c_head.output.LayerNorm.weight"} {
				if !f.Has(name) {
					t.Errorf("model.safetensors has no %s", name)
				}
			}
			f.Close()
			m, err := embed.Load(filepath.Join(out, "model"))
			if err != nil {
				t.Fatal(err)
			}
			vecs, err := m.Encode(context.Background(), []string{"猫が昼寝をしている。"})
			m.Close()
			if err != nil || len(vecs) != 1 {
				t.Fatalf("encoding with the pre-trained model: %v", err)
			}

			mf, err := os.Open(filepath.Join(out, "metrics.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			var logged []pretrainLine
			sc := bufio.NewScanner(mf)
			for sc.Scan() {
				var l pretrainLine
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatalf("metrics line %q: %v", sc.Text(), err)
				}
				logged = append(logged, l)
			}
			mf.Close()
			if len(logged) != 4 || logged[3].Step != 4 || !(logged[3].EncoderLoss > 0) || !(logged[3].DecoderLoss > 0) ||
				abs(logged[3].Loss-logged[3].EncoderLoss-logged[3].DecoderLoss) > 1e-9 {
				t.Fatalf("metrics %+v", logged)
			}
			pf, err := os.Open(filepath.Join(out, "curves.png"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := png.Decode(pf); err != nil {
				t.Errorf("curves.png: %v", err)
			}
			pf.Close()

			// Running again resumes from the last checkpoint: nothing left to do.
			stdout, stderr, err = runVerb(t, "pretrain", "-config", path, "-json")
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			var again pretrainSummary
			if err := json.Unmarshal([]byte(stdout), &again); err != nil {
				t.Fatal(err)
			}
			if again.ResumedAt != 4 || !strings.Contains(stderr, "resuming") {
				t.Errorf("second run: resumed at %d; stderr %s", again.ResumedAt, stderr)
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestPretrainConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]string{
		"unknown key":  `{"model": "m", "output": "o", "bogus": 1}`,
		"no model":     `{"output": "o"}`,
		"bad ratio":    `{"model": "m", "output": "o", "encoder_mask_ratio": 1.5}`,
		"bad rule":     `{"model": "m", "output": "o", "word_rule": "bpe"}`,
		"bad schedule": `{"model": "m", "output": "o", "schedule": "step"}`,
	} {
		path := filepath.Join(dir, "c.json")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := runVerb(t, "pretrain", "-config", path); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, stderr, err := runVerb(t, "pretrain", "-h"); err == nil || !strings.Contains(stderr, "decoder_mask_ratio") {
		t.Errorf("-h: %v, %s", err, stderr)
	}
}
