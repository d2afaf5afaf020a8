package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/data"
)

const testData = "../../datasets"

func runVerb(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, args)
	return out.String(), errb.String(), err
}

func TestEvalRetrievalBM25JSON(t *testing.T) {
	out, stderr, err := runVerb(t, "eval", "retrieval", "-bm25", "-data", testData,
		"-task", "jmteb:"+testData+"/jmteb-dummy/dummy_retrieval", "-k", "5", "-trec", "-json")
	if err != nil {
		t.Fatal(err, stderr)
	}
	var res struct {
		Task      string             `json:"task"`
		System    string             `json:"system"`
		Queries   int                `json:"queries"`
		Documents int                `json:"documents"`
		Metrics   map[string]float64 `json:"metrics"`
		BM25      any                `json:"bm25"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Queries != 10 || res.Documents != 10 || !strings.HasPrefix(res.System, "bm25(") || res.BM25 != nil {
		t.Errorf("result = %+v", res)
	}
	for _, name := range []string{"accuracy@1", "accuracy@3", "accuracy@5", "recall@5", "mrr@5", "ndcg@5", "ndcg_cut@5"} {
		if v, ok := res.Metrics[name]; !ok || v < 0 || v > 1 {
			t.Errorf("%s = %v, %v", name, v, ok)
		}
	}
	if _, ok := res.Metrics["ndcg@10"]; ok {
		t.Error("ndcg@10 reported with -k 5")
	}
	if !strings.Contains(stderr, "bm25 search") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
}

func TestEvalRetrievalTable(t *testing.T) {
	out, _, err := runVerb(t, "eval", "retrieval", "-bm25", "-data", testData, "-task", "jsquad-valid", "-k", "1")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || lines[0] != "jsquad-valid: 4442 queries, 1145 documents" ||
		strings.Join(strings.Fields(lines[1]), " ") != "metric bm25(k1=1.2,b=0.75,cjk-bigram)" ||
		strings.Join(strings.Fields(lines[2]), " ") != "accuracy@1 0.8856" {
		t.Errorf("table:\n%s", out)
	}
}

func TestEvalErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval"}, "no kind"},
		{[]string{"eval", "nope"}, "unknown kind"},
		{[]string{"eval", "retrieval", "-bm25"}, "-task is required"},
		{[]string{"eval", "retrieval", "-task", "jsquad-valid"}, "nothing to evaluate"},
		{[]string{"eval", "retrieval", "-bm25", "-task", "msmarco", "-data", testData}, "unknown task"},
		{[]string{"eval", "retrieval", "-bm25", "-task", "jsquad-valid", "-data", "/nonexistent"}, "datasets directory"},
		{[]string{"eval", "retrieval", "-bm25", "-task", "jsquad-valid", "-k", "0"}, "-k 0"},
		{[]string{"eval", "retrieval", "-bm25", "-task", "jsquad-valid", "-b", "2", "-data", testData}, "b = 2"},
		{[]string{"eval", "sts", "-task", "jsts-valid"}, "-model are required"},
		{[]string{"eval", "retrieval", "-bm25", "-task", "jsquad-valid", "-terms", "words"}, "want bigram or tokenizer"},
		{[]string{"eval", "retrieval", "-bm25", "-task", "jsquad-valid", "-terms", "tokenizer"}, "needs -tokenizer"},
	} {
		_, _, err := runVerb(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
	if _, _, err := runVerb(t, "eval", "retrieval", "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestEvalTasks(t *testing.T) {
	out, _, err := runVerb(t, "eval", "tasks")
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range data.Tasks() {
		if !strings.Contains(out, ti.Name) {
			t.Errorf("tasks list lacks %s", ti.Name)
		}
	}
}

func TestEvalRetrievalTokenizerTerms(t *testing.T) {
	out, _, err := runVerb(t, "eval", "retrieval", "-bm25", "-data", testData, "-json",
		"-task", "jmteb:"+testData+"/jmteb-dummy/dummy_retrieval",
		"-terms", "tokenizer", "-tokenizer", "../../testdata/golden/models/bert-tiny-ja")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		System string `json:"system"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.System != "bm25(k1=1.2,b=0.75,tokenizer)" {
		t.Errorf("%s: %v", out, err)
	}
}

const tinyJA = "../../testdata/golden/models/bert-tiny-ja"

// TestEvalRetrievalModel runs a golden tiny model (random weights) and
// BM25 side by side on JMTEB's retrieval fixture.
func TestEvalRetrievalModel(t *testing.T) {
	out, stderr, err := runVerb(t, "eval", "retrieval", "-model", tinyJA, "-data", testData, "-json",
		"-task", "jmteb:"+testData+"/jmteb-dummy/dummy_retrieval")
	if err != nil {
		t.Fatal(err, stderr)
	}
	var res struct {
		System  string             `json:"system"`
		Queries int                `json:"queries"`
		Metrics map[string]float64 `json:"metrics"`
		BM25    *struct {
			System  string             `json:"system"`
			Metrics map[string]float64 `json:"metrics"`
		} `json:"bm25"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.System != "bert-tiny-ja" || res.Queries != 10 || res.BM25 == nil || !strings.HasPrefix(res.BM25.System, "bm25(") {
		t.Fatalf("result = %s", out)
	}
	for _, m := range []map[string]float64{res.Metrics, res.BM25.Metrics} {
		if v, ok := m["ndcg@10"]; !ok || v <= 0 || v > 1 {
			t.Errorf("ndcg@10 = %v, %v", v, ok)
		}
	}
	// With ten documents every query's relevant one is in the top 10.
	if res.Metrics["accuracy@10"] != 1 {
		t.Errorf("accuracy@10 = %v over a 10-document corpus", res.Metrics["accuracy@10"])
	}
	if !strings.Contains(stderr, "query prompt query, document prompt document") {
		t.Errorf("stderr does not name the prompts: %q", stderr)
	}

	// -bm25=false leaves BM25 out; an unknown prompt is an error naming it.
	out, _, err = runVerb(t, "eval", "retrieval", "-model", tinyJA, "-bm25=false", "-data", testData, "-json",
		"-task", "jmteb:"+testData+"/jmteb-dummy/dummy_retrieval")
	if err != nil || strings.Contains(out, `"bm25"`) {
		t.Errorf("-bm25=false: %v %s", err, out)
	}
	_, _, err = runVerb(t, "eval", "retrieval", "-model", tinyJA, "-query-prompt", "question", "-data", testData,
		"-task", "jmteb:"+testData+"/jmteb-dummy/dummy_retrieval")
	if err == nil || !strings.Contains(err.Error(), `"question"`) {
		t.Errorf("unknown prompt: %v", err)
	}
}

func TestEvalSTSModel(t *testing.T) {
	out, _, err := runVerb(t, "eval", "sts", "-model", tinyJA, "-data", testData, "-json",
		"-task", "jmteb:"+testData+"/jmteb-dummy/dummy_sts")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Task    string             `json:"task"`
		System  string             `json:"system"`
		Pairs   int                `json:"pairs"`
		Metrics map[string]float64 `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Pairs != 50 || res.System != "bert-tiny-ja" || len(res.Metrics) != 2 {
		t.Errorf("result = %s", out)
	}
	for name, v := range res.Metrics {
		if !(v >= -1 && v <= 1) {
			t.Errorf("%s = %v", name, v)
		}
	}
	_, _, err = runVerb(t, "eval", "sts", "-model", tinyJA, "-data", testData, "-task", "jsick-train")
	if !errors.Is(err, data.ErrNoScores) {
		t.Errorf("jsick-train: %v, want data.ErrNoScores", err)
	}
}

// TestBundledSearchModel evaluates the model the quick start runs
// (examples/search/kotodama-tiny-ja) on JSQuAD-valid and compares it
// with the nDCG@10 its model card reports, measured by this command when
// the model was trained: a change in the encoder, the tokenizer, the
// prompts or the search that moves a shipped model's quality shows here.
// The tolerance leaves room for ranks that swap between kernel levels.
func TestBundledSearchModel(t *testing.T) {
	const reported = 0.546 // examples/search/kotodama-tiny-ja/README.md
	out, stderr, err := runVerb(t, "eval", "retrieval", "-model", "../../examples/search/kotodama-tiny-ja",
		"-data", testData, "-task", "jsquad-valid", "-json")
	if err != nil {
		t.Fatal(err, stderr)
	}
	var res struct {
		Queries int                `json:"queries"`
		Metrics map[string]float64 `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := res.Metrics["ndcg@10"]; res.Queries != 4442 || math.Abs(got-reported) > 0.003 {
		t.Errorf("bundled model: nDCG@10 %.4f over %d questions; its model card reports %.3f over 4442", got, res.Queries, reported)
	}
}
