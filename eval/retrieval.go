package eval

import (
	"context"
	"fmt"
	"slices"

	"github.com/kotodama-ai/kotodama/data"
)

// Retriever is a search system under evaluation: BM25 and Dense are
// Retrievers.
type Retriever interface {
	// Search returns, for each query, at most k documents (as indices
	// into the corpus it was built on), best first.
	Search(ctx context.Context, queries []string, k int) ([][]Hit, error)
}

// RetrievalResult is the evaluation of one system on one retrieval task.
type RetrievalResult struct {
	Task      string  `json:"task"`
	System    string  `json:"system"`
	Queries   int     `json:"queries"`
	Documents int     `json:"documents"`
	Metrics   Metrics `json:"metrics"`
	// Hits holds each query's retrieved documents, best first, as many as
	// the largest cutoff.
	Hits [][]Hit `json:"-"`
}

// Option changes what EvaluateRetrieval and EvaluateSTS measure and
// report.
type Option func(*evalConfig)

type evalConfig struct {
	cutoffs  []int
	trec     bool
	system   string
	progress func(done, total int)
	batch    int
}

// WithCutoffs sets the k of every metric@k (default 1, 3, 5, 10: JMTEB's
// accuracy cutoffs, the last its nDCG and MRR cutoff).
func WithCutoffs(ks ...int) Option { return func(c *evalConfig) { c.cutoffs = ks } }

// WithTrecNDCG adds trec_eval's ndcg_cut@k (NDCGCutAt) for every cutoff.
func WithTrecNDCG() Option { return func(c *evalConfig) { c.trec = true } }

// WithSystem names the system in the result (default: the retriever's
// String method, if it has one).
func WithSystem(name string) Option { return func(c *evalConfig) { c.system = name } }

// WithProgress has the evaluation report the queries searched (retrieval)
// or texts encoded (STS) so far.
func WithProgress(fn func(done, total int)) Option { return func(c *evalConfig) { c.progress = fn } }

func newEvalConfig(opts []Option) evalConfig {
	c := evalConfig{cutoffs: []int{1, 3, 5, 10}, batch: 256}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// EvaluateRetrieval searches the task's queries with r, which must have
// been built over task.Docs in order, and scores the rankings: for each
// cutoff k, accuracy@k, recall@k, mrr@k and ndcg@k (and ndcg_cut@k with
// WithTrecNDCG), as AccuracyAt, RecallAt, MRRAt, NDCGAt and NDCGCutAt
// define them. A relevant id that names no document of the corpus still
// counts as relevant (it can never be retrieved), as in JMTEB.
func EvaluateRetrieval(ctx context.Context, task *data.Retrieval, r Retriever, opts ...Option) (*RetrievalResult, error) {
	c := newEvalConfig(opts)
	if len(c.cutoffs) == 0 {
		return nil, fmt.Errorf("eval: no cutoffs")
	}
	ks := slices.Clone(c.cutoffs)
	slices.Sort(ks)
	ks = slices.Compact(ks)
	if ks[0] < 1 {
		return nil, fmt.Errorf("eval: cutoff %d, want ≥ 1", ks[0])
	}
	if err := task.Validate(); err != nil {
		return nil, err
	}
	maxK := ks[len(ks)-1]
	queries := task.QueryTexts()
	hits := make([][]Hit, 0, len(queries))
	for lo := 0; lo < len(queries); lo += c.batch {
		hi := min(lo+c.batch, len(queries))
		h, err := r.Search(ctx, queries[lo:hi], maxK)
		if err != nil {
			return nil, err
		}
		if len(h) != hi-lo {
			return nil, fmt.Errorf("eval: retriever returned %d rankings for %d queries", len(h), hi-lo)
		}
		for _, qh := range h {
			for _, x := range qh {
				if x.Doc < 0 || x.Doc >= len(task.Docs) {
					return nil, fmt.Errorf("eval: retriever returned document %d of a %d-document corpus", x.Doc, len(task.Docs))
				}
			}
		}
		hits = append(hits, h...)
		if c.progress != nil {
			c.progress(hi, len(queries))
		}
	}
	run := judge(task, hits)
	res := &RetrievalResult{
		Task: task.Name, System: c.system, Queries: len(task.Queries), Documents: len(task.Docs), Hits: hits,
	}
	if res.System == "" {
		if s, ok := r.(fmt.Stringer); ok {
			res.System = s.String()
		}
	}
	for _, k := range ks {
		res.Metrics = append(res.Metrics, Metric{fmt.Sprintf("accuracy@%d", k), AccuracyAt(k, run)})
	}
	for _, k := range ks {
		res.Metrics = append(res.Metrics, Metric{fmt.Sprintf("recall@%d", k), RecallAt(k, run)})
	}
	for _, k := range ks {
		res.Metrics = append(res.Metrics, Metric{fmt.Sprintf("mrr@%d", k), MRRAt(k, run)})
	}
	for _, k := range ks {
		res.Metrics = append(res.Metrics, Metric{fmt.Sprintf("ndcg@%d", k), NDCGAt(k, run)})
	}
	if c.trec {
		for _, k := range ks {
			res.Metrics = append(res.Metrics, Metric{fmt.Sprintf("ndcg_cut@%d", k), NDCGCutAt(k, run)})
		}
	}
	return res, nil
}

// judge pairs each query's relevant documents with its hits, both as
// corpus indices; a relevant id not in the corpus gets its own negative
// index, so it counts as relevant but never matches a hit.
func judge(task *data.Retrieval, hits [][]Hit) []Ranked[int] {
	index := make(map[string]int, len(task.Docs))
	for i, d := range task.Docs {
		index[d.ID] = i
	}
	missing := map[string]int{}
	run := make([]Ranked[int], len(task.Queries))
	for i, q := range task.Queries {
		rel := make([]int, len(q.Relevant))
		for j, id := range q.Relevant {
			d, ok := index[id]
			if !ok {
				if d, ok = missing[id]; !ok {
					d = -1 - len(missing)
					missing[id] = d
				}
			}
			rel[j] = d
		}
		ret := make([]int, len(hits[i]))
		for j, h := range hits[i] {
			ret[j] = h.Doc
		}
		run[i] = Ranked[int]{Relevant: rel, Retrieved: ret}
	}
	return run
}
