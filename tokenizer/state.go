package tokenizer

import (
	"unicode/utf8"
)

// How text moves through a Pipeline without per-token allocations:
//
// All text of one Encode call lives in one arena (state.buf). Beside every
// arena byte, state.aln holds the byte range of the input character it
// came from (Hugging Face's NormalizedString alignments). A piece is a
// range of the arena: the input, a normalized segment, a pre-tokenized
// word. Splitting a piece is slicing it; rewriting a piece (a normalizer,
// Metaspace's "▁", ByteLevel's byte alphabet) appends the new text and its
// alignments to the arena and points the piece there. Nothing in the arena
// is modified in place, so earlier ranges stay valid; the arena is reset
// between calls and pooled with the state.

// span is a byte range [start, end) of the input text.
type span struct{ start, end int32 }

// piece is a range of the arena: a segment of text on its way to the model.
type piece struct {
	off, end int32 // arena range
	added    int32 // id of the added token this piece is, or -1
}

func (p piece) len() int { return int(p.end - p.off) }

// mtok is one token a model produced for a piece.
type mtok struct {
	id         int32
	start, end int32 // arena range of its text
	surface    bool  // the token string is the text itself, not the vocab entry (Unigram's unknown pieces)
}

// stok is one token of an encoded sequence, before post-processing.
type stok struct {
	id      int32
	str     string
	off     span
	word    int32
	special bool // an added special token matched in the text
}

// state is the scratch of one Encode call.
type state struct {
	buf   []byte
	aln   []span
	mtoks []mtok
	seq   [2][]stok
	words []Word
	runes []rune
	ms    []match
	segs  []seg
	rs    []match
	free  [][]piece
	err   error // an error a pre-tokenizer met (a WordTokenizer's)
	// model scratch
	viterbi    []viterbiNode
	spmViterbi []spmViterbiNode
	bpe        []bpeSymbol
	heap       []bpeMerge
}

func (st *state) reset() {
	st.err = nil
	st.buf = st.buf[:0]
	st.aln = st.aln[:0]
	st.mtoks = st.mtoks[:0]
	st.seq[0] = st.seq[0][:0]
	st.seq[1] = st.seq[1][:0]
}

// load puts text into the arena, each byte aligned to its character.
func (st *state) load(text string) piece {
	off := int32(len(st.buf))
	st.buf = append(st.buf, text...)
	for i := 0; i < len(text); {
		n := 1
		if text[i] >= utf8.RuneSelf {
			_, n = utf8.DecodeRuneInString(text[i:])
		}
		sp := span{int32(i), int32(i + n)}
		for k := 0; k < n; k++ {
			st.aln = append(st.aln, sp)
		}
		i += n
	}
	return piece{off: off, end: int32(len(st.buf)), added: -1}
}

// text returns the bytes of p. The slice is valid until the arena grows;
// callers that append to the arena re-slice afterwards.
func (st *state) text(p piece) []byte { return st.buf[p.off:p.end] }

// origin returns the input range of arena bytes [a, b): from the start of
// the first byte's character to the end of the last's. An empty range maps
// to the empty range at the character it precedes.
func (st *state) origin(a, b int32) span {
	if b <= a {
		if int(a) < len(st.aln) {
			s := st.aln[a].start
			return span{s, s}
		}
		if a > 0 {
			e := st.aln[a-1].end
			return span{e, e}
		}
		return span{}
	}
	return span{st.aln[a].start, st.aln[b-1].end}
}

// sub returns the piece covering arena range [a, b) of p's text, where a
// and b are offsets within p.
func (p piece) sub(a, b int) piece {
	return piece{off: p.off + int32(a), end: p.off + int32(b), added: -1}
}

// rewriter rebuilds one piece as a sequence of edits on its characters,
// Hugging Face's NormalizedString::transform: keep, replace (consume one
// character, emit one aligned to it), insert (emit one aligned to the
// character before) and skip (consume without emitting). It writes
// nothing until the first real change, so a normalizer that changes
// nothing costs no copy.
type rewriter struct {
	st      *state
	src     piece
	pos     int32 // read cursor in the arena
	out     int32 // arena start of the rewritten text, valid once changed
	changed bool
}

func (st *state) rewrite(p piece) rewriter {
	return rewriter{st: st, src: p, pos: p.off}
}

// more reports whether source bytes remain.
func (w *rewriter) more() bool { return w.pos < w.src.end }

// peek decodes the next source character.
func (w *rewriter) peek() (rune, int) {
	b := w.st.buf[w.pos:w.src.end]
	if b[0] < utf8.RuneSelf {
		return rune(b[0]), 1
	}
	return utf8.DecodeRune(b)
}

// begin switches to writing: the source consumed so far is copied.
func (w *rewriter) begin() {
	if w.changed {
		return
	}
	w.changed = true
	st := w.st
	w.out = int32(len(st.buf))
	st.buf = append(st.buf, st.buf[w.src.off:w.pos]...)
	st.aln = append(st.aln, st.aln[w.src.off:w.pos]...)
}

// keep passes the next n source bytes through unchanged.
func (w *rewriter) keep(n int) {
	if w.changed {
		st := w.st
		st.buf = append(st.buf, st.buf[w.pos:w.pos+int32(n)]...)
		st.aln = append(st.aln, st.aln[w.pos:w.pos+int32(n)]...)
	}
	w.pos += int32(n)
}

// replace consumes the next source character (n bytes) and emits r in its
// place, aligned to it.
func (w *rewriter) replace(n int, r rune) {
	if !w.changed {
		var tmp [utf8.UTFMax]byte
		m := utf8.EncodeRune(tmp[:], r)
		if m == n && string(tmp[:m]) == string(w.st.buf[w.pos:w.pos+int32(n)]) {
			w.pos += int32(n)
			return
		}
		w.begin()
	}
	a := w.st.aln[w.pos]
	w.emit(r, a)
	w.pos += int32(n)
}

// replaceString consumes n source bytes holding k characters and emits s
// in their place: s's characters replace the consumed ones one for one,
// extra characters are inserted, missing ones skipped (Hugging Face's
// change counts).
func (w *rewriter) replaceString(n int, s string) {
	if !w.changed {
		if s == string(w.st.buf[w.pos:w.pos+int32(n)]) {
			w.pos += int32(n)
			return
		}
		w.begin()
	}
	end := w.pos + int32(n)
	for _, r := range s {
		if w.pos < end {
			_, m := w.peek()
			a := w.st.aln[w.pos]
			w.emit(r, a)
			w.pos += int32(m)
		} else {
			w.insert(r)
		}
	}
	w.pos = end
}

// insert emits r without consuming, aligned to the character before the
// cursor (or the first character when at the start).
func (w *rewriter) insert(r rune) {
	w.begin()
	var a span
	switch {
	case w.pos > w.src.off:
		a = w.st.aln[w.pos-1]
	case w.pos < w.src.end:
		a = w.st.aln[w.pos]
		a.end = a.start
	default:
		a = w.st.origin(w.pos, w.pos)
	}
	w.emit(r, a)
}

// skip consumes the next n source bytes without emitting them.
func (w *rewriter) skip(n int) {
	w.begin()
	w.pos += int32(n)
}

func (w *rewriter) emit(r rune, a span) {
	st := w.st
	if r < utf8.RuneSelf {
		st.buf = append(st.buf, byte(r))
		st.aln = append(st.aln, a)
		return
	}
	st.buf = utf8.AppendRune(st.buf, r)
	for k := utf8.RuneLen(r); k > 0; k-- {
		st.aln = append(st.aln, a)
	}
}

// done finishes the rewrite and returns the new piece (the source piece
// when nothing changed).
func (w *rewriter) done() piece {
	if !w.changed {
		return w.src
	}
	if w.pos < w.src.end {
		w.keep(int(w.src.end - w.pos))
	}
	return piece{off: w.out, end: int32(len(w.st.buf)), added: w.src.added}
}

// getPieces returns an empty piece slice from the state's free list.
func (st *state) getPieces() []piece {
	if n := len(st.free); n > 0 {
		p := st.free[n-1]
		st.free = st.free[:n-1]
		return p[:0]
	}
	return make([]piece, 0, 16)
}

// putPieces returns a slice from getPieces to the free list.
func (st *state) putPieces(p []piece) { st.free = append(st.free, p[:0]) }
