package embed

import (
	"fmt"

	"github.com/kotodama-ai/kotodama/pooling"
)

// What training needs to feed an encoder exactly as Encode does (added by
// the training work; package train builds its trainable copy of the
// encoder from the same directory).

// TokenIDs returns the token ids Encode feeds the encoder for text with
// prompt prepended: sentence-transformers' text handling (strip, lower
// case when the model says so), special tokens, truncation to the
// model's max sequence length keeping them.
func (m *Model) TokenIDs(text, prompt string) ([]int, error) {
	enc, err := m.tok.Encode(m.prepare(prompt+text), tokOpts(m.maxSeq)...)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	if len(enc.IDs) == 0 || len(enc.IDs) > m.maxSeq {
		return nil, fmt.Errorf("embed: the tokenizer gave %d ids (max length %d)", len(enc.IDs), m.maxSeq)
	}
	return enc.IDs, nil
}

// Pooling is the configuration of the model's Pooling module.
func (m *Model) Pooling() pooling.Config { return m.pool.Config }

// Normalized reports whether the model ends with a Normalize module.
func (m *Model) Normalized() bool { return m.normalize }
