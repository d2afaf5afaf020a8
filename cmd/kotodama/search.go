package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kotodama-ai/kotodama/index"
	"github.com/kotodama-ai/kotodama/internal/progress"
)

func init() {
	register(&command{
		name:  "search",
		short: "find the k nearest rows of an index for each query",
		run:   runSearch,
	})
}

// searchResult is one line of `kotodama search -json`.
type searchResult struct {
	Query any         `json:"query"`
	Hits  []searchHit `json:"hits"`
}

type searchHit struct {
	ID    string  `json:"id"`
	Score float32 `json:"score"`
}

func runSearch(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "search", "search -index FILE -vectors FILE [-dim N] [-k 10] [-threads N] [-json]")
	idxPath := fs.String("index", "", "index file written by `kotodama index` (required)")
	vecPath := fs.String("vectors", "", "query vectors: a .npy array (n×dim) or raw little-endian float32 (needs -dim)")
	dim := fs.Int("dim", 0, "dimension of a raw float32 -vectors file")
	k := fs.Int("k", 10, "hits per query")
	threads := fs.Int("threads", 0, "search goroutines (0: one per CPU)")
	batch := fs.Int("batch", 1024, "queries searched together (a larger batch is faster per query and holds more results in memory)")
	verify := fs.Bool("verify", true, "check the checksum of the index's vectors when opening it (false opens a large index without reading it first)")
	asJSON := fs.Bool("json", false, `write JSONL {"query":..,"hits":[{"id":..,"score":..},...]} per query (the query is its row number) instead of text`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("search: unexpected arguments %q", fs.Args())
	}
	switch {
	case *idxPath == "":
		return errors.New("search: -index is required")
	case *vecPath == "":
		return errors.New("search: -vectors is required")
	case *k <= 0:
		return fmt.Errorf("search: -k %d: %w", *k, index.ErrK)
	case *batch <= 0:
		return fmt.Errorf("search: -batch %d must be positive", *batch)
	}
	opts := []index.Option{index.WithThreads(*threads)}
	if !*verify {
		opts = append(opts, index.WithoutVectorChecksum())
	}
	ix, err := index.Open(*idxPath, opts...)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	defer ix.Close()
	vf, err := openVectors(*vecPath, *dim)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	defer vf.Close()
	if vf.dim != ix.Dim() {
		return fmt.Errorf("search: %w: queries in %s have dimension %d, the index %s has %d", index.ErrDim, *vecPath, vf.dim, *idxPath, ix.Dim())
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	queries := make([]any, 0, *batch)
	search := func(vecs []float32) error {
		res, err := ix.SearchBatch(ctx, vecs, *k)
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		for i, hits := range res {
			if err := writeHits(w, queries[i], hits, *asJSON); err != nil {
				return err
			}
		}
		return nil
	}
	bar := progress.New(e.stderr, "search", int64(vf.rows), "queries")
	defer bar.Finish()
	buf := make([]float32, *batch*vf.dim)
	for done := 0; done < vf.rows; {
		n, err := vf.next(buf)
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		queries = queries[:0]
		for i := range n {
			queries = append(queries, done+i)
		}
		if err := search(buf[:n*vf.dim]); err != nil {
			return err
		}
		done += n
		bar.Add(int64(n))
	}
	return w.Flush()
}

// writeHits writes one query's hits as a JSONL line or as text: the query
// on a line, then one "rank score id" line per hit.
func writeHits(w io.Writer, query any, hits []index.Hit, asJSON bool) error {
	if asJSON {
		r := searchResult{Query: query, Hits: make([]searchHit, len(hits))}
		for i, h := range hits {
			r.Hits[i] = searchHit{ID: h.ID, Score: h.Score}
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		_, err = w.Write(b)
		return err
	}
	if _, err := fmt.Fprintf(w, "query %v\n", query); err != nil {
		return err
	}
	for i, h := range hits {
		if _, err := fmt.Fprintf(w, "%4d  %.6f  %s\n", i+1, h.Score, h.ID); err != nil {
			return err
		}
	}
	return nil
}
