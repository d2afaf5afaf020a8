package tokenizer

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// match is a byte range [start, end) of a piece's text.
type match struct{ start, end int }

// A pattern finds non-overlapping matches in text (Hugging Face's Pattern:
// a literal string, a regex, or a character predicate).
type pattern interface {
	find(b []byte, dst []match) []match
}

// literalPattern matches a string literally; the empty string matches
// nothing.
type literalPattern string

func (p literalPattern) find(b []byte, dst []match) []match {
	if p == "" {
		return dst
	}
	lit := []byte(p)
	for off := 0; off <= len(b); {
		i := bytes.Index(b[off:], lit)
		if i < 0 {
			break
		}
		dst = append(dst, match{off + i, off + i + len(lit)})
		off += i + len(lit)
	}
	return dst
}

// runePattern matches every single character f accepts.
type runePattern func(rune) bool

func (f runePattern) find(b []byte, dst []match) []match {
	for i := 0; i < len(b); {
		r, sz := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, sz = utf8.DecodeRune(b[i:])
		}
		if f(r) {
			dst = append(dst, match{i, i + sz})
		}
		i += sz
	}
	return dst
}

// regexPattern is a Oniguruma pattern (what Hugging Face compiles)
// translated to Go's RE2 syntax. RE2 has no lookaround; the one lookahead
// real tokenizers use, `\s+(?!\S)` (GPT-2 and its descendants), is
// emulated: the whitespace run is matched by a capture group and, when a
// non-space character follows and the run is longer than one character,
// the match gives back its last character, as backtracking would.
type regexPattern struct {
	re        *regexp.Regexp
	lookahead bool // group 1 is a `\s+(?!\S)` alternative
}

func (p *regexPattern) find(b []byte, dst []match) []match {
	if !p.lookahead {
		for _, loc := range p.re.FindAllIndex(b, -1) {
			dst = append(dst, match{loc[0], loc[1]})
		}
		return dst
	}
	prevEnd := -1
	for pos := 0; pos <= len(b); {
		loc := p.re.FindSubmatchIndex(b[pos:])
		if loc == nil {
			break
		}
		s, e := pos+loc[0], pos+loc[1]
		if loc[2] >= 0 && pos+loc[3] == e && e < len(b) {
			// The whitespace run ends before a non-space: (?!\S) holds
			// only one character earlier, if the run has one to give.
			_, last := utf8.DecodeLastRune(b[s:e])
			if e-last > s {
				e -= last
			} else {
				// A one-character run cannot satisfy the lookahead; the
				// pattern's next alternative (`\s+`) takes it as is.
			}
		}
		if s == e && s == prevEnd {
			// No empty match right after a match.
			if s >= len(b) {
				break
			}
			_, sz := utf8.DecodeRune(b[s:])
			pos = s + sz
			continue
		}
		dst = append(dst, match{s, e})
		prevEnd = e
		if e == s {
			if e >= len(b) {
				break
			}
			_, sz := utf8.DecodeRune(b[e:])
			pos = e + sz
		} else {
			pos = e
		}
	}
	return dst
}

// Oniguruma's Unicode classes, spelled out for RE2. Its \w is the Unicode
// "word" property: Alphabetic (letters, Nl, Other_Alphabetic), marks,
// decimal digits, connector punctuation and the join controls.
const onigSpace = `\t\n\x0B\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}`

var onigWord = func() string {
	var sb strings.Builder
	sb.WriteString(`\p{L}\p{Nl}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}`)
	// Other_Alphabetic characters that are not marks (circled letters...).
	for _, r16 := range unicode.Other_Alphabetic.R16 {
		for c := rune(r16.Lo); c <= rune(r16.Hi); c += rune(r16.Stride) {
			if !unicode.Is(unicode.M, c) {
				fmt.Fprintf(&sb, `\x{%X}`, c)
			}
		}
	}
	for _, r32 := range unicode.Other_Alphabetic.R32 {
		for c := rune(r32.Lo); c <= rune(r32.Hi); c += rune(r32.Stride) {
			if !unicode.Is(unicode.M, c) {
				fmt.Fprintf(&sb, `\x{%X}`, c)
			}
		}
	}
	return sb.String()
}()

// compileOnig translates an Oniguruma (Ruby syntax, UTF-8) pattern to RE2
// and compiles it. Unsupported constructs are errors, never silent
// changes.
func compileOnig(pat string) (*regexPattern, error) {
	var sb strings.Builder
	inClass := false
	lookahead := false
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat):
			e := pat[i+1]
			i++
			switch e {
			case 's':
				// `\s+(?!\S)`: capture the run and emulate the lookahead.
				if !inClass && strings.HasPrefix(pat[i+1:], `+(?!\S)`) {
					if lookahead {
						return nil, fmt.Errorf("regex %q: more than one `\\s+(?!\\S)` is not supported", pat)
					}
					sb.WriteString(`([` + onigSpace + `]+)`)
					i += len(`+(?!\S)`)
					lookahead = true
					continue
				}
				if inClass {
					sb.WriteString(onigSpace)
				} else {
					sb.WriteString(`[` + onigSpace + `]`)
				}
			case 'S':
				if inClass {
					return nil, fmt.Errorf("regex %q: \\S inside a character class is not supported", pat)
				}
				sb.WriteString(`[^` + onigSpace + `]`)
			case 'w':
				if inClass {
					sb.WriteString(onigWord)
				} else {
					sb.WriteString(`[` + onigWord + `]`)
				}
			case 'W':
				if inClass {
					return nil, fmt.Errorf("regex %q: \\W inside a character class is not supported", pat)
				}
				sb.WriteString(`[^` + onigWord + `]`)
			case 'd':
				sb.WriteString(`\p{Nd}`)
			case 'D':
				sb.WriteString(`\P{Nd}`)
			case 'h':
				if inClass {
					sb.WriteString(`0-9a-fA-F`)
				} else {
					sb.WriteString(`[0-9a-fA-F]`)
				}
			case 'u':
				if i+4 < len(pat) {
					sb.WriteString(`\x{` + pat[i+1:i+5] + `}`)
					i += 4
				} else {
					return nil, fmt.Errorf("regex %q: bad \\u escape", pat)
				}
			case 'p', 'P', 'x':
				sb.WriteByte('\\')
				sb.WriteByte(e)
				if i+1 < len(pat) && pat[i+1] == '{' {
					j := strings.IndexByte(pat[i+1:], '}')
					if j < 0 {
						return nil, fmt.Errorf("regex %q: unterminated \\%c{", pat, e)
					}
					sb.WriteString(pat[i+1 : i+2+j])
					i += j + 1
				}
			default:
				sb.WriteByte('\\')
				sb.WriteByte(e)
			}
		case c == '[' && !inClass:
			inClass = true
			sb.WriteByte(c)
			// A ']' right after '[' or '[^' is a literal.
			if strings.HasPrefix(pat[i+1:], "^") {
				sb.WriteByte('^')
				i++
			}
			if strings.HasPrefix(pat[i+1:], "]") {
				sb.WriteString(`\]`)
				i++
			}
		case c == '[' && inClass:
			return nil, fmt.Errorf("regex %q: nested character classes are not supported", pat)
		case c == ']' && inClass:
			inClass = false
			sb.WriteByte(c)
		case c == '(' && !inClass:
			rest := pat[i+1:]
			switch {
			case strings.HasPrefix(rest, "?=") || strings.HasPrefix(rest, "?!") ||
				strings.HasPrefix(rest, "?<=") || strings.HasPrefix(rest, "?<!") || strings.HasPrefix(rest, "?>"):
				return nil, fmt.Errorf("regex %q: lookaround and atomic groups are not supported", pat)
			case strings.HasPrefix(rest, "?"):
				sb.WriteByte('(')
			default:
				// Capture groups do not change what matches; make them
				// non-capturing so group 1 is the emulated lookahead.
				sb.WriteString("(?:")
			}
		case (c == '+' || c == '*' || c == '?') && !inClass && i+1 < len(pat) && pat[i+1] == '+':
			return nil, fmt.Errorf("regex %q: possessive quantifiers are not supported", pat)
		default:
			sb.WriteByte(c)
		}
	}
	re, err := regexp.Compile(sb.String())
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", pat, err)
	}
	return &regexPattern{re: re, lookahead: lookahead}, nil
}

// splitBehavior is what happens to the matched delimiters when a piece is
// split (SplitDelimiterBehavior).
type splitBehavior int

const (
	splitRemoved splitBehavior = iota
	splitIsolated
	splitMergedWithPrevious
	splitMergedWithNext
	splitContiguous
)

func parseBehavior(s string) (splitBehavior, error) {
	switch strings.ToLower(s) {
	case "removed":
		return splitRemoved, nil
	case "isolated":
		return splitIsolated, nil
	case "merged_with_previous", "mergedwithprevious":
		return splitMergedWithPrevious, nil
	case "merged_with_next", "mergedwithnext":
		return splitMergedWithNext, nil
	case "contiguous":
		return splitContiguous, nil
	}
	return 0, fmt.Errorf("unknown split behavior %q", s)
}

// seg is a range with whether it is a match (the alternation Hugging
// Face's find_matches returns).
type seg struct {
	start, end int
	isMatch    bool
}

// segments turns matches into the full cover of [0, n): gaps are
// non-matches.
func segments(ms []match, n int, invert bool, dst []seg) []seg {
	if n == 0 {
		return append(dst, seg{0, 0, invert})
	}
	prev := 0
	for _, m := range ms {
		if m.start > prev {
			dst = append(dst, seg{prev, m.start, invert})
		}
		dst = append(dst, seg{m.start, m.end, !invert})
		prev = m.end
	}
	if prev < n {
		dst = append(dst, seg{prev, n, invert})
	}
	return dst
}

// splitSegments applies a behavior to the cover, appending the resulting
// ranges (possibly empty; callers drop those) to dst.
func splitSegments(segs []seg, b splitBehavior, dst []match) []match {
	switch b {
	case splitIsolated:
		for _, s := range segs {
			dst = append(dst, match{s.start, s.end})
		}
	case splitRemoved:
		for _, s := range segs {
			if !s.isMatch {
				dst = append(dst, match{s.start, s.end})
			}
		}
	case splitContiguous:
		start := len(dst)
		prevMatch := false
		for i, s := range segs {
			if i > 0 && s.isMatch == prevMatch && len(dst) > start {
				dst[len(dst)-1].end = s.end
			} else {
				dst = append(dst, match{s.start, s.end})
			}
			prevMatch = s.isMatch
		}
	case splitMergedWithPrevious:
		start := len(dst)
		prevMatch := false
		for _, s := range segs {
			if s.isMatch && !prevMatch && len(dst) > start {
				dst[len(dst)-1].end = s.end
			} else {
				dst = append(dst, match{s.start, s.end})
			}
			prevMatch = s.isMatch
		}
	case splitMergedWithNext:
		start := len(dst)
		prevMatch := false
		for i := len(segs) - 1; i >= 0; i-- {
			s := segs[i]
			if s.isMatch && !prevMatch && len(dst) > start {
				dst[len(dst)-1].start = s.start
			} else {
				dst = append(dst, match{s.start, s.end})
			}
			prevMatch = s.isMatch
		}
		// Built back to front.
		for i, j := start, len(dst)-1; i < j; i, j = i+1, j-1 {
			dst[i], dst[j] = dst[j], dst[i]
		}
	}
	return dst
}
