package tokenizer

import (
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"
)

// ErrInvalidUTF8 is returned (wrapped, naming the byte offset) when text
// given to Encode is not valid UTF-8. Python hands tokenizers a str, which
// cannot hold invalid UTF-8, so there is no reference behavior to copy;
// Kotodama refuses such input rather than guess (Go's range loop would
// silently turn each bad byte into U+FFFD). Use strings.ToValidUTF8 first
// to get that behavior deliberately.
var ErrInvalidUTF8 = errors.New("invalid UTF-8")

// ErrUnknownID is returned (wrapped) by Decode for an id outside the
// vocabulary.
var ErrUnknownID = errors.New("token id out of range")

// Pipeline is a tokenizer assembled from a tokenizer.json, a vocab.txt
// directory or a SentencePiece model: added tokens, then normalizer,
// pre-tokenizer, model and post-processor, as Hugging Face tokenizers
// runs them. It implements Tokenizer and is safe for concurrent use.
type Pipeline struct {
	source string // the file it was loaded from, for errors

	added      addedVocab
	normalizer normalizer
	pre        preTokenizer
	model      model
	post       postProcessor
	decoder    decoder

	vocab   []string // by id: model vocabulary, added tokens over it
	ids     map[string]int32
	special map[int32]bool // added tokens marked special

	trunc          *Truncation
	pad            *Padding
	padID          int
	modelMaxLength int

	pool sync.Pool
}

var _ Tokenizer = (*Pipeline)(nil)

func (t *Pipeline) getState() *state {
	if st, ok := t.pool.Get().(*state); ok {
		st.reset()
		return st
	}
	return &state{}
}

func (t *Pipeline) putState(st *state) {
	// Do not keep the arena of one huge input alive.
	if cap(st.buf) > 1<<22 {
		return
	}
	t.pool.Put(st)
}

// VocabSize is the number of ids, added tokens included.
func (t *Pipeline) VocabSize() int { return len(t.vocab) }

// TokenID returns the id of a token string.
func (t *Pipeline) TokenID(token string) (int, bool) {
	id, ok := t.ids[token]
	return int(id), ok
}

// Token returns the string of an id.
func (t *Pipeline) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.vocab) {
		return "", false
	}
	return t.vocab[id], true
}

// PadID is the id used for padding: the padding configuration's, else the
// pad token's, else 0.
func (t *Pipeline) PadID() int { return t.padID }

// ModelMaxLength is tokenizer_config.json's model_max_length (0 when not
// known or when the file says "no limit").
func (t *Pipeline) ModelMaxLength() int { return t.modelMaxLength }

// IsSpecial reports whether id is a special added token ([CLS], <s>, ...),
// the ones Decode leaves out when asked to skip special tokens.
func (t *Pipeline) IsSpecial(id int) bool { return t.special[int32(id)] }

// Encode tokenizes text as the reference does with add_special_tokens=True
// unless opts say otherwise. Invalid UTF-8 is an error naming the byte
// offset (ErrInvalidUTF8).
func (t *Pipeline) Encode(text string, opts ...EncodeOption) (*Encoding, error) {
	var cfg encodeConfig
	for _, o := range opts {
		o(&cfg)
	}
	if err := validUTF8(text, "text"); err != nil {
		return nil, err
	}
	if cfg.pair != nil {
		if err := validUTF8(*cfg.pair, "pair text"); err != nil {
			return nil, err
		}
	}
	st := t.getState()
	defer t.putState(st)
	if err := t.encodeSequence(st, text, 0); err != nil {
		return nil, err
	}
	if cfg.pair != nil {
		if err := t.encodeSequence(st, *cfg.pair, 1); err != nil {
			return nil, err
		}
	}
	return t.finish(st, text, &cfg)
}

func validUTF8(s, what string) error {
	if utf8.ValidString(s) {
		return nil
	}
	for i := 0; i < len(s); {
		r, sz := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && sz == 1 {
			return fmt.Errorf("tokenizer: %s: byte offset %d (0x%02x): %w", what, i, s[i], ErrInvalidUTF8)
		}
		i += sz
	}
	return fmt.Errorf("tokenizer: %s: %w", what, ErrInvalidUTF8)
}

// encodeSequence runs added tokens, normalizer, pre-tokenizer and model
// over one text, filling st.seq[seq].
func (t *Pipeline) encodeSequence(st *state, text string, seq int) error {
	st.buf = st.buf[:0]
	st.aln = st.aln[:0]
	in := st.load(text)

	// 1. Added tokens matched in the raw text, then each remaining
	// segment normalized on its own, then added tokens matched in the
	// normalized text.
	pieces := t.added.split(st, in, t.added.raw, st.getPieces())
	var normd []piece
	if t.normalizer != nil || t.added.norm != nil {
		normd = st.getPieces()
		for _, p := range pieces {
			if p.added < 0 && t.normalizer != nil {
				p = t.normalizer.normalize(st, p)
			}
			normd = t.added.split(st, p, t.added.norm, normd)
		}
		st.putPieces(pieces)
		pieces = normd
	}
	// 2. Pre-tokenization.
	words := pieces
	if t.pre != nil {
		words = t.pre.split(st, pieces, st.getPieces())
		st.putPieces(pieces)
		if st.err != nil {
			return fmt.Errorf("tokenizer: %s: pre_tokenizer: %w", t.source, st.err)
		}
	}
	// 3. The model, word by word.
	out := st.seq[seq][:0]
	word := int32(0)
	for _, p := range words {
		if p.len() == 0 && p.added < 0 {
			continue
		}
		if p.added >= 0 {
			// The token string is the matched text (with the white space
			// lstrip/rstrip took), as in Hugging Face.
			s := t.vocab[p.added]
			if b := st.text(p); string(b) != s {
				s = string(b)
			}
			out = append(out, stok{id: p.added, str: s, off: st.origin(p.off, p.end), word: word, special: t.special[p.added]})
			word++
			continue
		}
		st.mtoks = st.mtoks[:0]
		if err := t.model.tokenize(st, p); err != nil {
			return fmt.Errorf("tokenizer: %s: %w", t.source, err)
		}
		for _, m := range st.mtoks {
			s := ""
			if m.surface {
				s = string(st.buf[m.start:m.end])
			} else {
				s = t.vocab[m.id]
			}
			out = append(out, stok{id: m.id, str: s, off: st.origin(m.start, m.end), word: word})
		}
		word++
	}
	st.putPieces(words)
	st.seq[seq] = out
	return nil
}

// finish truncates, post-processes and pads the encoded sequences.
func (t *Pipeline) finish(st *state, text string, cfg *encodeConfig) (*Encoding, error) {
	a := st.seq[0]
	var b []stok
	pair := cfg.pair != nil
	if pair {
		b = st.seq[1]
	}
	addSpecial := !cfg.noSpecial
	trunc := t.trunc
	if cfg.trunc != nil {
		trunc = cfg.trunc
	}
	if cfg.maxLength > 0 {
		tr := Truncation{MaxLength: cfg.maxLength}
		if trunc != nil {
			tr.Strategy, tr.Left = trunc.Strategy, trunc.Left
		}
		trunc = &tr
	}
	if trunc != nil {
		n := trunc.MaxLength
		if addSpecial && t.post != nil {
			n -= t.post.addedTokens(pair)
			if n < 0 {
				n = 0
			}
		}
		var err error
		a, b, err = truncate(a, b, pair, n, trunc.Strategy, trunc.Left)
		if err != nil {
			return nil, err
		}
	}
	enc := newEncoding(len(a) + len(b) + 4)
	if t.post != nil {
		tb := ""
		if pair {
			tb = *cfg.pair
		}
		t.post.process(enc, a, b, text, tb, pair, addSpecial)
	} else {
		appendSeq(enc, a, 0)
		if pair {
			appendSeq(enc, b, 1)
		}
	}
	pad := t.pad
	if cfg.pad != nil {
		pad = cfg.pad
	}
	if pad != nil && pad.Length > 0 {
		enc.pad(pad.Length, pad.Multiple, pad.ID, pad.TypeID, pad.Token, pad.Left)
	} else if pad != nil && pad.Multiple > 0 {
		enc.pad(len(enc.IDs), pad.Multiple, pad.ID, pad.TypeID, pad.Token, pad.Left)
	}
	return enc, nil
}

// Truncation says how Encode shortens inputs (Hugging Face's
// TruncationParams, without overflow).
type Truncation struct {
	MaxLength int              // ids in the result, special tokens included
	Strategy  TruncateStrategy // which sequence of a pair loses tokens
	Left      bool             // drop tokens from the start instead of the end
}

// TruncateStrategy chooses which sequence of a pair is shortened.
type TruncateStrategy int

const (
	// LongestFirst shortens the longer sequence first (the default).
	LongestFirst TruncateStrategy = iota
	// OnlyFirst shortens only the first sequence.
	OnlyFirst
	// OnlySecond shortens only the second sequence.
	OnlySecond
)

// ErrTruncation is returned (wrapped) when only_first / only_second
// truncation cannot reach the maximum length.
var ErrTruncation = errors.New("cannot truncate to the maximum length")

// truncate is truncate_encodings: max is the content budget (special
// tokens already subtracted).
func truncate(a, b []stok, pair bool, max int, strat TruncateStrategy, left bool) ([]stok, []stok, error) {
	cut := func(s []stok, n int) []stok {
		if n >= len(s) {
			return s
		}
		if left {
			return s[len(s)-n:]
		}
		return s[:n]
	}
	if max == 0 {
		return a[:0], b[:0], nil
	}
	total := len(a) + len(b)
	if total <= max {
		return a, b, nil
	}
	remove := total - max
	switch strat {
	case LongestFirst:
		if !pair {
			return cut(a, len(a)-remove), b, nil
		}
		n1, n2 := len(a), len(b)
		swap := n1 > n2
		if swap {
			n1, n2 = n2, n1
		}
		if n1 > max {
			n2 = n1
		} else {
			n2 = maxInt(n1, max-n1)
		}
		if n1+n2 > max {
			n1 = max / 2
			n2 = n1 + max%2
		}
		if swap {
			n1, n2 = n2, n1
		}
		return cut(a, n1), cut(b, n2), nil
	case OnlyFirst, OnlySecond:
		if strat == OnlySecond && !pair {
			return nil, nil, fmt.Errorf("tokenizer: truncation only_second without a second sequence: %w", ErrTruncation)
		}
		if strat == OnlyFirst {
			if len(a) <= remove {
				return nil, nil, fmt.Errorf("tokenizer: first sequence too short for truncation to %d: %w", max, ErrTruncation)
			}
			return cut(a, len(a)-remove), b, nil
		}
		if len(b) <= remove {
			return nil, nil, fmt.Errorf("tokenizer: second sequence too short for truncation to %d: %w", max, ErrTruncation)
		}
		return a, cut(b, len(b)-remove), nil
	}
	return a, b, nil
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// newEncoding allocates an Encoding with room for n tokens, its integer
// fields cut from one allocation.
func newEncoding(n int) *Encoding {
	ints := make([]int, 0, 5*n)
	return &Encoding{
		IDs:               ints[0:0:n],
		TypeIDs:           ints[n : n : 2*n],
		SpecialTokensMask: ints[2*n : 2*n : 3*n],
		AttentionMask:     ints[3*n : 3*n : 4*n],
		WordIDs:           ints[4*n : 4*n : 5*n],
		Tokens:            make([]string, 0, n),
		Offsets:           make([]Offset, 0, n),
	}
}

func (e *Encoding) push(id int32, typeID int, str string, off span, word int32, special bool) {
	e.IDs = append(e.IDs, int(id))
	e.TypeIDs = append(e.TypeIDs, typeID)
	e.Tokens = append(e.Tokens, str)
	e.Offsets = append(e.Offsets, Offset{int(off.start), int(off.end)})
	sp := 0
	if special {
		sp = 1
	}
	e.SpecialTokensMask = append(e.SpecialTokensMask, sp)
	e.AttentionMask = append(e.AttentionMask, 1)
	e.WordIDs = append(e.WordIDs, int(word))
}

// appendSeq appends a sequence's tokens with one type id.
func appendSeq(e *Encoding, s []stok, typeID int) {
	for _, t := range s {
		e.push(t.id, typeID, t.str, t.off, t.word, false)
	}
}

// pad extends e to length (rounded up to a multiple of multiple) with the
// pad token, on the right or the left.
func (e *Encoding) pad(length, multiple, id, typeID int, token string, left bool) {
	if multiple > 0 && length%multiple != 0 {
		length += multiple - length%multiple
	}
	n := length - len(e.IDs)
	if n <= 0 {
		return
	}
	grow := func(s []int, v int) []int {
		out := make([]int, 0, length)
		if left {
			for i := 0; i < n; i++ {
				out = append(out, v)
			}
			return append(out, s...)
		}
		out = append(out, s...)
		for i := 0; i < n; i++ {
			out = append(out, v)
		}
		return out
	}
	e.IDs = grow(e.IDs, id)
	e.TypeIDs = grow(e.TypeIDs, typeID)
	e.SpecialTokensMask = grow(e.SpecialTokensMask, 1)
	e.AttentionMask = grow(e.AttentionMask, 0)
	e.WordIDs = grow(e.WordIDs, -1)
	toks := make([]string, 0, length)
	offs := make([]Offset, 0, length)
	if left {
		for i := 0; i < n; i++ {
			toks = append(toks, token)
			offs = append(offs, Offset{})
		}
	}
	toks = append(toks, e.Tokens...)
	offs = append(offs, e.Offsets...)
	if !left {
		for i := 0; i < n; i++ {
			toks = append(toks, token)
			offs = append(offs, Offset{})
		}
	}
	e.Tokens, e.Offsets = toks, offs
}
