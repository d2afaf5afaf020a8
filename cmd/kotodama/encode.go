package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/internal/progress"
)

func init() {
	register(&command{
		name:  "encode",
		short: "turn texts (one per line, or JSONL {\"text\":...}) into embeddings (JSONL)",
		run:   runEncode,
	})
}

// encodeChunk is how many input texts are read before encoding them; the
// model sorts by length within a chunk.
const encodeChunk = 4096

func runEncode(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "encode", "encode -model DIR [-prompt NAME] [-batch N] [flags] < texts > embeddings.jsonl")
	model := fs.String("model", "", "model `directory` (sentence-transformers or Hugging Face layout), or org/name in the local Hugging Face cache")
	promptName := fs.String("prompt", "", "prepend the model's prompt of this `name` (config_sentence_transformers.json), e.g. query")
	promptText := fs.String("prompt-text", "", "prepend this `text` to every input instead of a named prompt")
	batch := fs.Int("batch", 32, "texts per forward pass")
	normalize := fs.Bool("normalize", false, "scale every embedding to unit length (after -truncate-dim)")
	maxLength := fs.Int("max-length", 0, "truncate texts to this many `tokens` (default: the model's max_seq_length)")
	truncateDim := fs.Int("truncate-dim", 0, "keep the first `n` dimensions of every embedding (Matryoshka models)")
	quiet := fs.Bool("q", false, "no progress bar on stderr")
	devName := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" {
		fs.Usage()
		return fmt.Errorf("encode: -model is required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("encode: unexpected argument %q (texts are read from stdin)", fs.Arg(0))
	}
	dev, err := openDevice(*devName)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	defer dev.close()
	m, err := embed.Load(*model, dev.loadOptions()...)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	defer m.Close()
	opts := []embed.EncodeOption{embed.WithBatchSize(*batch)}
	if *promptText != "" {
		opts = append(opts, embed.WithPrompt(*promptText))
	} else if *promptName != "" {
		opts = append(opts, embed.WithPromptName(*promptName))
	}
	if *normalize {
		opts = append(opts, embed.WithNormalize())
	}
	if *maxLength != 0 {
		opts = append(opts, embed.WithMaxLength(*maxLength))
	}
	if *truncateDim != 0 {
		opts = append(opts, embed.WithTruncateDim(*truncateDim))
	}
	errw := e.stderr
	if *quiet {
		errw = nil
	}
	bar := progress.New(errw, "encode", 0, "texts")
	defer bar.Finish()
	w := bufio.NewWriterSize(e.stdout, 1<<16)
	var texts []string
	var line []byte
	flush := func() error {
		if len(texts) == 0 {
			return nil
		}
		reported := 0
		vecs, err := m.Encode(ctx, texts, append(opts, embed.WithProgress(func(done int) {
			bar.Add(int64(done - reported))
			reported = done
		}))...)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		for _, v := range vecs {
			line = append(line[:0], `{"embedding":[`...)
			for j, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return fmt.Errorf("encode: the model produced %v (check its weights)", x)
				}
				if j > 0 {
					line = append(line, ',')
				}
				line = strconv.AppendFloat(line, float64(x), 'g', -1, 32)
			}
			line = append(line, "]}\n"...)
			if _, err := w.Write(line); err != nil {
				return fmt.Errorf("encode: %w", err)
			}
		}
		texts = texts[:0]
		return w.Flush()
	}
	for text, err := range readTexts(e.stdin) {
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		texts = append(texts, text)
		if len(texts) == encodeChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
