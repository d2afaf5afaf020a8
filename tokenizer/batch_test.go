package tokenizer

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

// TestEncodeBatchConcurrent encodes the fixture texts many times over from
// concurrent goroutines (run with -race) and checks the results equal the
// sequential ones, in order.
func TestEncodeBatchConcurrent(t *testing.T) {
	dir := golden.Path("tokenizers", "deberta-v2-large-japanese")
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range readCases(t, dir+"/cases.jsonl") {
		texts = append(texts, c.Text)
	}
	for len(texts) < 400 {
		texts = append(texts, texts...)
	}
	encs, err := EncodeBatch(context.Background(), tok, texts, WithMaxLength(32))
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		want, err := tok.Encode(text, WithMaxLength(32))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(encs[i].IDs, want.IDs) || !slices.Equal(encs[i].Offsets, want.Offsets) {
			t.Fatalf("text %d: batch %v, sequential %v", i, encs[i].IDs, want.IDs)
		}
	}
	if _, err := EncodeBatch(context.Background(), tok, nil); !errors.Is(err, ErrEmptyBatch) {
		t.Errorf("empty batch: err = %v", err)
	}
	_, err = EncodeBatch(context.Background(), tok, []string{"ok", "bad \xff"})
	var be *BatchError
	if !errors.As(err, &be) || be.Index != 1 || !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("bad text: err = %v, want a BatchError for text 1 wrapping ErrInvalidUTF8", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := EncodeBatch(ctx, tok, texts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}
