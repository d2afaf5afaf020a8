package main

import (
	"bufio"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/internal/golden"
)

// TestTrainRun trains a tiny fixture model a few steps on JSICK with
// GradCache and evaluation on JMTEB's dummy retrieval task, checks every
// output of the run, then runs again and resumes at the end.
func TestTrainRun(t *testing.T) {
	src := golden.Dirs(t, "models", "modules.json")[0]
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	cfg := map[string]any{
		"model":            src,
		"output":           out,
		"datasets":         testData,
		"tasks":            []string{"jsick-train"},
		"prefixes":         map[string]any{"*": map[string]string{"query": "query: ", "document": "passage: "}},
		"max_seq_length":   24,
		"batch_size":       4,
		"mini_batch":       5,
		"steps":            4,
		"lr":               1e-3,
		"checkpoint_every": 2,
		"log_every":        1,
		"threads":          1,
		"eval":             map[string]any{"task": "jmteb:" + testData + "/jmteb-dummy/dummy_retrieval", "every": 2},
	}
	b, _ := json.Marshal(cfg)
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runVerb(t, "train", "-config", path, "-json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var sum trainSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if sum.Steps != 4 || sum.Model != filepath.Join(out, "model") || sum.Before["ndcg@10"] <= 0 || sum.After["ndcg@10"] <= 0 || sum.BM25["ndcg@10"] <= 0 {
		t.Fatalf("summary %+v", sum)
	}
	if sum.Triples["jsick-train"] == 0 || sum.PerEpoch == 0 {
		t.Fatalf("data %v, %d batches per epoch", sum.Triples, sum.PerEpoch)
	}

	// metrics.jsonl: a line per step, evaluations at 0, 2 and 4, BM25 once.
	f, err := os.Open(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var steps, evals, bm25 int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m metricLine
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		switch {
		case m.Loss != nil:
			steps++
		case m.System == "model":
			evals++
		case m.System == "bm25":
			bm25++
		}
	}
	f.Close()
	if steps != 4 || evals != 3 || bm25 != 1 {
		t.Fatalf("metrics.jsonl: %d steps, %d evaluations, %d BM25", steps, evals, bm25)
	}
	pf, err := os.Open(filepath.Join(out, "curves.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(pf); err != nil {
		t.Fatalf("curves.png: %v", err)
	}
	pf.Close()

	// The model directory loads as a sentence-transformers model with the
	// evaluation prompts.
	m, err := embed.Load(sum.Model)
	if err != nil {
		t.Fatal(err)
	}
	prompts, _ := m.Prompts()
	if prompts["query"] != "query: " || prompts["document"] != "passage: " {
		t.Fatalf("prompts %v", prompts)
	}
	v, err := m.Encode(context.Background(), []string{"猫が寝ている"}, embed.WithPromptName("query"))
	if err != nil || len(v) != 1 || len(v[0]) != m.Dim() {
		t.Fatalf("encode: %v", err)
	}
	m.Close()

	// Running again finds the last checkpoint and has nothing left to train.
	stdout, stderr, err = runVerb(t, "train", "-config", path, "-json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var again trainSummary
	if err := json.Unmarshal([]byte(stdout), &again); err != nil {
		t.Fatal(err)
	}
	if again.ResumedAt != 4 || again.After["ndcg@10"] != sum.After["ndcg@10"] || again.Before["ndcg@10"] != sum.Before["ndcg@10"] {
		t.Fatalf("second run: resumed at %d, after %v (first %v), before %v", again.ResumedAt, again.After, sum.After, again.Before)
	}
}

// TestTrainHelpDocumentsEveryKey: -h lists every configuration key, for
// kotodama train and for kotodama pretrain.
func TestTrainHelpDocumentsEveryKey(t *testing.T) {
	for verb, config := range map[string]any{"train": trainConfig{}, "pretrain": pretrainConfig{}} {
		_, stderr, _ := runVerb(t, verb, "-h")
		var keys func(reflect.Type, string)
		var missing []string
		keys = func(ty reflect.Type, prefix string) {
			for i := range ty.NumField() {
				f := ty.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				switch {
				case f.Anonymous: // runConfig: its keys are the file's own
					keys(f.Type, prefix)
					continue
				case f.Type.Kind() == reflect.Struct:
					keys(f.Type, prefix+name+".")
					continue
				}
				if !strings.Contains(stderr, "\n  "+prefix+name+" ") {
					missing = append(missing, prefix+name)
				}
			}
		}
		keys(reflect.TypeOf(config), "")
		if len(missing) > 0 {
			t.Errorf("%s -h does not document %v", verb, missing)
		}
	}
}

func TestTrainConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown key": `{"model": "m", "output": "o", "lerning_rate": 1}`,
		"no model":    `{"output": "o"}`,
		"no output":   `{"model": "m"}`,
		"schedule":    `{"model": "m", "output": "o", "schedule": "step"}`,
		"both scales": `{"model": "m", "output": "o", "scale": 20, "temperature": 0.05}`,
		"batch":       `{"model": "m", "output": "o", "batch_size": 1}`,
		"not json":    `model: m`,
	} {
		p := filepath.Join(dir, "c.json")
		os.WriteFile(p, []byte(body), 0o644)
		_, _, err := runVerb(t, "train", "-config", p)
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
