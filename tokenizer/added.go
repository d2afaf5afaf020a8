package tokenizer

import (
	"unicode/utf8"
)

// addedToken is one entry of tokenizer.json's added_tokens: a string
// matched in the text before the model sees it (special tokens such as
// [CLS], and user-added words).
type addedToken struct {
	id         int32
	content    string
	singleWord bool
	lstrip     bool
	rstrip     bool
	normalized bool
	special    bool
}

// matcher finds added tokens leftmost-longest, as Hugging Face's
// Aho-Corasick automaton (MatchKind::LeftmostLongest) does.
type matcher struct {
	t      *trie
	first  [256]bool
	tokens []int // index into addedVocab.tokens by trie value
}

func newMatcher(contents []string, idx []int) *matcher {
	if len(contents) == 0 {
		return nil
	}
	ids := make([]int32, len(contents))
	m := &matcher{tokens: idx}
	for i, c := range contents {
		ids[i] = int32(i)
		if c != "" {
			m.first[c[0]] = true
		}
	}
	m.t = newTrie(contents, ids)
	return m
}

// next returns the first match at or after from: its range and token
// index, or ok=false.
func (m *matcher) next(b []byte, from int) (start, end, tok int, ok bool) {
	for i := from; i < len(b); i++ {
		if !m.first[b[i]] {
			continue
		}
		if e, t, ok := m.at(b, i); ok {
			return i, e, t, true
		}
	}
	return 0, 0, 0, false
}

// at returns the longest match starting at i.
func (m *matcher) at(b []byte, i int) (end, tok int, ok bool) {
	s := int32(0)
	best, bestV := -1, int32(-1)
	for j := i; j < len(b); j++ {
		if s = m.t.next(s, b[j]); s < 0 {
			break
		}
		if v := m.t.value(s); v >= 0 {
			best, bestV = j+1, v
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	return best, m.tokens[bestV], true
}

// addedVocab holds the added tokens and their two matchers: one over the
// raw text (tokens with normalized=false) and one over normalized text.
type addedVocab struct {
	tokens []addedToken
	raw    *matcher
	norm   *matcher
}

// split cuts piece p at the added tokens m finds, appending the pieces
// (added ones with their id) to out. It follows AddedVocabulary's
// find_matches: single_word tokens must stand alone, lstrip/rstrip
// tokens swallow the white space beside them.
func (av *addedVocab) split(st *state, p piece, m *matcher, out []piece) []piece {
	if m == nil || p.added >= 0 {
		return append(out, p)
	}
	b := st.text(p)
	last := 0
	for from := 0; from < len(b); {
		s, e, ti, ok := m.next(b, from)
		if !ok {
			break
		}
		from = e
		tok := &av.tokens[ti]
		if tok.singleWord {
			startOK := s == 0 || !endsWithWord(b[:s])
			stopOK := e == len(b) || !startsWithWord(b[e:])
			if !startOK || !stopOK {
				continue
			}
		}
		if tok.lstrip {
			ns := s
			for ns > last {
				r, sz := utf8.DecodeLastRune(b[last:ns])
				if !isRustWhitespace(r) {
					break
				}
				ns -= sz
			}
			s = ns
		}
		if tok.rstrip {
			for e < len(b) {
				r, sz := utf8.DecodeRune(b[e:])
				if !isRustWhitespace(r) {
					break
				}
				e += sz
			}
			from = e
		}
		if s > last {
			out = append(out, p.sub(last, s))
		}
		q := p.sub(s, e)
		q.added = tok.id
		out = append(out, q)
		last = e
	}
	if last < len(b) || len(b) == 0 {
		out = append(out, p.sub(last, len(b)))
	}
	return out
}

func endsWithWord(b []byte) bool {
	r, _ := utf8.DecodeLastRune(b)
	return isRegexWord(r)
}

func startsWithWord(b []byte) bool {
	r, _ := utf8.DecodeRune(b)
	return isRegexWord(r)
}
