package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/data"
)

// lookup is a deterministic "model": it maps each text to a fixed vector.
func lookup(vecs map[string][]float32) EncodeFunc {
	return func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, t := range texts {
			v, ok := vecs[t]
			if !ok {
				return nil, fmt.Errorf("no vector for %q", t)
			}
			out[i] = v
		}
		return out, nil
	}
}

func oneHot(n, i int, scale float32) []float32 {
	v := make([]float32, n)
	v[i] = scale
	return v
}

func loadDummy(t testing.TB) *data.Retrieval {
	t.Helper()
	task, err := data.LoadRetrieval("../datasets", "jmteb:"+filepath.Join("../datasets", "jmteb-dummy/dummy_retrieval"))
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// TestJMTEBDummyDense runs JMTEB's own retrieval fixture end to end with
// vectors whose rankings are known by hand.
func TestJMTEBDummyDense(t *testing.T) {
	ctx := context.Background()
	task := loadDummy(t)
	n := len(task.Docs)
	index := map[string]int{}
	for i, d := range task.Docs {
		index[d.ID] = i
	}
	docVec := map[string][]float32{}
	for i, d := range task.Docs {
		docVec[d.Text] = oneHot(n, i, float32(i+1)) // lengths differ; cosine ignores them
	}

	// Oracle: each query points at its relevant document. Every metric is 1.
	oracle := map[string][]float32{}
	for _, q := range task.Queries {
		oracle[q.Text] = oneHot(n, index[q.Relevant[0]], 0.5)
	}
	dense, err := NewDense(ctx, task.DocTexts(false), Encoder{Query: lookup(oracle), Document: lookup(docVec)}, WithName("oracle"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := EvaluateRetrieval(ctx, task, dense, WithTrecNDCG())
	if err != nil {
		t.Fatal(err)
	}
	if res.System != "oracle" || res.Queries != 10 || res.Documents != 10 || len(res.Metrics) != 5*4 {
		t.Fatalf("result = %+v", res)
	}
	for _, m := range res.Metrics {
		if m.Value != 1 {
			t.Errorf("oracle %s = %v, want 1", m.Name, m.Value)
		}
	}

	// Off by one: query i points at document r+1 (mod n), r its relevant
	// document. Every other document scores 0, and ties rank the lower
	// index first, so the ranking is r+1, then 0, 1, ... in order: r sits
	// at rank r+2 (rank n when r = n-1, whose neighbour is document 0).
	off := map[string][]float32{}
	var wantMRR, wantNDCG float64
	for _, q := range task.Queries {
		r := index[q.Relevant[0]]
		off[q.Text] = oneHot(n, (r+1)%n, 1)
		rank := r + 2
		if r == n-1 {
			rank = n
		}
		if rank <= 10 {
			wantMRR += 1 / float64(rank) / float64(len(task.Queries))
			wantNDCG += 1 / math.Log2(float64(rank+1)) / float64(len(task.Queries))
		}
	}
	dense, _ = NewDense(ctx, task.DocTexts(false), Encoder{Query: lookup(off), Document: lookup(docVec)})
	res, err = EvaluateRetrieval(ctx, task, dense)
	if err != nil {
		t.Fatal(err)
	}
	acc1, _ := res.Metrics.Get("accuracy@1")
	mrr, _ := res.Metrics.Get("mrr@10")
	ndcg, _ := res.Metrics.Get("ndcg@10")
	near(t, "accuracy@1", acc1, 0)
	near(t, "mrr@10", mrr, wantMRR)
	near(t, "ndcg@10", ndcg, wantNDCG)
	for qi, h := range res.Hits {
		r := index[task.Queries[qi].Relevant[0]]
		if h[0].Doc != (r+1)%n || h[0].Score != 1 || len(h) != 10 {
			t.Errorf("query %d: hits %v", qi, h)
		}
	}
}

// TestJMTEBDummyBM25 runs BM25 over JMTEB's retrieval fixture. The one
// check by hand: only document 11152#9 mentions 相模原線, so the query
// 相模原線が開通したのはいつ finds it first.
func TestJMTEBDummyBM25(t *testing.T) {
	ctx := context.Background()
	task := loadDummy(t)
	ix, err := NewBM25(ctx, task.DocTexts(false))
	if err != nil {
		t.Fatal(err)
	}
	var progress []int
	res, err := EvaluateRetrieval(ctx, task, ix, WithCutoffs(10, 1, 3), WithProgress(func(done, total int) { progress = append(progress, done, total) }))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(progress) != "[10 10]" {
		t.Errorf("progress = %v", progress)
	}
	for qi, q := range task.Queries {
		if q.Text == "相模原線が開通したのはいつ" {
			if got := task.Docs[res.Hits[qi][0].Doc].ID; got != "11152#9" {
				t.Errorf("top hit %s, want 11152#9", got)
			}
		}
	}
	var names []string
	for _, m := range res.Metrics {
		names = append(names, m.Name)
		if !(m.Value >= 0 && m.Value <= 1) {
			t.Errorf("%s = %v", m.Name, m.Value)
		}
	}
	if strings.Join(names, " ") != "accuracy@1 accuracy@3 accuracy@10 recall@1 recall@3 recall@10 mrr@1 mrr@3 mrr@10 ndcg@1 ndcg@3 ndcg@10" {
		t.Errorf("metrics %v", names)
	}
	// The metrics are the metric functions applied to the hits.
	run := judge(task, res.Hits)
	if v, _ := res.Metrics.Get("ndcg@10"); v != NDCGAt(10, run) {
		t.Errorf("ndcg@10 %v != NDCGAt %v", v, NDCGAt(10, run))
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Task    string  `json:"task"`
		System  string  `json:"system"`
		Metrics Metrics `json:"metrics"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.Task != task.Name || back.System != "bm25(k1=1.2,b=0.75,cjk-bigram)" || len(back.Metrics) != 12 || back.Metrics[11] != res.Metrics[11] {
		t.Errorf("JSON round trip: %s -> %+v, %v", b, back, err)
	}
	if !strings.HasPrefix(string(b), `{"task":"jmteb:../datasets/jmteb-dummy/dummy_retrieval","system":"bm25(k1=1.2,b=0.75,cjk-bigram)","queries":10,"documents":10,"metrics":{"accuracy@1":`) {
		t.Errorf("JSON = %s", b)
	}
	var sb strings.Builder
	if err := WriteRetrievalTable(&sb, res, res); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(sb.String()), "\n"); len(lines) != 14 || !strings.HasPrefix(lines[2], "accuracy@1") {
		t.Errorf("table:\n%s", sb.String())
	}
}

// TestUnknownRelevant: a relevant id missing from the corpus still
// counts in the ideal DCG, as in JMTEB.
func TestUnknownRelevant(t *testing.T) {
	ctx := context.Background()
	task := &data.Retrieval{
		Name:    "t",
		Docs:    []data.Doc{{ID: "a", Text: "東京"}, {ID: "b", Text: "大阪"}},
		Queries: []data.Query{{Text: "東京", Relevant: []string{"a", "zz"}}},
	}
	ix, _ := NewBM25(ctx, task.DocTexts(false))
	res, err := EvaluateRetrieval(ctx, task, ix, WithCutoffs(1))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := res.Metrics.Get("ndcg@1")
	near(t, "ndcg@1", v, 1/(1+1/math.Log2(3)))
	r, _ := res.Metrics.Get("recall@1")
	near(t, "recall@1", r, 0.5)
}

func TestDenseErrors(t *testing.T) {
	ctx := context.Background()
	vec := map[string][]float32{"a": {1, 0}, "b": {0, 1}, "nan": {float32(math.NaN()), 0}, "3d": {1, 2, 3}}
	enc := Encoder{Query: lookup(vec)}
	for _, tc := range []struct {
		docs []string
		want string
	}{
		{[]string{"a", "nan"}, "text 1"},
		{[]string{"a", "3d"}, "dimension 3"},
		{[]string{"a", "missing"}, "no vector"},
		{nil, "no documents"},
	} {
		if _, err := NewDense(ctx, tc.docs, enc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error mentioning %q", tc.docs, err, tc.want)
		}
	}
	d, err := NewDense(ctx, []string{"a", "b"}, enc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Search(ctx, []string{"3d"}, 1); err == nil {
		t.Error("query of another dimension: no error")
	}
	short := Encoder{Query: func(context.Context, []string) ([][]float32, error) { return [][]float32{{1}}, nil }}
	if _, err := NewDense(ctx, []string{"a", "b"}, short); err == nil {
		t.Error("one vector for two texts: no error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := NewDense(cancelled, []string{"a"}, enc); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
