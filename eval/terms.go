package eval

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/kotodama-ai/kotodama/tokenizer"
)

// Analyzer splits text into the terms BM25 matches on.
type Analyzer interface {
	// Terms appends the terms of text to dst and returns it.
	Terms(dst []string, text string) ([]string, error)
	// String names the analyzer in reports.
	String() string
}

// CJKBigrams is the default analyzer for Japanese. It needs no
// dictionary, and it is the classic choice for indexing Chinese and
// Japanese text, where words are not separated by spaces: overlapping
// character bigrams (東京都庁 -> 東京 京都 都庁) match a word wherever it
// occurs, whatever its inflection or segmentation, and unknown words,
// names and kanji compounds are covered as well as dictionary words. A
// morphological analyzer (MeCab and a 50 MB dictionary) segments better
// but is a dependency this baseline should not need, and a model's
// subword tokenizer ties the baseline to the model being compared with it
// (TokenizerTerms offers that as an option).
//
// The rules follow Lucene's CJKAnalyzer (StandardTokenizer, CJKWidthFilter,
// LowerCaseFilter, CJKBigramFilter):
//
//   - full-width ASCII (U+FF01–U+FF5E) is folded to ASCII and the
//     ideographic space to a space, so ２匹 and 2匹 match; then letters are
//     lower-cased;
//   - the text is cut into runs: runs of CJK characters (Han, Hiragana,
//     Katakana with the prolonged sound mark ー, Hangul), runs of other
//     letters and digits, with combining marks kept in their run; all else
//     (spaces, punctuation, symbols) separates runs;
//   - a CJK run of two or more characters gives its overlapping bigrams, a
//     lone CJK character gives itself; any other run is one term.
func CJKBigrams() Analyzer { return cjkBigrams{} }

type cjkBigrams struct{}

func (cjkBigrams) String() string { return "cjk-bigram" }

type runeClass int

const (
	sep runeClass = iota
	cjk
	word
)

func classify(r rune) runeClass {
	switch {
	case unicode.Is(unicode.Han, r), unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r),
		unicode.Is(unicode.Hangul, r), r == 'ー':
		return cjk
	case unicode.IsLetter(r), unicode.IsNumber(r):
		return word
	}
	return sep
}

// foldWidth maps full-width ASCII variants to ASCII and the ideographic
// space to a space (the part of NFKC that matters for matching here).
func foldWidth(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFF01 + 0x21
	case r == 0x3000:
		return ' '
	}
	return r
}

func (cjkBigrams) Terms(dst []string, text string) ([]string, error) {
	if !utf8.ValidString(text) {
		return dst, fmt.Errorf("eval: invalid UTF-8 in %.40q", text)
	}
	var run []rune
	cls := sep
	flush := func() {
		switch {
		case len(run) == 0:
		case cls == cjk && len(run) > 1:
			for i := 0; i+1 < len(run); i++ {
				dst = append(dst, string(run[i:i+2]))
			}
		default:
			dst = append(dst, string(run))
		}
		run = run[:0]
	}
	for _, r := range text {
		r = unicode.ToLower(foldWidth(r))
		c := classify(r)
		if unicode.Is(unicode.Mn, r) && len(run) > 0 {
			c = cls // a combining mark stays with its base
		}
		if c != cls {
			flush()
			cls = c
		}
		if c != sep {
			run = append(run, r)
		}
	}
	flush()
	return dst, nil
}

// TokenizerTerms is an analyzer whose terms are the tokens a model's
// tokenizer produces, special tokens left out. Use it to give BM25 the
// same view of the text as the model; CJKBigrams is the default because
// it needs no model.
func TokenizerTerms(tok tokenizer.Tokenizer) Analyzer { return tokTerms{tok} }

type tokTerms struct{ tok tokenizer.Tokenizer }

func (tokTerms) String() string { return "tokenizer" }

func (a tokTerms) Terms(dst []string, text string) ([]string, error) {
	enc, err := a.tok.Encode(text, tokenizer.WithoutSpecialTokens())
	if err != nil {
		return dst, err
	}
	return append(dst, enc.Tokens...), nil
}
