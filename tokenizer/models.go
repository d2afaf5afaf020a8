package tokenizer

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// A model turns one pre-tokenized word into tokens (Hugging Face's Model).
type model interface {
	// tokenize appends the tokens of p (whose text is valid UTF-8) to
	// st.mtoks.
	tokenize(st *state, p piece) error
	// vocab returns the token strings by id.
	vocab() []string
}

// ErrUnknownToken is returned (wrapped) when a model meets text it cannot
// represent and has no unknown token to fall back on.
var ErrUnknownToken = errors.New("text not in vocabulary and no unknown token")

// wordPiece is WordPiece: greedy longest-match-first, continuation pieces
// carry a prefix ("##"); a word that cannot be covered, or is longer than
// maxChars characters, becomes one unknown token.
type wordPiece struct {
	tokens   []string
	starts   *trie // every vocabulary entry
	conts    *trie // entries with the prefix, the prefix removed
	unk      int32
	maxChars int
}

func newWordPiece(tokens []string, prefix, unk string, maxChars int) (*wordPiece, error) {
	ids := make([]int32, len(tokens))
	var ck []string
	var cid []int32
	unkID := int32(-1)
	for i, t := range tokens {
		ids[i] = int32(i)
		if len(t) > len(prefix) && prefix != "" && t[:len(prefix)] == prefix {
			ck = append(ck, t[len(prefix):])
			cid = append(cid, int32(i))
		}
	}
	m := &wordPiece{tokens: tokens, starts: newTrie(tokens, ids), conts: newTrie(ck, cid), maxChars: maxChars}
	if unk != "" {
		unkID = m.starts.lookupString(unk)
		if unkID < 0 {
			return nil, fmt.Errorf("unk_token %q is not in the vocabulary", unk)
		}
	}
	m.unk = unkID
	return m, nil
}

func (m *wordPiece) vocab() []string { return m.tokens }

func (m *wordPiece) tokenize(st *state, p piece) error {
	b := st.text(p)
	if len(b) == 0 {
		return nil
	}
	if len(b) > m.maxChars && utf8.RuneCount(b) > m.maxChars {
		return m.unknown(st, p)
	}
	mark := len(st.mtoks)
	t := m.starts
	for start := 0; start < len(b); {
		s := int32(0)
		best, bestID := -1, int32(-1)
		for i := start; i < len(b); i++ {
			if s = t.next(s, b[i]); s < 0 {
				break
			}
			if v := t.value(s); v >= 0 {
				best, bestID = i+1, v
			}
		}
		if best < 0 {
			st.mtoks = st.mtoks[:mark]
			return m.unknown(st, p)
		}
		st.mtoks = append(st.mtoks, mtok{id: bestID, start: p.off + int32(start), end: p.off + int32(best)})
		start = best
		t = m.conts
	}
	return nil
}

func (m *wordPiece) unknown(st *state, p piece) error {
	if m.unk < 0 {
		return fmt.Errorf("wordpiece: %q: %w", st.text(p), ErrUnknownToken)
	}
	st.mtoks = append(st.mtoks, mtok{id: m.unk, start: p.off, end: p.end})
	return nil
}

// wordLevel is WordLevel: each word is one token or the unknown token.
type wordLevel struct {
	tokens []string
	ids    *trie
	unk    int32
}

func (m *wordLevel) vocab() []string { return m.tokens }

func (m *wordLevel) tokenize(st *state, p piece) error {
	b := st.text(p)
	if len(b) == 0 {
		return nil
	}
	id := m.ids.lookup(b)
	if id < 0 {
		if m.unk < 0 {
			return fmt.Errorf("wordlevel: %q: %w", b, ErrUnknownToken)
		}
		id = m.unk
	}
	st.mtoks = append(st.mtoks, mtok{id: id, start: p.off, end: p.end})
	return nil
}

// unigram is the Unigram language model: the segmentation maximizing the
// sum of piece scores (Viterbi), with characters no piece covers scored as
// unknown (the lowest score minus 10). As in Hugging Face, consecutive
// unknown characters fuse into one unknown token whose string is the text
// itself, and with byte_fallback an unknown run becomes <0xXX> byte
// tokens when all of them exist.
type unigram struct {
	tokens       []string
	scores       []float64
	pieces       *trie
	unk          int32
	byteFallback bool
	unkScore     float64
	byteIDs      [256]int32 // id of "<0xXX>", or -1
}

type viterbiNode struct {
	score float64
	start int32 // -1: unreached
	id    int32
}

func newUnigram(tokens []string, scores []float64, unk int32, byteFallback bool) (*unigram, error) {
	if unk >= int32(len(tokens)) {
		return nil, fmt.Errorf("unk_id %d is outside the vocabulary of %d pieces", unk, len(tokens))
	}
	ids := make([]int32, len(tokens))
	minScore := math.Inf(1)
	for i := range tokens {
		ids[i] = int32(i)
		if scores[i] < minScore {
			minScore = scores[i]
		}
	}
	m := &unigram{tokens: tokens, scores: scores, pieces: newTrie(tokens, ids), unk: unk, byteFallback: byteFallback, unkScore: minScore - 10}
	for b := 0; b < 256; b++ {
		m.byteIDs[b] = m.pieces.lookupString(fmt.Sprintf("<0x%02X>", b))
	}
	return m, nil
}

func (m *unigram) vocab() []string { return m.tokens }

func (m *unigram) tokenize(st *state, p piece) error {
	b := st.text(p)
	n := len(b)
	if n == 0 {
		return nil
	}
	if cap(st.viterbi) < n+1 {
		st.viterbi = make([]viterbiNode, n+1, 2*(n+1))
	}
	best := st.viterbi[:n+1]
	best[0] = viterbiNode{start: -1, id: -1}
	for i := 1; i <= n; i++ {
		best[i] = viterbiNode{start: -1, id: -1}
	}
	t := m.pieces
	for start := 0; start < n; {
		mblen := 1
		if b[start] >= utf8.RuneSelf {
			_, mblen = utf8.DecodeRune(b[start:])
		}
		here := best[start].score
		single := false
		s := int32(0)
		for i := start; i < n; i++ {
			if s = t.next(s, b[i]); s < 0 {
				break
			}
			id := t.value(s)
			if id < 0 {
				continue
			}
			end := i + 1
			cand := here + m.scores[id]
			if node := &best[end]; node.start < 0 || cand > node.score {
				*node = viterbiNode{score: cand, start: int32(start), id: id}
			}
			if end-start == mblen {
				single = true
			}
		}
		if !single {
			if m.unk < 0 {
				return fmt.Errorf("unigram: %q: %w", b[start:start+mblen], ErrUnknownToken)
			}
			cand := here + m.unkScore
			if node := &best[start+mblen]; node.start < 0 || cand > node.score {
				*node = viterbiNode{score: cand, start: int32(start), id: m.unk}
			}
		}
		start += mblen
	}
	// Backtrack, fusing runs of unknowns, then emit in order.
	mark := len(st.mtoks)
	for end := n; end > 0; {
		node := best[end]
		start := int(node.start)
		if node.id == m.unk && m.unk >= 0 {
			for start > 0 && best[start].id == m.unk {
				start = int(best[start].start)
			}
			st.mtoks = append(st.mtoks, mtok{id: -1, start: p.off + int32(start), end: p.off + int32(end)})
		} else {
			st.mtoks = append(st.mtoks, mtok{id: node.id, start: p.off + int32(start), end: p.off + int32(end)})
		}
		end = start
	}
	toks := st.mtoks[mark:]
	for i, j := 0, len(toks)-1; i < j; i, j = i+1, j-1 {
		toks[i], toks[j] = toks[j], toks[i]
	}
	// Resolve unknown runs: a fused string may itself be a piece; else
	// bytes; else the unknown id with the text as its string.
	for i := mark; i < len(st.mtoks); i++ {
		tk := st.mtoks[i]
		if tk.id >= 0 {
			continue
		}
		text := st.buf[tk.start:tk.end]
		if id := t.lookup(text); id >= 0 {
			st.mtoks[i].id = id
			continue
		}
		if m.byteFallback && m.bytesKnown(text) {
			k := len(text)
			rest := append([]mtok(nil), st.mtoks[i+1:]...)
			st.mtoks = st.mtoks[:i]
			for _, c := range text {
				st.mtoks = append(st.mtoks, mtok{id: m.byteIDs[c], start: tk.start, end: tk.end})
			}
			st.mtoks = append(st.mtoks, rest...)
			i += k - 1
			continue
		}
		st.mtoks[i].id = m.unk
		st.mtoks[i].surface = true
	}
	return nil
}

func (m *unigram) bytesKnown(text []byte) bool {
	for _, c := range text {
		if m.byteIDs[c] < 0 {
			return false
		}
	}
	return true
}
