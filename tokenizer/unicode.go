package tokenizer

import (
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Character classes of the Basic Multilingual Plane are looked up in one
// table built on first use, so the hot loops pay one load per character
// instead of a binary search in a unicode.RangeTable; characters outside
// the BMP (rare) take the slow path.
const (
	cWhite       = 1 << iota // Rust char::is_whitespace (White_Space)
	cBertPunct               // ASCII punctuation or Unicode P*
	cBertControl             // Cc, Cf, Co but not \t \n \r
	cMn                      // nonspacing mark
	cStarter                 // canonical combining class 0
	cOnigWord                // Oniguruma / regex \w
	cNumeric                 // Rust char::is_numeric
	cCased                   // lowercasing changes it
)

var bmpClass = sync.OnceValue(func() *[0x10000]uint8 {
	var t [0x10000]uint8
	for r := rune(0); r < 0x10000; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		t[r] = slowClass(r)
	}
	return &t
})

func slowClass(r rune) uint8 {
	var c uint8
	if unicode.Is(unicode.White_Space, r) {
		c |= cWhite
	}
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) || unicode.IsPunct(r) {
		c |= cBertPunct
	}
	if r != '\t' && r != '\n' && r != '\r' && unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co) {
		c |= cBertControl
	}
	if unicode.Is(unicode.Mn, r) {
		c |= cMn
	}
	var b [utf8.UTFMax]byte
	k := utf8.EncodeRune(b[:], r)
	if norm.NFD.Properties(b[:k]).CCC() == 0 {
		c |= cStarter
	}
	if unicode.In(r, unicode.L, unicode.Nl, unicode.M, unicode.Nd, unicode.Pc, unicode.Other_Alphabetic) || r == 0x200C || r == 0x200D {
		c |= cOnigWord
	}
	if unicode.IsNumber(r) {
		c |= cNumeric
	}
	if unicode.ToLower(r) != r || r == 0x130 {
		c |= cCased
	}
	return c
}

// classOf returns the class bits of r.
func classOf(r rune) uint8 {
	if r < 0x10000 {
		return bmpClass()[r]
	}
	return slowClass(r)
}

// Character classes as the reference implementations define them. The Rust
// tokenizers crate uses Rust's char methods and the unicode_categories
// crate; the Python (slow) tokenizers use unicodedata. Both are emulated
// with Go's unicode tables (Unicode 15); characters whose category changed
// between Unicode versions may classify differently, which touches only
// characters assigned or recategorized recently.

// isRustWhitespace reports Rust's char::is_whitespace (the White_Space
// property).
func isRustWhitespace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return classOf(r)&cWhite != 0
}

// isBertWhitespace is BertNormalizer's whitespace: tab, newline, carriage
// return and White_Space.
func isBertWhitespace(r rune) bool { return isRustWhitespace(r) }

// isBertControl is BertNormalizer's control class: the unicode_categories
// "other" categories Cc, Cf and Co, except tab, newline and carriage
// return (which count as whitespace).
func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return classOf(r)&cBertControl != 0
}

// isBertPunct is BertPreTokenizer's punctuation: ASCII punctuation or any
// Unicode P* category.
func isBertPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return classOf(r)&cBertPunct != 0
}

// isChineseChar is BERT's "Chinese character": the CJK Unified Ideographs
// blocks (not kana, not Hangul), with the Rust crate's ranges.
func isChineseChar(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF,
		r >= 0x3400 && r <= 0x4DBF,
		r >= 0x20000 && r <= 0x2A6DF,
		r >= 0x2A700 && r <= 0x2B73F,
		r >= 0x2B740 && r <= 0x2B81F,
		r >= 0x2B920 && r <= 0x2CEAF,
		r >= 0xF900 && r <= 0xFAFF,
		r >= 0x2F800 && r <= 0x2FA1F:
		return true
	}
	return false
}

// isPyChineseChar is the Python BasicTokenizer's range set, which differs
// from the Rust crate's in one block (0x2B820 vs 0x2B920).
func isPyChineseChar(r rune) bool {
	if r >= 0x2B820 && r <= 0x2CEAF {
		return true
	}
	return isChineseChar(r)
}

// isRustNumeric is Rust's char::is_numeric (Nd, Nl, No).
func isRustNumeric(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= '0' && r <= '9'
	}
	return classOf(r)&cNumeric != 0
}

// isRegexWord is the regex crates' \w (the Unicode word property, as
// Oniguruma's).
func isRegexWord(r rune) bool { return isOnigWord(r) }

// isPyWhitespace is Python's str.isspace, which str.split() and str.strip()
// use: categories Zs, Zl, Zp and bidirectional classes WS, B, S — which
// adds U+001C..U+001F to the White_Space set and drops U+180E-like format
// characters.
func isPyWhitespace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || (r >= '\t' && r <= '\r') || (r >= 0x1c && r <= 0x1f)
	}
	return classOf(r)&cWhite != 0
}

// isPyBertWhitespace is the Python BasicTokenizer's _is_whitespace: space,
// tab, newline, carriage return and category Zs.
func isPyBertWhitespace(r rune) bool {
	if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
		return true
	}
	return unicode.Is(unicode.Zs, r)
}

// isPyBertControl is the Python BasicTokenizer's _is_control: categories Cc
// and Cf, except tab, newline and carriage return.
func isPyBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf)
}

// isPyBertPunct is the Python BasicTokenizer's _is_punctuation: ASCII
// non-alphanumeric printable characters or any P* category.
func isPyBertPunct(r rune) bool { return isBertPunct(r) }

// rustLower appends the full lowercase mapping of r (Rust's
// char::to_lowercase) to dst. Go's unicode.ToLower is the simple mapping;
// the one unconditional multi-character lowercase mapping in
// SpecialCasing.txt is U+0130.
func rustLower(dst []rune, r rune) []rune {
	if r == 0x130 {
		return append(dst, 'i', 0x307)
	}
	return append(dst, unicode.ToLower(r))
}

// isMn reports a nonspacing mark (what BERT's accent stripping removes).
func isMn(r rune) bool { return r >= 0x300 && classOf(r)&cMn != 0 }

// notMn is isMn's negation, the keep function of accent stripping.
func notMn(r rune) bool { return !isMn(r) }
