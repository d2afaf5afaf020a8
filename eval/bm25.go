package eval

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// BM25 is an exact Okapi BM25 index over a fixed corpus: lexical search,
// the baseline every embedding model is compared with. Scores are
// computed in float64 from exact document lengths (no lossy length
// encoding as in Lucene), over an inverted index, so a query touches only
// the documents that share a term with it. Search is safe for concurrent
// use.
//
// For a query q and document d, with N documents, df(t) the number of
// documents holding term t, tf the count of t in d, |d| the number of
// terms of d and avgdl the mean of |d| (Robertson and Zaragoza, "The
// Probabilistic Relevance Framework: BM25 and Beyond", 2009, eq. 3.14
// with Lucene's non-negative idf, as in Lucene's BM25Similarity):
//
//	idf(t)     = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
//	score(q,d) = Σ_{t in q} idf(t) · tf·(k1+1) / (tf + k1·(1 - b + b·|d|/avgdl))
//
// A term repeated in the query counts once per occurrence, as Lucene's
// query parser and rank_bm25 do. Only documents with a positive score
// (sharing at least one term) are returned: ranking the rest would be
// arbitrary.
type BM25 struct {
	k1, b    float64
	analyzer Analyzer
	n        int
	avgdl    float64
	vocab    map[string]int32
	idf      []float64 // per term
	start    []int32   // term t's postings are post[start[t]:start[t+1]]
	post     []posting
	norm     []float64 // per document: k1·(1 - b + b·|d|/avgdl)
}

type posting struct {
	doc int32
	tf  float32
}

// BM25Option changes how NewBM25 builds its index.
type BM25Option func(*bm25Config)

type bm25Config struct {
	k1, b    float64
	analyzer Analyzer
	progress func(done, total int)
}

// WithK1 sets k1, how fast repeated occurrences of a term stop adding to
// the score (default 1.2, as Lucene and Elasticsearch; ≥ 0).
func WithK1(k1 float64) BM25Option { return func(c *bm25Config) { c.k1 = k1 } }

// WithB sets b, how much longer documents are penalized (default 0.75,
// as Lucene and Elasticsearch; 0 ≤ b ≤ 1).
func WithB(b float64) BM25Option { return func(c *bm25Config) { c.b = b } }

// WithAnalyzer sets how texts become terms (default CJKBigrams).
func WithAnalyzer(a Analyzer) BM25Option { return func(c *bm25Config) { c.analyzer = a } }

// WithIndexProgress has NewBM25 report the documents analyzed so far.
func WithIndexProgress(fn func(done, total int)) BM25Option {
	return func(c *bm25Config) { c.progress = fn }
}

// NewBM25 indexes docs. Analysis runs on GOMAXPROCS goroutines.
func NewBM25(ctx context.Context, docs []string, opts ...BM25Option) (*BM25, error) {
	c := bm25Config{k1: 1.2, b: 0.75, analyzer: CJKBigrams()}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case !(c.k1 >= 0) || math.IsInf(c.k1, 0):
		return nil, fmt.Errorf("eval: BM25: k1 = %v, want a finite value ≥ 0", c.k1)
	case !(c.b >= 0 && c.b <= 1):
		return nil, fmt.Errorf("eval: BM25: b = %v, want 0 ≤ b ≤ 1", c.b)
	case len(docs) == 0:
		return nil, fmt.Errorf("eval: BM25: no documents")
	case len(docs) > math.MaxInt32:
		return nil, fmt.Errorf("eval: BM25: %d documents, at most %d", len(docs), math.MaxInt32)
	}
	ix := &BM25{k1: c.k1, b: c.b, analyzer: c.analyzer, n: len(docs), vocab: map[string]int32{}}

	// Analyze in parallel; each document becomes its (term, tf) list in
	// order of first occurrence.
	type bag struct {
		terms []string
		tf    []float32
		len   int
	}
	bags := make([]bag, len(docs))
	var done int
	var mu sync.Mutex
	err := parallel(ctx, len(docs), 64, func(lo, hi int) error {
		var buf []string
		for i := lo; i < hi; i++ {
			var err error
			buf, err = c.analyzer.Terms(buf[:0], docs[i])
			if err != nil {
				return fmt.Errorf("eval: BM25: document %d: %w", i, err)
			}
			pos := map[string]int{}
			b := bag{len: len(buf)}
			for _, t := range buf {
				if j, ok := pos[t]; ok {
					b.tf[j]++
					continue
				}
				pos[t] = len(b.terms)
				b.terms = append(b.terms, t)
				b.tf = append(b.tf, 1)
			}
			bags[i] = b
		}
		if c.progress != nil {
			mu.Lock()
			done += hi - lo
			c.progress(done, len(docs))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Build the inverted index in compressed sparse row form: count
	// postings per term, then fill them in document order, so each
	// posting list is sorted by document.
	var total int
	var df []int32
	for _, b := range bags {
		total += b.len
		for _, t := range b.terms {
			id, ok := ix.vocab[t]
			if !ok {
				id = int32(len(df))
				ix.vocab[t] = id
				df = append(df, 0)
			}
			df[id]++
		}
	}
	ix.avgdl = float64(total) / float64(len(docs))
	ix.start = make([]int32, len(df)+1)
	for t, n := range df {
		ix.start[t+1] = ix.start[t] + n
	}
	ix.post = make([]posting, ix.start[len(df)])
	fill := append([]int32(nil), ix.start[:len(df)]...)
	ix.norm = make([]float64, len(docs))
	for d, b := range bags {
		for j, t := range b.terms {
			id := ix.vocab[t]
			ix.post[fill[id]] = posting{doc: int32(d), tf: b.tf[j]}
			fill[id]++
		}
		ix.norm[d] = ix.k1 * (1 - ix.b + ix.b*float64(b.len)/ix.avgdl)
		if ix.avgdl == 0 {
			ix.norm[d] = ix.k1 // every document is empty; nothing will match
		}
	}
	ix.idf = make([]float64, len(df))
	for t, n := range df {
		ix.idf[t] = math.Log(1 + (float64(ix.n)-float64(n)+0.5)/(float64(n)+0.5))
	}
	return ix, nil
}

// String describes the index's parameters.
func (ix *BM25) String() string {
	return fmt.Sprintf("bm25(k1=%g,b=%g,%s)", ix.k1, ix.b, ix.analyzer)
}

// Len is the number of documents indexed.
func (ix *BM25) Len() int { return ix.n }

// Search returns the k best documents for each query, best first, ties
// broken by the lower document index. Queries are spread over GOMAXPROCS
// goroutines.
func (ix *BM25) Search(ctx context.Context, queries []string, k int) ([][]Hit, error) {
	if k < 1 {
		return nil, fmt.Errorf("eval: BM25.Search: k = %d, want ≥ 1", k)
	}
	out := make([][]Hit, len(queries))
	pool := sync.Pool{New: func() any { return &bm25Scratch{score: make([]float64, ix.n)} }}
	err := parallel(ctx, len(queries), 16, func(lo, hi int) error {
		s := pool.Get().(*bm25Scratch)
		defer pool.Put(s)
		for i := lo; i < hi; i++ {
			var err error
			out[i], err = ix.search(s, queries[i], k)
			if err != nil {
				return fmt.Errorf("eval: BM25.Search: query %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// bm25Scratch is one goroutine's score accumulator. score is all zero
// between queries; touched lists the documents a query gave a score.
type bm25Scratch struct {
	score   []float64
	touched []int32
	terms   []string
}

func (ix *BM25) search(s *bm25Scratch, query string, k int) ([]Hit, error) {
	var err error
	s.terms, err = ix.analyzer.Terms(s.terms[:0], query)
	if err != nil {
		return nil, err
	}
	s.touched = s.touched[:0]
	for _, t := range s.terms {
		id, ok := ix.vocab[t]
		if !ok {
			continue
		}
		idf, k1p1 := ix.idf[id], ix.k1+1
		for _, p := range ix.post[ix.start[id]:ix.start[id+1]] {
			tf := float64(p.tf)
			w := idf * tf * k1p1 / (tf + ix.norm[p.doc])
			if s.score[p.doc] == 0 {
				s.touched = append(s.touched, p.doc)
			}
			s.score[p.doc] += w
		}
	}
	h := newTopK(k)
	for _, d := range s.touched {
		if v := s.score[d]; v > 0 {
			h.push(int(d), v)
		}
		s.score[d] = 0
	}
	return h.sorted(), nil
}

// parallel runs fn over [0, n) in chunks of at most chunk items on
// GOMAXPROCS goroutines, stopping at the first error or when ctx ends.
func parallel(ctx context.Context, n, chunk int, fn func(lo, hi int) error) error {
	workers := min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk)
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	stop := make(chan struct{})
	fail := func(err error) {
		once.Do(func() { first = err; close(stop) })
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range next {
				if err := fn(lo, min(lo+chunk, n)); err != nil {
					fail(err)
				}
			}
		}()
	}
feed:
	for lo := 0; lo < n; lo += chunk {
		select {
		case next <- lo:
		case <-stop:
			break feed
		case <-ctx.Done():
			fail(ctx.Err())
			break feed
		}
	}
	close(next)
	wg.Wait()
	return first
}
