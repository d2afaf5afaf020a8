package tokenizer

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// ErrEmptyBatch is returned by EncodeBatch for an empty batch.
var ErrEmptyBatch = errors.New("empty batch")

// EncodeBatch encodes texts concurrently over GOMAXPROCS goroutines, each
// with opts, and returns the encodings in the order of texts. If padding
// applies — WithPadding among opts, or a padding section in the tokenizer
// file — every encoding is padded to the same length (the longest of the
// batch when the padding length is 0). An error is a *BatchError naming
// the text that failed; cancelling ctx stops the work early.
func EncodeBatch(ctx context.Context, tok Tokenizer, texts []string, opts ...EncodeOption) ([]*Encoding, error) {
	if len(texts) == 0 {
		return nil, fmt.Errorf("tokenizer: EncodeBatch: %w", ErrEmptyBatch)
	}
	var cfg encodeConfig
	for _, o := range opts {
		o(&cfg)
	}
	pad := cfg.pad
	if pad == nil {
		if p, ok := tok.(*Pipeline); ok && p.pad != nil {
			pad = p.pad
		}
	}
	// Pad after the whole batch is known, not per text.
	perText := opts
	if pad != nil {
		perText = append(append([]EncodeOption(nil), opts...), WithPadding(Padding{}))
	}
	out := make([]*Encoding, len(texts))
	errs := make([]error, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts))
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	const chunk = 8
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if failed.Load() || ctx.Err() != nil {
					return
				}
				start := int(next.Add(chunk)) - chunk
				if start >= len(texts) {
					return
				}
				for i := start; i < min(start+chunk, len(texts)); i++ {
					enc, err := tok.Encode(texts[i], perText...)
					if err != nil {
						errs[i] = err
						failed.Store(true)
						return
					}
					out[i] = enc
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, &BatchError{Index: i, Err: err}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if pad != nil {
		Pad(out, *pad)
	}
	return out, nil
}

// BatchError is EncodeBatch's error: which text failed, and why.
type BatchError struct {
	Index int // index of the text in the batch
	Err   error
}

// Error names the failing text's index and the cause.
func (e *BatchError) Error() string {
	return fmt.Sprintf("tokenizer: EncodeBatch: text %d: %v", e.Index, e.Err)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *BatchError) Unwrap() error { return e.Err }

// Pad pads encodings in place to a common length: p.Length, or the
// longest of them when p.Length is 0, rounded up to a multiple of
// p.Multiple when set (Hugging Face's pad_encodings). Encodings longer
// than the target are left as they are.
func Pad(encs []*Encoding, p Padding) {
	n := p.Length
	if n == 0 {
		for _, e := range encs {
			n = max(n, len(e.IDs))
		}
	}
	for _, e := range encs {
		e.pad(n, p.Multiple, p.ID, p.TypeID, p.Token, p.Left)
	}
}
