package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kotodama-ai/kotodama/internal/progress"
	"github.com/kotodama-ai/kotodama/tokenizer"
)

func init() {
	register(&command{
		name:  "tokenize",
		short: "turn text into token ids and tokens (JSONL in, JSONL out)",
		run:   runTokenize,
	})
}

// tokenizeResult is one output line of `kotodama tokenize`.
type tokenizeResult struct {
	IDs     []int    `json:"ids"`
	Tokens  []string `json:"tokens"`
	Offsets [][2]int `json:"offsets,omitempty"`
	TypeIDs []int    `json:"type_ids,omitempty"`
}

const tokenizeSynopsis = `tokenize (-model DIR | -tokenizer FILE) [-max-length N] [-no-special] [-offsets] [-type-ids] < texts

Reads one text per input line (or JSONL {"text": ...}, decided by the first
line) and writes one JSON line {"ids":[...],"tokens":[...]} per text, in
order, exactly the ids Hugging Face produces with add_special_tokens=True.`

func runTokenize(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "tokenize", tokenizeSynopsis)
	modelDir := fs.String("model", "", "model directory (tokenizer.json, vocab.txt + tokenizer_config.json, or a SentencePiece model; sentence-transformers layout)")
	tokFile := fs.String("tokenizer", "", "a tokenizer.json, a vocab.txt or a SentencePiece .model file (instead of -model)")
	maxLen := fs.Int("max-length", 0, "truncate to at most N ids, special tokens included (0: no truncation)")
	noSpecial := fs.Bool("no-special", false, "leave out the special tokens ([CLS], [SEP], ...): add_special_tokens=False")
	offsets := fs.Bool("offsets", false, `also write "offsets": the [start,end) byte range of each token in its text`)
	typeIDs := fs.Bool("type-ids", false, `also write "type_ids"`)
	batch := fs.Int("batch", 256, "texts encoded together (in parallel over all CPUs)")
	_ = fs.Bool("json", true, "output is always JSONL; accepted for uniformity with other verbs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tokenize: unexpected arguments %q", fs.Args())
	}
	src := *modelDir
	switch {
	case *modelDir != "" && *tokFile != "":
		return errors.New("tokenize: give -model or -tokenizer, not both")
	case *modelDir == "" && *tokFile == "":
		return errors.New("tokenize: -model DIR or -tokenizer FILE is required")
	case *tokFile != "":
		src = *tokFile
	}
	if *maxLen < 0 {
		return fmt.Errorf("tokenize: -max-length %d must not be negative", *maxLen)
	}
	if *batch <= 0 {
		return fmt.Errorf("tokenize: -batch %d must be positive", *batch)
	}
	tok, err := tokenizer.Load(src)
	if err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	var opts []tokenizer.EncodeOption
	if *maxLen > 0 {
		opts = append(opts, tokenizer.WithMaxLength(*maxLen))
	}
	if *noSpecial {
		opts = append(opts, tokenizer.WithoutSpecialTokens())
	}
	out := bufio.NewWriterSize(e.stdout, 1<<16)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	bar := progress.New(e.stderr, "tokenize", 0, "texts")
	defer bar.Finish()
	texts := make([]string, 0, *batch)
	line := 0
	flush := func() error {
		if len(texts) == 0 {
			return nil
		}
		encs, err := tokenizer.EncodeBatch(ctx, tok, texts, opts...)
		if be := (*tokenizer.BatchError)(nil); errors.As(err, &be) {
			return fmt.Errorf("tokenize: input line %d: %w", line-len(texts)+1+be.Index, be.Err)
		} else if err != nil {
			return fmt.Errorf("tokenize: %w", err)
		}
		for _, en := range encs {
			r := tokenizeResult{IDs: en.IDs, Tokens: en.Tokens}
			if *offsets {
				r.Offsets = make([][2]int, len(en.Offsets))
				for i, o := range en.Offsets {
					r.Offsets[i] = [2]int{o.Start, o.End}
				}
			}
			if *typeIDs {
				r.TypeIDs = en.TypeIDs
			}
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("tokenize: writing output: %w", err)
			}
		}
		bar.Add(int64(len(texts)))
		texts = texts[:0]
		return nil
	}
	for text, err := range readTexts(e.stdin) {
		if err != nil {
			return fmt.Errorf("tokenize: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		line++
		texts = append(texts, text)
		if len(texts) == *batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("tokenize: writing output: %w", err)
	}
	return nil
}
