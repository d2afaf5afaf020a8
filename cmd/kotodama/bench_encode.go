package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/kotodama-ai/kotodama/embed"
)

func init() {
	registerBench(&benchmark{
		name:  "encode",
		short: "end-to-end embedding throughput (texts/s: tokenize, encode, pool) of a model on a texts file",
		run:   runBenchEncode,
	})
}

// benchEncodeResult is what `kotodama bench encode -json` prints.
type benchEncodeResult struct {
	Texts    int     `json:"texts"`
	Batch    int     `json:"batch"`
	Device   string  `json:"device"`
	Seconds  float64 `json:"seconds"` // the best of the repeats
	TextsPS  float64 `json:"texts_per_s"`
	Runs     int     `json:"runs"`
	LoadS    float64 `json:"load_s"`
	Dim      int     `json:"dim"`
	MaxSeq   int     `json:"max_seq_length"`
	MaxRSSMB float64 `json:"max_rss_mb,omitempty"`
}

// runBenchEncode times embed.Model.Encode over a file of texts — what
// sentence-transformers' encode does, tokenization and pooling included —
// excluding loading the model and reading the file.
func runBenchEncode(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench encode", "bench encode -model DIR -texts FILE [-batch 32] [-device cpu|cuda] [-repeat 3] [-json]")
	model := fs.String("model", "", "model `directory` (sentence-transformers or Hugging Face layout)")
	textsPath := fs.String("texts", "", "`file` of texts, one per line (or JSONL {\"text\":..})")
	batch := fs.Int("batch", 32, "texts per forward pass")
	repeat := fs.Int("repeat", 3, "encodes of the whole file to time; the best is reported")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "threads to compute on (CPU)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	devName := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *model == "" || *textsPath == "":
		fs.Usage()
		return fmt.Errorf("bench encode: -model and -texts are required")
	case *batch <= 0 || *repeat <= 0 || *threads <= 0:
		return fmt.Errorf("bench encode: -batch, -repeat and -threads must be positive")
	}
	runtime.GOMAXPROCS(*threads)
	dev, err := openDevice(*devName)
	if err != nil {
		return fmt.Errorf("bench encode: %w", err)
	}
	defer dev.close()
	f, err := os.Open(*textsPath)
	if err != nil {
		return fmt.Errorf("bench encode: %w", err)
	}
	var texts []string
	for t, err := range readTexts(f) {
		if err != nil {
			f.Close()
			return fmt.Errorf("bench encode: %s: %w", *textsPath, err)
		}
		texts = append(texts, t)
	}
	f.Close()
	if len(texts) == 0 {
		return fmt.Errorf("bench encode: %s has no texts", *textsPath)
	}
	t0 := time.Now()
	m, err := embed.Load(*model, dev.loadOptions()...)
	if err != nil {
		return fmt.Errorf("bench encode: %w", err)
	}
	defer m.Close()
	loadS := time.Since(t0).Seconds()
	// A warm-up batch sizes the buffers (and compiles nothing: the GPU's
	// kernels were compiled when it was opened).
	if _, err := m.Encode(ctx, texts[:min(len(texts), *batch)], embed.WithBatchSize(*batch)); err != nil {
		return fmt.Errorf("bench encode: %w", err)
	}
	best := 0.0
	for r := range *repeat {
		t0 := time.Now()
		if _, err := m.Encode(ctx, texts, embed.WithBatchSize(*batch)); err != nil {
			return fmt.Errorf("bench encode: %w", err)
		}
		if s := time.Since(t0).Seconds(); r == 0 || s < best {
			best = s
		}
	}
	res := benchEncodeResult{
		Texts: len(texts), Batch: *batch, Device: dev.name, Seconds: best, TextsPS: float64(len(texts)) / best,
		Runs: *repeat, LoadS: loadS, Dim: m.Dim(), MaxSeq: m.MaxSeqLength(), MaxRSSMB: maxRSSMB(),
	}
	if dev.backend == nil {
		res.Device = fmt.Sprintf("cpu (%d threads)", *threads)
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	fmt.Fprintf(e.stdout, "encode %d texts (max %d tokens), batch %d on %s: %.3f s, %.1f texts/s (best of %d; load %.2f s)\n",
		res.Texts, res.MaxSeq, res.Batch, res.Device, res.Seconds, res.TextsPS, res.Runs, res.LoadS)
	return nil
}
