package tokenizer

import (
	"bytes"
	"sort"
	"sync"
	"unicode"
	"unicode/utf8"
)

// A preTokenizer splits pieces into words (Hugging Face's PreTokenizer).
// It appends the words of in to out and returns out; pieces that are
// added tokens pass through untouched, and empty words are dropped.
type preTokenizer interface {
	split(st *state, in, out []piece) []piece
}

// seqPreTokenizer applies pre-tokenizers in order (Sequence).
type seqPreTokenizer []preTokenizer

func (s seqPreTokenizer) split(st *state, in, out []piece) []piece {
	if len(s) == 0 {
		return append(out, in...)
	}
	cur := in
	for i, pt := range s {
		if i == len(s)-1 {
			out = pt.split(st, cur, out)
			break
		}
		next := pt.split(st, cur, st.getPieces())
		if i > 0 {
			st.putPieces(cur)
		}
		cur = next
	}
	if len(s) > 1 {
		st.putPieces(cur)
	}
	return out
}

// splitByClass is the shared loop of the character-class splitters: a
// character for which remove holds ends the current word and is dropped;
// one for which isolate holds is a word of its own.
func splitByClass(st *state, in, out []piece, remove, isolate func(rune) bool) []piece {
	for _, p := range in {
		if p.added >= 0 {
			out = append(out, p)
			continue
		}
		out = splitClassOne(st, p, out, remove, isolate)
	}
	return out
}

// splitClassOne is splitByClass for one piece.
func splitClassOne(st *state, p piece, out []piece, remove, isolate func(rune) bool) []piece {
	b := st.text(p)
	start := 0
	for i := 0; i < len(b); {
		r, sz := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, sz = utf8.DecodeRune(b[i:])
		}
		if remove != nil && remove(r) {
			if i > start {
				out = append(out, p.sub(start, i))
			}
			start = i + sz
		} else if isolate != nil && isolate(r) {
			if i > start {
				out = append(out, p.sub(start, i))
			}
			out = append(out, p.sub(i, i+sz))
			start = i + sz
		}
		i += sz
	}
	if len(b) > start {
		out = append(out, p.sub(start, len(b)))
	}
	return out
}

// bertPreTokenizer is BertPreTokenizer: split on white space (removed) and
// on punctuation (each its own word).
type bertPreTokenizer struct{}

func (bertPreTokenizer) split(st *state, in, out []piece) []piece {
	return splitByClass(st, in, out, isRustWhitespace, isBertPunct)
}

// whitespaceSplit is WhitespaceSplit: split on white space, removed.
type whitespaceSplit struct{}

func (whitespaceSplit) split(st *state, in, out []piece) []piece {
	return splitByClass(st, in, out, isRustWhitespace, nil)
}

// pyWhitespaceSplit is Python's str.split(): the whitespace_tokenize step
// of the slow BERT tokenizers.
type pyWhitespaceSplit struct{}

func (pyWhitespaceSplit) split(st *state, in, out []piece) []piece {
	return splitByClass(st, in, out, isPyWhitespace, nil)
}

// punctuationPreTokenizer is Punctuation: split on punctuation with a
// behavior (Isolated by default).
type punctuationPreTokenizer struct{ behavior splitBehavior }

func (p punctuationPreTokenizer) split(st *state, in, out []piece) []piece {
	if p.behavior == splitIsolated {
		return splitByClass(st, in, out, nil, isBertPunct)
	}
	return splitPattern(st, in, out, runePattern(isBertPunct), p.behavior, false)
}

// digitsPreTokenizer is Digits: digits split from the rest, each alone or
// as runs.
type digitsPreTokenizer struct{ individual bool }

func (d digitsPreTokenizer) split(st *state, in, out []piece) []piece {
	if d.individual {
		return splitByClass(st, in, out, nil, isRustNumeric)
	}
	return splitPattern(st, in, out, runePattern(isRustNumeric), splitContiguous, false)
}

// charDelimiterSplit is CharDelimiterSplit: split on one character,
// removed.
type charDelimiterSplit struct{ delim rune }

func (c charDelimiterSplit) split(st *state, in, out []piece) []piece {
	return splitByClass(st, in, out, func(r rune) bool { return r == c.delim }, nil)
}

// whitespacePreTokenizer is Whitespace: the regex `\w+|[^\w\s]+`, i.e.
// runs of word characters and runs of other non-space characters.
type whitespacePreTokenizer struct{}

func (whitespacePreTokenizer) split(st *state, in, out []piece) []piece {
	for _, p := range in {
		if p.added >= 0 {
			out = append(out, p)
			continue
		}
		b := st.text(p)
		start, class := 0, 0 // class: 0 none, 1 word, 2 other
		for i := 0; i < len(b); {
			r, sz := utf8.DecodeRune(b[i:])
			c := 2
			switch {
			case isOnigSpace(r):
				c = 0
			case isOnigWord(r):
				c = 1
			}
			if c != class {
				if class != 0 && i > start {
					out = append(out, p.sub(start, i))
				}
				start, class = i, c
			}
			i += sz
		}
		if class != 0 && len(b) > start {
			out = append(out, p.sub(start, len(b)))
		}
	}
	return out
}

// isOnigSpace is Oniguruma's Unicode \s.
func isOnigSpace(r rune) bool {
	switch {
	case r >= '\t' && r <= '\r', r == ' ', r == 0x85, r == 0xA0, r == 0x1680,
		r >= 0x2000 && r <= 0x200A, r == 0x2028, r == 0x2029, r == 0x202F, r == 0x205F, r == 0x3000:
		return true
	}
	return false
}

// isOnigWord is Oniguruma's Unicode \w: Alphabetic, marks, decimal
// digits, connector punctuation and the join controls (ZWNJ, ZWJ).
func isOnigWord(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || (r >= '0' && r <= '9') || (r|0x20 >= 'a' && r|0x20 <= 'z')
	}
	return classOf(r)&cOnigWord != 0
}

// splitPreTokenizer is Split: a pattern with a behavior, optionally
// inverted.
type splitPreTokenizer struct {
	pat      pattern
	behavior splitBehavior
	invert   bool
}

func (s splitPreTokenizer) split(st *state, in, out []piece) []piece {
	return splitPattern(st, in, out, s.pat, s.behavior, s.invert)
}

// splitPattern splits every piece on pat's matches with a behavior.
func splitPattern(st *state, in, out []piece, pat pattern, behavior splitBehavior, invert bool) []piece {
	for _, p := range in {
		if p.added >= 0 {
			out = append(out, p)
			continue
		}
		out = splitOne(st, p, out, pat, behavior, invert)
	}
	return out
}

// splitOne splits one piece on pat's matches with a behavior.
func splitOne(st *state, p piece, out []piece, pat pattern, behavior splitBehavior, invert bool) []piece {
	b := st.text(p)
	st.ms = pat.find(b, st.ms[:0])
	st.segs = segments(st.ms, len(b), invert, st.segs[:0])
	st.rs = splitSegments(st.segs, behavior, st.rs[:0])
	for _, r := range st.rs {
		if r.end > r.start {
			out = append(out, p.sub(r.start, r.end))
		}
	}
	return out
}

// prependScheme says when Metaspace puts the replacement before a piece.
type prependScheme int

const (
	prependAlways prependScheme = iota
	prependFirst                // only before the piece that starts the input
	prependNever
)

// metaspacePreTokenizer is Metaspace: spaces become the replacement
// character ("▁"), one is prepended per the scheme, and the text is split
// before every replacement character.
type metaspacePreTokenizer struct {
	replacement rune
	scheme      prependScheme
	split_      bool
}

func (m metaspacePreTokenizer) split(st *state, in, out []piece) []piece {
	var rep [4]byte
	rn := utf8.EncodeRune(rep[:], m.replacement)
	for _, p := range in {
		if p.added >= 0 {
			out = append(out, p)
			continue
		}
		// Replace ' ' with the replacement.
		w := st.rewrite(p)
		for w.more() {
			i := bytes.IndexByte(st.buf[w.pos:p.end], ' ')
			if i < 0 {
				break
			}
			w.keep(i)
			w.skip(1)
			w.insert(m.replacement)
		}
		q := w.done()
		b := st.text(q)
		if len(b) > 0 && !(len(b) >= rn && string(b[:rn]) == string(rep[:rn])) {
			if m.scheme == prependAlways || (m.scheme == prependFirst && st.aln[q.off].start == 0) {
				q = prepend(st, q, string(rep[:rn]))
			}
		}
		if !m.split_ {
			if q.len() > 0 {
				out = append(out, q)
			}
			continue
		}
		// Split before every replacement character.
		b = st.text(q)
		start := 0
		for i := 0; i+rn <= len(b); {
			if string(b[i:i+rn]) == string(rep[:rn]) {
				if i > start {
					out = append(out, q.sub(start, i))
				}
				start = i
				i += rn
				continue
			}
			_, sz := utf8.DecodeRune(b[i:])
			i += sz
		}
		if len(b) > start {
			out = append(out, q.sub(start, len(b)))
		}
	}
	return out
}

// gpt2Pattern is the split regex of GPT-2's ByteLevel pre-tokenizer.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

var gpt2Regex = func() *regexPattern {
	p, err := compileOnig(gpt2Pattern)
	if err != nil {
		panic(err)
	}
	return p
}()

// byteLevelPreTokenizer is ByteLevel: an optional leading space, GPT-2's
// split regex, then every byte mapped to its printable stand-in.
type byteLevelPreTokenizer struct {
	addPrefixSpace bool
	useRegex       bool
}

func (bl byteLevelPreTokenizer) split(st *state, in, out []piece) []piece {
	start := len(out)
	for _, p := range in {
		if p.added >= 0 {
			out = append(out, p)
			continue
		}
		if bl.addPrefixSpace && p.len() > 0 && st.buf[p.off] != ' ' {
			p = prepend(st, p, " ")
		}
		if bl.useRegex {
			out = splitOne(st, p, out, gpt2Regex, splitIsolated, false)
		} else if p.len() > 0 {
			out = append(out, p)
		}
	}
	for i := start; i < len(out); i++ {
		if out[i].added < 0 {
			out[i] = byteLevelMap(st, out[i])
		}
	}
	return out
}

// unicodeScriptsPreTokenizer is UnicodeScripts: split where the script
// changes, with Hiragana, Katakana and the prolonged sound mark counted as
// Han and spaces joining any run. Like the reference, text before the
// first split point (leading spaces) is dropped.
type unicodeScriptsPreTokenizer struct{}

func (unicodeScriptsPreTokenizer) split(st *state, in, out []piece) []piece {
	for _, p := range in {
		if p.added >= 0 {
			out = append(out, p)
			continue
		}
		b := st.text(p)
		first := -1
		start := 0
		last := scriptNone
		for i := 0; i < len(b); {
			r, sz := utf8.DecodeRune(b[i:])
			s := fixedScript(r)
			if s != scriptAny && last != scriptAny && s != last {
				if first < 0 {
					first = i
				} else {
					out = append(out, p.sub(start, i))
				}
				start = i
			}
			if s != scriptAny {
				last = s
			}
			i += sz
		}
		if first >= 0 && len(b) > start {
			out = append(out, p.sub(start, len(b)))
		}
	}
	return out
}

const (
	scriptNone = -2
	scriptAny  = -1
)

// fixedScript is the UnicodeScripts pre-tokenizer's script of r, as an
// index into scriptNames.
func fixedScript(r rune) int {
	switch {
	case r == ' ':
		return scriptAny
	case r == 0x30FC:
		return scriptHan()
	}
	s := scriptOf(r)
	if s == scriptHiragana() || s == scriptKatakana() {
		return scriptHan()
	}
	return s
}

type scriptRange struct {
	lo, hi rune
	script int
}

var scriptTable = sync.OnceValues(func() ([]scriptRange, map[string]int) {
	names := make([]string, 0, len(unicode.Scripts))
	for n := range unicode.Scripts {
		names = append(names, n)
	}
	sort.Strings(names)
	idx := make(map[string]int, len(names))
	var rs []scriptRange
	for i, n := range names {
		idx[n] = i
		t := unicode.Scripts[n]
		for _, r := range t.R16 {
			for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
				if r.Stride == 1 {
					rs = append(rs, scriptRange{rune(r.Lo), rune(r.Hi), i})
					break
				}
				rs = append(rs, scriptRange{c, c, i})
			}
		}
		for _, r := range t.R32 {
			for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
				if r.Stride == 1 {
					rs = append(rs, scriptRange{rune(r.Lo), rune(r.Hi), i})
					break
				}
				rs = append(rs, scriptRange{c, c, i})
			}
		}
	}
	sort.Slice(rs, func(a, b int) bool { return rs[a].lo < rs[b].lo })
	idx["Unknown"] = len(names)
	return rs, idx
})

func scriptOf(r rune) int {
	rs, idx := scriptTable()
	i := sort.Search(len(rs), func(i int) bool { return rs[i].hi >= r })
	if i < len(rs) && rs[i].lo <= r {
		return rs[i].script
	}
	return idx["Unknown"]
}

func scriptHan() int      { _, idx := scriptTable(); return idx["Han"] }
func scriptHiragana() int { _, idx := scriptTable(); return idx["Hiragana"] }
func scriptKatakana() int { _, idx := scriptTable(); return idx["Katakana"] }
