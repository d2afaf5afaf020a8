package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kotodama-ai/kotodama/embed"
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
	fs := newFlags(e, "search", "search -index FILE (-model DIR [-prompt query] < queries | -vectors FILE [-dim N]) [-k 10] [-json]")
	idxPath := fs.String("index", "", "index `file` written by `kotodama index` (required)")
	model := fs.String("model", "", "encode the queries with this model `directory`; queries are read from stdin (or -in), one per line or JSONL {\"text\":..}")
	in := fs.String("in", "", "with -model: read the queries from this `file` instead of stdin")
	prompt := fs.String("prompt", "", "with -model: prepend the model's prompt of this `name` to every query (e.g. query)")
	encBatch := fs.Int("encode-batch", 32, "with -model: texts per forward pass")
	maxLength := fs.Int("max-length", 0, "with -model: truncate queries to this many `tokens` (default: the model's max_seq_length)")
	vecPath := fs.String("vectors", "", "query vectors `file`: a .npy array (n×dim) or raw little-endian float32 (needs -dim); the query is then its row number")
	dim := fs.Int("dim", 0, "dimension of a raw float32 -vectors file")
	k := fs.Int("k", 10, "hits per query")
	threads := fs.Int("threads", 0, "search goroutines (0: one per CPU)")
	batch := fs.Int("batch", 1024, "queries searched together (a larger batch is faster per query and holds more results in memory)")
	verify := fs.Bool("verify", true, "check the checksum of the index's vectors when opening it (false opens a large index without reading it first)")
	asJSON := fs.Bool("json", false, `write JSONL {"query":..,"hits":[{"id":..,"score":..},...]} per query instead of text`)
	quiet := fs.Bool("q", false, "no progress bar on stderr")
	devName := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("search: unexpected arguments %q", fs.Args())
	}
	switch {
	case *idxPath == "":
		return errors.New("search: -index is required")
	case (*vecPath == "") == (*model == ""):
		return errors.New("search: give exactly one of -model and -vectors")
	case *in != "" && *model == "":
		return errors.New("search: -in goes with -model")
	case *k <= 0:
		return fmt.Errorf("search: -k %d: %w", *k, index.ErrK)
	case *batch <= 0:
		return fmt.Errorf("search: -batch %d must be positive", *batch)
	}
	opts := []index.Option{index.WithThreads(*threads)}
	if !*verify {
		opts = append(opts, index.WithoutVectorChecksum())
	}
	dev, err := openDevice(*devName)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	defer dev.close()
	ix, err := index.Open(*idxPath, opts...)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	defer ix.Close()
	// On a GPU the index is copied into its memory once and searched there.
	searcher, release, err := dev.searcher(ix)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	defer release()
	errw := e.stderr
	if *quiet {
		errw = nil
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	// search runs one batch: queries[i] is what the output calls query i.
	search := func(queries []any, vecs []float32) error {
		res, err := searcher.SearchBatch(ctx, vecs, *k)
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
	if *model != "" {
		err = searchTexts(ctx, e, errw, *model, dev, *in, encodeOptions(*prompt, *encBatch, *maxLength), ix, *batch, search)
	} else {
		err = searchVectors(errw, *vecPath, *dim, ix, *batch, search)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// searchVectors searches the rows of a vectors file, batch rows at a time.
func searchVectors(errw io.Writer, path string, dim int, ix *index.Index, batch int, search func([]any, []float32) error) error {
	vf, err := openVectors(path, dim)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	defer vf.Close()
	if vf.dim != ix.Dim() {
		return fmt.Errorf("search: %w: queries in %s have dimension %d, the index has %d", index.ErrDim, path, vf.dim, ix.Dim())
	}
	bar := progress.New(errw, "search", int64(vf.rows), "queries")
	defer bar.Finish()
	buf := make([]float32, batch*vf.dim)
	queries := make([]any, 0, batch)
	for done := 0; done < vf.rows; {
		n, err := vf.next(buf)
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		queries = queries[:0]
		for i := range n {
			queries = append(queries, done+i)
		}
		if err := search(queries, buf[:n*vf.dim]); err != nil {
			return err
		}
		done += n
		bar.Add(int64(n))
	}
	return nil
}

// searchTexts encodes the queries of path (stdin when empty) with the
// model in dir and searches them, batch queries at a time.
func searchTexts(ctx context.Context, e *env, errw io.Writer, dir string, dev *device, path string, enc []embed.EncodeOption, ix *index.Index, batch int, search func([]any, []float32) error) error {
	m, err := embed.Load(dir, dev.loadOptions()...)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	defer m.Close()
	r := e.stdin
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		defer f.Close()
		r = f
	}
	bar := progress.New(errw, "search", 0, "queries")
	defer bar.Finish()
	var texts []string
	flush := func() error {
		if len(texts) == 0 {
			return nil
		}
		vecs, err := m.Encode(ctx, texts, enc...)
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		flat := make([]float32, 0, len(vecs)*ix.Dim())
		queries := make([]any, len(texts))
		for i, v := range vecs {
			if len(v) != ix.Dim() {
				return fmt.Errorf("search: %w: the model gives vectors of dimension %d, the index has %d", index.ErrDim, len(v), ix.Dim())
			}
			flat = append(flat, v...)
			queries[i] = texts[i]
		}
		if err := search(queries, flat); err != nil {
			return err
		}
		bar.Add(int64(len(texts)))
		texts = texts[:0]
		return nil
	}
	for text, err := range readTexts(r) {
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		texts = append(texts, text)
		if len(texts) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
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
