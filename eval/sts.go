package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/kotodama-ai/kotodama/data"
)

// STSResult is the evaluation of one model on one STS task.
type STSResult struct {
	Task    string  `json:"task"`
	System  string  `json:"system"`
	Pairs   int     `json:"pairs"`
	Metrics Metrics `json:"metrics"` // spearman, pearson
	// Cosine holds each pair's predicted similarity, in task order.
	Cosine []float64 `json:"-"`
}

// EvaluateSTS embeds both sentences of every pair with enc and reports
// the Spearman and Pearson correlations between the pairs' cosine
// similarities and their gold scores, as JMTEB's STS evaluator does with
// its cosine_similarity (sentence-transformers' normalization, each
// vector divided by max(‖v‖, 1e-12); scipy's spearmanr and pearsonr). A
// model whose similarities are all equal has no correlation: that is an
// error wrapping ErrConstant.
func EvaluateSTS(ctx context.Context, task *data.STS, enc EncodeFunc, opts ...Option) (*STSResult, error) {
	c := newEvalConfig(opts)
	n := len(task.Pairs)
	if n < 2 {
		return nil, fmt.Errorf("eval: STS task %s: %d pairs, need at least 2", task.Name, n)
	}
	// Encode all first sentences, then all second ones, as one list so the
	// progress count covers both.
	texts := make([]string, 0, 2*n)
	for _, p := range task.Pairs {
		texts = append(texts, p.Sentence1)
	}
	for _, p := range task.Pairs {
		texts = append(texts, p.Sentence2)
	}
	vecs, dim, err := encodeAll(ctx, enc, texts, c.batch, c.progress)
	if err != nil {
		return nil, fmt.Errorf("eval: STS task %s: encoding: %w", task.Name, err)
	}
	cos := make([]float64, n)
	gold := make([]float64, n)
	for i, p := range task.Pairs {
		cos[i], gold[i] = cosine(vecs[i*dim:(i+1)*dim], vecs[(n+i)*dim:(n+i+1)*dim]), p.Score
	}
	sp, err := Spearman(gold, cos)
	if err != nil {
		return nil, fmt.Errorf("eval: STS task %s: %w", task.Name, err)
	}
	pe, err := Pearson(gold, cos)
	if err != nil {
		return nil, fmt.Errorf("eval: STS task %s: %w", task.Name, err)
	}
	if math.IsNaN(sp) || math.IsNaN(pe) {
		return nil, fmt.Errorf("eval: STS task %s: correlation is NaN", task.Name)
	}
	return &STSResult{
		Task: task.Name, System: c.system, Pairs: n, Cosine: cos,
		Metrics: Metrics{{"spearman", sp}, {"pearson", pe}},
	}, nil
}

// cosine is sentence-transformers' cos_sim of a and b, in float64: the
// dot product of a/max(‖a‖, 1e-12) and b/max(‖b‖, 1e-12).
func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	return ab / (math.Max(math.Sqrt(aa), 1e-12) * math.Max(math.Sqrt(bb), 1e-12))
}
