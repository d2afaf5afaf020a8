package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/kotodama-ai/kotodama/index"
)

// EncodeFunc embeds a batch of texts: one vector per text, in order, all
// of one dimension. A model's Encode, with the prompt for the kind of
// text bound in, is one.
type EncodeFunc func(ctx context.Context, texts []string) ([][]float32, error)

// Encoder is what embedding retrieval needs from a model: a function for
// queries and one for documents, so each can carry the model's prompt
// (a query prompt such as "クエリ: ", a document prompt such as "文章: ").
type Encoder struct {
	Query    EncodeFunc
	Document EncodeFunc // nil: Query
}

// Dense is exact embedding search: it ranks every document by the cosine
// similarity of its embedding with the query's, as sentence-transformers'
// cos_sim defines it (each vector divided by max(‖v‖, 1e-12), so a zero
// vector scores 0), ties broken by the lower document index. The search
// itself is package index's exact search. Search is safe for concurrent
// use when the Encoder is.
type Dense struct {
	enc   Encoder
	name  string
	ix    *index.Index
	batch int
}

// DenseOption changes how NewDense encodes and names the index.
type DenseOption func(*denseConfig)

type denseConfig struct {
	name     string
	batch    int
	progress func(done, total int)
}

// WithName names the system in reports (default "dense").
func WithName(name string) DenseOption { return func(c *denseConfig) { c.name = name } }

// WithBatchSize sets how many texts go to one EncodeFunc call (default
// 256); progress is reported after each call.
func WithBatchSize(n int) DenseOption { return func(c *denseConfig) { c.batch = n } }

// WithEncodeProgress has NewDense report the documents encoded so far.
func WithEncodeProgress(fn func(done, total int)) DenseOption {
	return func(c *denseConfig) { c.progress = fn }
}

// NewDense encodes docs with enc.Document (enc.Query when that is nil)
// and keeps their normalized embeddings for Search.
func NewDense(ctx context.Context, docs []string, enc Encoder, opts ...DenseOption) (*Dense, error) {
	c := denseConfig{name: "dense", batch: 256}
	for _, o := range opts {
		o(&c)
	}
	if enc.Query == nil {
		return nil, fmt.Errorf("eval: NewDense: Encoder.Query is nil")
	}
	if c.batch < 1 {
		return nil, fmt.Errorf("eval: NewDense: batch size %d, want ≥ 1", c.batch)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("eval: NewDense: no documents")
	}
	encDoc := enc.Document
	if encDoc == nil {
		encDoc = enc.Query
	}
	vecs, dim, err := encodeAll(ctx, encDoc, docs, c.batch, c.progress)
	if err != nil {
		return nil, fmt.Errorf("eval: encoding documents: %w", err)
	}
	ix, err := index.New(dim, index.Cosine)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	if err := ix.Add(vecs, nil); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return &Dense{enc: enc, name: c.name, ix: ix, batch: c.batch}, nil
}

// String names the system.
func (d *Dense) String() string { return d.name }

// Index is the index of document embeddings, row i holding document i.
func (d *Dense) Index() *index.Index { return d.ix }

// Search embeds the queries with the Encoder's Query function and returns
// each one's k most similar documents, best first.
func (d *Dense) Search(ctx context.Context, queries []string, k int) ([][]Hit, error) {
	if k < 1 {
		return nil, fmt.Errorf("eval: Dense.Search: k = %d, want ≥ 1", k)
	}
	if len(queries) == 0 {
		return nil, nil
	}
	q, dim, err := encodeAll(ctx, d.enc.Query, queries, d.batch, nil)
	if err != nil {
		return nil, fmt.Errorf("eval: encoding queries: %w", err)
	}
	if dim != d.ix.Dim() {
		return nil, fmt.Errorf("eval: query embeddings have dimension %d, documents %d", dim, d.ix.Dim())
	}
	res, err := d.ix.SearchBatch(ctx, q, k)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	out := make([][]Hit, len(res))
	for i, hs := range res {
		out[i] = make([]Hit, len(hs))
		for j, h := range hs {
			out[i][j] = Hit{Doc: h.Row, Score: float64(h.Score)}
		}
	}
	return out, nil
}

// encodeAll embeds texts batch by batch into one row-major matrix,
// checking every vector: the count, one dimension for all, finite values.
func encodeAll(ctx context.Context, fn EncodeFunc, texts []string, batch int, progress func(done, total int)) ([]float32, int, error) {
	var out []float32
	dim := -1
	for lo := 0; lo < len(texts); lo += batch {
		hi := min(lo+batch, len(texts))
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		vecs, err := fn(ctx, texts[lo:hi])
		if err != nil {
			return nil, 0, fmt.Errorf("texts %d..%d: %w", lo, hi-1, err)
		}
		if len(vecs) != hi-lo {
			return nil, 0, fmt.Errorf("texts %d..%d: %d embeddings for %d texts", lo, hi-1, len(vecs), hi-lo)
		}
		for i, v := range vecs {
			if dim < 0 {
				dim = len(v)
				if dim == 0 {
					return nil, 0, fmt.Errorf("text %d: empty embedding", lo+i)
				}
				out = make([]float32, 0, len(texts)*dim)
			}
			if len(v) != dim {
				return nil, 0, fmt.Errorf("text %d: embedding of dimension %d, others have %d", lo+i, len(v), dim)
			}
			for _, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return nil, 0, fmt.Errorf("text %d: embedding holds %v", lo+i, x)
				}
			}
			out = append(out, v...)
		}
		if progress != nil {
			progress(hi, len(texts))
		}
	}
	return out, dim, nil
}
