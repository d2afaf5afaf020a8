package eval

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/data"
	"github.com/kotodama-ai/kotodama/tokenizer"
)

func TestCJKBigrams(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"東京都庁に行く。", []string{"東京", "京都", "都庁", "庁に", "に行", "行く"}},
		// Full-width ASCII folds to ASCII, letters lower-case; a lone
		// kanji between digits and the end stays a unigram.
		{"ＺＩＰ！の初代は2002年", []string{"zip", "の初", "初代", "代は", "2002", "年"}},
		{"コーヒー　と Tea", []string{"コー", "ーヒ", "ヒー", "と", "tea"}},
		{"２匹 vs 2匹", []string{"2", "匹", "vs", "2", "匹"}},
		{"cafe\u0301!", []string{"cafe\u0301"}},
		{"、。！？ ", nil},
		{"", nil},
	} {
		got, err := CJKBigrams().Terms(nil, tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Terms(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := CJKBigrams().Terms(nil, "a\xffb"); err == nil {
		t.Error("invalid UTF-8: no error")
	}
}

// spaces is an analyzer for hand-made examples: terms are the
// space-separated words.
type spaces struct{}

func (spaces) String() string { return "spaces" }
func (spaces) Terms(dst []string, s string) ([]string, error) {
	return append(dst, strings.Fields(s)...), nil
}

func TestBM25ByHand(t *testing.T) {
	// N = 3, |d| = 2, 3, 1, avgdl = 2; df(a) = 2, so
	// idf(a) = ln(1 + (3-2+0.5)/(2+0.5)) = ln(1.6).
	// d0: tf 1, |d|/avgdl = 1:   ln(1.6)·1·2.2/(1 + 1.2)              = ln(1.6)
	// d1: tf 2, |d|/avgdl = 1.5: ln(1.6)·2·2.2/(2 + 1.2·(0.25+0.75·1.5)) = ln(1.6)·4.4/3.65
	// d2 holds no a and is not returned.
	ctx := context.Background()
	ix, err := NewBM25(ctx, []string{"a b", "a a c", "c"}, WithAnalyzer(spaces{}))
	if err != nil {
		t.Fatal(err)
	}
	hits, err := ix.Search(ctx, []string{"a", "a a", "zzz"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Hit{{1, math.Log(1.6) * 4.4 / 3.65}, {0, math.Log(1.6)}} // 0.5665797174469143, 0.47000362924573563
	if len(hits[0]) != 2 || hits[0][0].Doc != 1 || hits[0][1].Doc != 0 {
		t.Fatalf("hits = %v, want %v", hits[0], want)
	}
	for i, h := range hits[0] {
		near(t, "score", h.Score, want[i].Score)
		near(t, "repeated query term", hits[1][i].Score, 2*want[i].Score)
	}
	if len(hits[2]) != 0 {
		t.Errorf("unknown term found %v", hits[2])
	}

	// b = 0 ignores length: d1 = ln(1.6)·2·2.2/(2+1.2). k1 = 0 makes tf binary.
	ix, _ = NewBM25(ctx, []string{"a b", "a a c", "c"}, WithAnalyzer(spaces{}), WithB(0))
	hits, _ = ix.Search(ctx, []string{"a"}, 1)
	near(t, "b=0", hits[0][0].Score, math.Log(1.6)*4.4/3.2)
	ix, _ = NewBM25(ctx, []string{"a b", "a a c", "c"}, WithAnalyzer(spaces{}), WithK1(0))
	hits, _ = ix.Search(ctx, []string{"a"}, 2)
	if hits[0][0].Doc != 0 || hits[0][1].Doc != 1 {
		t.Errorf("k1=0: equal scores must rank the lower index first: %v", hits[0])
	}
	near(t, "k1=0", hits[0][1].Score, math.Log(1.6))
}

// bruteBM25 scores every document by the formula, no index: the oracle
// the inverted index is checked against. docs are term counts per
// document, lens the document lengths.
func bruteBM25(docs []map[string]float64, lens []int, k1, b float64) func(query []string, k int) []Hit {
	df := map[string]int{}
	total := 0
	for i, d := range docs {
		total += lens[i]
		for t := range d {
			df[t]++
		}
	}
	avgdl := float64(total) / float64(len(docs))
	n := float64(len(docs))
	return func(query []string, k int) []Hit {
		h := newTopK(k)
		for i, d := range docs {
			var s float64
			for _, qt := range query {
				tf := d[qt]
				if tf == 0 {
					continue
				}
				idf := math.Log(1 + (n-float64(df[qt])+0.5)/(float64(df[qt])+0.5))
				s += idf * tf * (k1 + 1) / (tf + k1*(1-b+b*float64(lens[i])/avgdl))
			}
			if s > 0 {
				h.push(i, s)
			}
		}
		return h.sorted()
	}
}

func TestBM25MatchesBruteForce(t *testing.T) {
	task, err := data.LoadRetrieval("../datasets", "jsquad-valid")
	if err != nil {
		t.Fatal(err)
	}
	docs := task.DocTexts(false)[:300]
	queries := task.QueryTexts()[:300]
	ctx := context.Background()
	for _, p := range []struct{ k1, b float64 }{{1.2, 0.75}, {0.9, 0.4}, {2, 1}} {
		ix, err := NewBM25(ctx, docs, WithK1(p.k1), WithB(p.b))
		if err != nil {
			t.Fatal(err)
		}
		hits, err := ix.Search(ctx, queries, 10)
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]map[string]float64, len(docs))
		lens := make([]int, len(docs))
		for i, d := range docs {
			terms, _ := CJKBigrams().Terms(nil, d)
			counts[i], lens[i] = map[string]float64{}, len(terms)
			for _, t := range terms {
				counts[i][t]++
			}
		}
		brute := bruteBM25(counts, lens, p.k1, p.b)
		for qi, q := range queries {
			qt, _ := CJKBigrams().Terms(nil, q)
			want := brute(qt, 10)
			if len(hits[qi]) != len(want) {
				t.Fatalf("k1=%v b=%v query %d: %d hits, want %d", p.k1, p.b, qi, len(hits[qi]), len(want))
			}
			for j := range want {
				if hits[qi][j].Doc != want[j].Doc || math.Abs(hits[qi][j].Score-want[j].Score) > 1e-12 {
					t.Fatalf("k1=%v b=%v query %d rank %d: %v, want %v", p.k1, p.b, qi, j, hits[qi][j], want[j])
				}
			}
		}
	}
}

func TestBM25Errors(t *testing.T) {
	ctx := context.Background()
	for name, opts := range map[string][]BM25Option{
		"k1<0":   {WithK1(-1)},
		"k1 NaN": {WithK1(math.NaN())},
		"b>1":    {WithB(1.5)},
	} {
		if _, err := NewBM25(ctx, []string{"x"}, opts...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := NewBM25(ctx, nil); err == nil {
		t.Error("no documents: no error")
	}
	if _, err := NewBM25(ctx, []string{"ok", "bad\xff"}); err == nil || !strings.Contains(err.Error(), "document 1") {
		t.Errorf("invalid UTF-8 document: %v", err)
	}
	ix, _ := NewBM25(ctx, []string{"東京"})
	if _, err := ix.Search(ctx, []string{"東京"}, 0); err == nil {
		t.Error("k = 0: no error")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ix.Search(cancelled, make([]string, 1000), 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func BenchmarkBM25(b *testing.B) {
	task, err := data.LoadRetrieval("../datasets", "jsquad-valid")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("index/jsquad-valid", func(b *testing.B) {
		for b.Loop() {
			if _, err := NewBM25(ctx, task.DocTexts(false)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(task.Docs))*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	})
	ix, _ := NewBM25(ctx, task.DocTexts(false))
	queries := task.QueryTexts()
	b.Run("search/jsquad-valid", func(b *testing.B) {
		for b.Loop() {
			if _, err := ix.Search(ctx, queries, 10); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(queries))*float64(b.N)/b.Elapsed().Seconds(), "queries/s")
	})
}

// TestJSQuADBM25Reference pins the whole pipeline (JSQuAD reader, task
// construction, bigram analysis, BM25, JMTEB metrics) to an independent
// implementation: testdata/bm25_jsquad.py, plain Python written apart
// from this code, printed these values.
func TestJSQuADBM25Reference(t *testing.T) {
	task, err := data.LoadRetrieval("../datasets", "jsquad-valid")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ix, err := NewBM25(ctx, task.DocTexts(false))
	if err != nil {
		t.Fatal(err)
	}
	res, err := EvaluateRetrieval(ctx, task, ix)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"accuracy@1":  0.8856371004052229,
		"accuracy@3":  0.9326879783881135,
		"accuracy@5":  0.9464205312922107,
		"accuracy@10": 0.9610535794687078,
		"mrr@10":      0.9124019996712486,
		"ndcg@10":     0.9242716100823277,
	} {
		got, _ := res.Metrics.Get(name)
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %.16g, the Python reference gives %.16g", name, got, want)
		}
	}
}

func TestTokenizerTerms(t *testing.T) {
	tok, err := tokenizer.Load("../testdata/golden/models/bert-tiny-ja")
	if err != nil {
		t.Fatal(err)
	}
	const text = "梅雨とは何季の一種か?"
	enc, err := tok.Encode(text, tokenizer.WithoutSpecialTokens())
	if err != nil {
		t.Fatal(err)
	}
	a := TokenizerTerms(tok)
	got, err := a.Terms([]string{"x"}, text)
	if err != nil || !slices.Equal(got, append([]string{"x"}, enc.Tokens...)) || len(enc.Tokens) == 0 {
		t.Errorf("Terms = %q, %v; tokens %q", got, err, enc.Tokens)
	}
	for _, term := range got {
		if term == "[CLS]" || term == "[SEP]" {
			t.Errorf("special token %s among the terms", term)
		}
	}
}
