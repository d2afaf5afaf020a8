package eval

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/kotodama-ai/kotodama/data"
)

// TestJMTEBDummySTS runs JMTEB's STS fixture end to end with a "model"
// whose cosine for each pair is a known function of the gold score.
func TestJMTEBDummySTS(t *testing.T) {
	task, err := data.LoadSTS("../datasets", "jmteb:"+filepath.Join("../datasets", "jmteb-dummy/dummy_sts"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// sentence1 -> (1, 0), sentence2 -> (cos θ, sin θ) with cos θ = f(gold),
	// so the pair's cosine is exactly f(gold). A sentence can appear in
	// several pairs, so vectors are keyed by pair and side.
	encodeWith := func(f func(float64) float64) EncodeFunc {
		side := map[string][]float32{}
		for _, p := range task.Pairs {
			c := f(p.Score)
			side["1:"+p.Sentence1+"|"+p.Sentence2] = []float32{1, 0}
			side["2:"+p.Sentence1+"|"+p.Sentence2] = []float32{float32(c), float32(math.Sqrt(1 - c*c))}
		}
		// EvaluateSTS encodes all first sentences, then all second ones.
		var calls int
		n := len(task.Pairs)
		return func(_ context.Context, texts []string) ([][]float32, error) {
			out := make([][]float32, len(texts))
			for i := range texts {
				j := calls + i
				p := task.Pairs[j%n]
				key := "1:"
				if j >= n {
					key = "2:"
				}
				out[i] = side[key+p.Sentence1+"|"+p.Sentence2]
			}
			calls += len(texts)
			return out, nil
		}
	}
	res, err := EvaluateSTS(ctx, task, encodeWith(func(g float64) float64 { return g / 5 }))
	if err != nil {
		t.Fatal(err)
	}
	if res.Pairs != 50 {
		t.Errorf("%d pairs", res.Pairs)
	}
	sp, _ := res.Metrics.Get("spearman")
	pe, _ := res.Metrics.Get("pearson")
	if math.Abs(sp-1) > 1e-12 || math.Abs(pe-1) > 1e-6 {
		t.Errorf("cosine = gold/5: spearman %v, pearson %v; want 1, 1", sp, pe)
	}
	// A monotone but non-linear map keeps Spearman at 1 and lowers Pearson.
	res, _ = EvaluateSTS(ctx, task, encodeWith(func(g float64) float64 { return math.Pow(g/5, 3) }))
	sp, _ = res.Metrics.Get("spearman")
	pe, _ = res.Metrics.Get("pearson")
	if math.Abs(sp-1) > 1e-12 || !(pe < 0.99) {
		t.Errorf("cosine = (gold/5)³: spearman %v, pearson %v", sp, pe)
	}
	// Reversed.
	res, _ = EvaluateSTS(ctx, task, encodeWith(func(g float64) float64 { return -g / 5 }))
	sp, _ = res.Metrics.Get("spearman")
	if math.Abs(sp+1) > 1e-12 {
		t.Errorf("cosine = -gold/5: spearman %v", sp)
	}
	// Every pair the same: no correlation.
	_, err = EvaluateSTS(ctx, task, encodeWith(func(float64) float64 { return 0.5 }))
	if !errors.Is(err, ErrConstant) {
		t.Errorf("constant similarity: %v", err)
	}
}
