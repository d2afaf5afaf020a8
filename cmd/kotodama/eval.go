package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/kotodama-ai/kotodama/data"
	"github.com/kotodama-ai/kotodama/eval"
	"github.com/kotodama-ai/kotodama/internal/progress"
	"github.com/kotodama-ai/kotodama/tokenizer"
)

func init() {
	register(&command{
		name:  "eval",
		short: "evaluate retrieval (nDCG, MRR, ... vs BM25) and STS (Spearman) on Japanese tasks",
		run:   runEval,
	})
}

const evalUsage = `usage: kotodama eval <retrieval|sts|tasks> [flags]   (kotodama eval <kind> -h)

  retrieval  rank a task's corpus for each query with BM25 and/or a model;
             report accuracy@k, recall@k, MRR@k and nDCG@k as JMTEB does
  sts        correlate a model's cosine similarities with gold scores
             (Spearman, Pearson)
  tasks      list the task names
`

func runEval(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(e.stderr, evalUsage)
		if len(args) == 0 {
			return errors.New("eval: no kind given")
		}
		return nil
	}
	switch args[0] {
	case "retrieval":
		return runEvalRetrieval(ctx, e, args[1:])
	case "sts":
		return runEvalSTS(ctx, e, args[1:])
	case "tasks":
		for _, t := range data.Tasks() {
			fmt.Fprintf(e.stdout, "%-10s %-14s %s\n", t.Kind, t.Name, t.What)
		}
		return nil
	}
	fmt.Fprint(e.stderr, evalUsage)
	return fmt.Errorf("eval: unknown kind %q", args[0])
}

// dataDir is where built-in task names find their files.
func dataDir() string {
	if d := os.Getenv("KOTODAMA_DATA"); d != "" {
		return d
	}
	return "datasets"
}

// loadErr adds a hint when the datasets directory is not where it was
// looked for.
func loadErr(err error, dir string) error {
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return fmt.Errorf("%w (the datasets directory %q is missing: run from the repository root, or pass -data or set KOTODAMA_DATA)", err, dir)
		}
	}
	return err
}

// cutoffs returns JMTEB's cutoffs 1, 3, 5, 10 up to k, and k.
func cutoffs(k int) []int {
	var ks []int
	for _, c := range []int{1, 3, 5, 10} {
		if c < k {
			ks = append(ks, c)
		}
	}
	return append(ks, k)
}

func runEvalRetrieval(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "eval retrieval", "eval retrieval -task NAME [-model DIR] [-bm25] [-k 10] [-json] [flags]")
	task := fs.String("task", "", "task: jsquad-valid, jaquad-train, squad:PATH, jmteb:DIR (see kotodama eval tasks)")
	model := fs.String("model", "", "model directory (or org/name in the local Hugging Face cache) to evaluate by embedding search; BM25 runs beside it unless -bm25=false")
	bm25 := fs.Bool("bm25", false, "evaluate BM25 (lexical search); alone, or beside -model")
	k := fs.Int("k", 10, "cutoff: every metric is reported at k and at those of 1, 3, 5, 10 below k (JMTEB: accuracy@1,3,5,10, nDCG@10, MRR@10)")
	asJSON := fs.Bool("json", false, `print {"task":..,"metrics":{"ndcg@10":..,...}} (with -model and BM25: BM25's under "bm25") instead of a table`)
	dir := fs.String("data", dataDir(), "datasets directory for the built-in task names ($KOTODAMA_DATA)")
	title := fs.Bool("title", false, "index documents as \"title text\" rather than the text alone (JSQuAD and JaQuAD titles, JMTEB corpus titles)")
	terms := fs.String("terms", "bigram", "BM25 terms: bigram (character bigrams, no dictionary) or tokenizer (the tokens of -tokenizer, else of -model's tokenizer)")
	tokPath := fs.String("tokenizer", "", "tokenizer for -terms tokenizer: a tokenizer.json, vocab.txt or .model file, or a model directory")
	k1 := fs.Float64("k1", 1.2, "BM25 k1 (term-frequency saturation)")
	b := fs.Float64("b", 0.75, "BM25 b (document-length normalization)")
	trec := fs.Bool("trec", false, "also report trec_eval's ndcg_cut@k (ideal DCG cut at k)")
	batch := fs.Int("batch", 32, "texts per forward pass of the model (-model)")
	devName := deviceFlag(fs)
	queryPrompt := fs.String("query-prompt", autoPrompt, `model prompt for queries: a prompt name, "none", or auto (the model's "query" prompt if it has one)`)
	docPrompt := fs.String("doc-prompt", autoPrompt, `model prompt for documents: a prompt name, "none", or auto (the model's "document" or "passage" prompt if it has one)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("eval retrieval: unexpected argument %q", fs.Arg(0))
	}
	if *task == "" {
		fs.Usage()
		return errors.New("eval retrieval: -task is required")
	}
	if *k < 1 {
		return fmt.Errorf("eval retrieval: -k %d, want ≥ 1", *k)
	}
	if *batch < 1 {
		return fmt.Errorf("eval retrieval: -batch %d, want ≥ 1", *batch)
	}
	bm25Set := false
	fs.Visit(func(f *flag.Flag) { bm25Set = bm25Set || f.Name == "bm25" })
	runBM25 := *bm25 || (*model != "" && !bm25Set)
	if !runBM25 && *model == "" {
		return errors.New("eval retrieval: nothing to evaluate: give -model DIR, -bm25, or both")
	}
	bm25Opts := []eval.BM25Option{eval.WithK1(*k1), eval.WithB(*b)}
	switch *terms {
	case "bigram":
	case "tokenizer":
		src := *tokPath
		if src == "" {
			src = *model
		}
		if src == "" {
			return errors.New("eval retrieval: -terms tokenizer needs -tokenizer PATH or -model DIR")
		}
		tok, err := tokenizer.Load(src)
		if err != nil {
			return fmt.Errorf("eval retrieval: %w", err)
		}
		bm25Opts = append(bm25Opts, eval.WithAnalyzer(eval.TokenizerTerms(tok)))
	default:
		return fmt.Errorf("eval retrieval: -terms %q, want bigram or tokenizer", *terms)
	}
	t, err := data.LoadRetrieval(*dir, *task)
	if err != nil {
		return loadErr(err, *dir)
	}
	docs := t.DocTexts(*title)
	opts := []eval.Option{eval.WithCutoffs(cutoffs(*k)...)}
	if *trec {
		opts = append(opts, eval.WithTrecNDCG())
	}

	var results []*eval.RetrievalResult
	if *model != "" {
		res, err := evalModelRetrieval(ctx, e, modelFlags{*model, *batch, *devName}, *queryPrompt, *docPrompt, t, docs, opts)
		if err != nil {
			return fmt.Errorf("eval retrieval: %w", err)
		}
		results = append(results, res)
	}
	if runBM25 {
		bar := progress.New(e.stderr, "bm25 index", int64(len(docs)), "docs")
		ix, err := eval.NewBM25(ctx, docs, append(bm25Opts, eval.WithIndexProgress(barFunc(bar)))...)
		bar.Finish()
		if err != nil {
			return err
		}
		res, err := evalWithBar(ctx, e, "bm25 search", t, ix, opts)
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	if *asJSON {
		return writeRetrievalJSON(e.stdout, results)
	}
	return eval.WriteRetrievalTable(e.stdout, results...)
}

// evalWithBar runs EvaluateRetrieval with a progress bar over queries.
func evalWithBar(ctx context.Context, e *env, label string, t *data.Retrieval, r eval.Retriever, opts []eval.Option) (*eval.RetrievalResult, error) {
	bar := progress.New(e.stderr, label, int64(len(t.Queries)), "queries")
	res, err := eval.EvaluateRetrieval(ctx, t, r, append(slices.Clone(opts), eval.WithProgress(barFunc(bar)))...)
	bar.Finish()
	return res, err
}

// barFunc adapts a bar to progress callbacks that report the absolute
// count done; calls may come from several goroutines.
func barFunc(bar *progress.Bar) func(done, total int) {
	var mu sync.Mutex
	var last int
	return func(done, _ int) {
		mu.Lock()
		defer mu.Unlock()
		if done > last {
			bar.Add(int64(done - last))
			last = done
		}
	}
}

// writeRetrievalJSON prints the first result (the model's when there is
// one) with the BM25 result, if it is a second one, under "bm25".
func writeRetrievalJSON(w io.Writer, results []*eval.RetrievalResult) error {
	type system struct {
		System  string       `json:"system"`
		Metrics eval.Metrics `json:"metrics"`
	}
	out := struct {
		*eval.RetrievalResult
		BM25 *system `json:"bm25,omitempty"`
	}{RetrievalResult: results[0]}
	if len(results) > 1 {
		out.BM25 = &system{results[1].System, results[1].Metrics}
	}
	enc := json.NewEncoder(w)
	return enc.Encode(out)
}

func runEvalSTS(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "eval sts", "eval sts -task NAME -model DIR [-json] [flags]")
	task := fs.String("task", "", "task: jsts-valid, jsts-train, jsick-train, jsts:PATH, jsick:PATH, jmteb:DIR (see kotodama eval tasks)")
	model := fs.String("model", "", "model directory (or org/name in the local Hugging Face cache) to evaluate")
	asJSON := fs.Bool("json", false, `print {"task":..,"metrics":{"spearman":..,"pearson":..}} instead of a table`)
	dir := fs.String("data", dataDir(), "datasets directory for the built-in task names ($KOTODAMA_DATA)")
	prompt := fs.String("prompt", autoPrompt, `model prompt for every sentence: a prompt name, "none", or auto (the model's default prompt, if it names one)`)
	batch := fs.Int("batch", 32, "texts per forward pass of the model")
	devName := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("eval sts: unexpected argument %q", fs.Arg(0))
	}
	if *task == "" || *model == "" {
		fs.Usage()
		return errors.New("eval sts: -task and -model are required")
	}
	if *batch < 1 {
		return fmt.Errorf("eval sts: -batch %d, want ≥ 1", *batch)
	}
	t, err := data.LoadSTS(*dir, *task)
	if err != nil {
		return loadErr(err, *dir)
	}
	res, err := evalModelSTS(ctx, e, modelFlags{*model, *batch, *devName}, *prompt, t)
	if err != nil {
		return fmt.Errorf("eval sts: %w", err)
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	return eval.WriteSTSTable(e.stdout, res)
}

// trimName shortens a model directory to its last element for reports.
func trimName(dir string) string {
	dir = strings.TrimRight(dir, "/")
	if i := strings.LastIndexByte(dir, '/'); i >= 0 {
		return dir[i+1:]
	}
	return dir
}
