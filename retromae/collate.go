package retromae

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/kotodama-ai/kotodama/tokenizer"
)

// WordRule says how tokens group into words for whole-word masking.
type WordRule int

const (
	// WordPiece: a token starting with "##" continues the word before it
	// (BERT's WordPiece; what transformers' DataCollatorForWholeWordMask
	// knows).
	WordPiece WordRule = iota
	// Metaspace: a token not starting with "▁" continues the word before
	// it (SentencePiece and Metaspace pre-tokenizers).
	Metaspace
	// Tokens: every token is a word of its own.
	Tokens
)

// String is the rule's name as the pretrain configuration spells it.
func (r WordRule) String() string {
	switch r {
	case WordPiece:
		return "wordpiece"
	case Metaspace:
		return "metaspace"
	case Tokens:
		return "tokens"
	}
	return fmt.Sprintf("WordRule(%d)", int(r))
}

// ParseWordRule reads "wordpiece", "metaspace" or "tokens".
func ParseWordRule(s string) (WordRule, error) {
	for _, r := range []WordRule{WordPiece, Metaspace, Tokens} {
		if s == r.String() {
			return r, nil
		}
	}
	return 0, fmt.Errorf("retromae: word rule %q (want wordpiece, metaspace or tokens)", s)
}

// DetectWordRule picks the rule of a tokenizer from its vocabulary:
// WordPiece when it has "##" continuation pieces (and not more "▁"
// pieces), Metaspace when it has "▁" word starts, else Tokens.
func DetectWordRule(tok tokenizer.Tokenizer) WordRule {
	var hashes, spaces int
	for id := range tok.VocabSize() {
		s, _ := tok.Token(id)
		switch {
		case strings.HasPrefix(s, "##") && len(s) > 2:
			hashes++
		case strings.HasPrefix(s, "▁"):
			spaces++
		}
	}
	switch {
	case hashes > 0 && hashes >= spaces:
		return WordPiece
	case spaces > 0:
		return Metaspace
	}
	return Tokens
}

// Passage is one tokenized text for the Collator: its ids, special
// tokens included, and for each token the index of its word — equal for
// consecutive tokens of one word — or -1 for a token never masked (the
// special tokens).
type Passage struct {
	IDs   []int32
	Words []int32
}

// ErrPassage means a Passage cannot be collated.
var ErrPassage = errors.New("retromae: invalid passage")

// Tokenize encodes text with the special tokens, truncated to maxLen ids
// (the special tokens kept), and groups its tokens into words by rule.
// Special tokens — those the tokenizer adds, and every other occurrence
// of their ids — are never masked.
func Tokenize(tok tokenizer.Tokenizer, text string, maxLen int, rule WordRule) (Passage, error) {
	e, err := tok.Encode(text, tokenizer.WithMaxLength(maxLen))
	if err != nil {
		return Passage{}, err
	}
	special := map[int]bool{}
	for i, s := range e.SpecialTokensMask {
		if s != 0 {
			special[e.IDs[i]] = true
		}
	}
	p := Passage{IDs: make([]int32, len(e.IDs)), Words: make([]int32, len(e.IDs))}
	word := int32(-1)
	prevSpecial := true
	for i, id := range e.IDs {
		p.IDs[i] = int32(id)
		if special[id] {
			p.Words[i] = -1
			prevSpecial = true
			continue
		}
		tokStr := e.Tokens[i]
		cont := false
		switch rule {
		case WordPiece:
			cont = strings.HasPrefix(tokStr, "##")
		case Metaspace:
			cont = !strings.HasPrefix(tokStr, "▁")
		}
		if !cont || prevSpecial {
			word++
		}
		p.Words[i] = word
		prevSpecial = false
	}
	return p, nil
}

// Collator masks passages for RetroMAE as FlagEmbedding's
// RetroMAECollator (on transformers' DataCollatorForWholeWordMask) does:
//
//   - encoder input: whole words drawn in random order until
//     round(n·EncoderRatio) tokens are covered (n counts the special
//     tokens; a word that would overshoot is skipped; at least 1), each
//     covered token replaced by the mask id with probability 0.8, by a
//     random id with 0.1, kept with 0.1; labelled with its original id
//   - decoder: min(n, MaxMasks) whole-word masks drawn at DecoderRatio;
//     query row i sees the keys one of them (chosen at random) leaves
//     unmasked, never itself; special tokens are never masked, so every
//     row sees [CLS] (but row 0) and [SEP]; padding is hidden
//
// One difference: a word longer than the number of tokens to mask could
// never be drawn whole, so it is split into its tokens. Japanese has no
// spaces, and under a Metaspace tokenizer a whole sentence is one word;
// without the split nothing would be masked.
type Collator struct {
	EncoderRatio float64 // FlagEmbedding's encoder_mlm_probability (0.3 in its scripts)
	DecoderRatio float64 // decoder_mlm_probability (0.5)
	MaxMasks     int     // decoder masks drawn per passage (0 means 128, as FlagEmbedding)
	MaskID       int32   // the [MASK] id
	PadID        int32   // the padding id
	Vocab        int     // random replacements are drawn from [0, Vocab)
}

// maxPredictions caps the tokens one mask covers, as transformers does.
const maxPredictions = 512

// Collate turns ps into a Batch padded to its longest passage, drawing
// every random choice from seed.
func (c *Collator) Collate(ps []Passage, seed uint64) (*Batch, error) {
	switch {
	case len(ps) == 0:
		return nil, fmt.Errorf("%w: no passages", ErrPassage)
	case !(c.EncoderRatio > 0 && c.EncoderRatio < 1) || !(c.DecoderRatio > 0 && c.DecoderRatio < 1):
		return nil, fmt.Errorf("retromae: mask ratios %v, %v outside (0, 1)", c.EncoderRatio, c.DecoderRatio)
	case c.Vocab <= 0 || c.MaskID < 0 || int(c.MaskID) >= c.Vocab || c.PadID < 0 || int(c.PadID) >= c.Vocab:
		return nil, fmt.Errorf("retromae: mask id %d, pad id %d for a vocabulary of %d", c.MaskID, c.PadID, c.Vocab)
	}
	L := 0
	for i, p := range ps {
		if len(p.IDs) < 2 || len(p.Words) != len(p.IDs) {
			return nil, fmt.Errorf("%w: passage %d has %d ids and %d word indexes (want [CLS] … [SEP], at least 2)", ErrPassage, i, len(p.IDs), len(p.Words))
		}
		L = max(L, len(p.IDs))
	}
	B := len(ps)
	b := &Batch{B: B, L: L,
		DecoderInputIDs: make([]int32, B*L), EncoderInputIDs: make([]int32, B*L), AttentionMask: make([]int32, B*L),
		EncoderLabels: make([]int32, B*L), DecoderVisible: make([]int32, B*L*L), DecoderLabels: make([]int32, B*L)}
	maxMasks := c.MaxMasks
	if maxMasks <= 0 {
		maxMasks = 128
	}
	r := rand.New(rand.NewPCG(seed, 0x636f6c6c61746f72))
	var words [][]int
	for s, p := range ps {
		n := len(p.IDs)
		row := func(v []int32) []int32 { return v[s*L : (s+1)*L] }
		dec, enc, mask, encLab, decLab := row(b.DecoderInputIDs), row(b.EncoderInputIDs), row(b.AttentionMask), row(b.EncoderLabels), row(b.DecoderLabels)
		for i := range L {
			dec[i], enc[i], encLab[i], decLab[i] = c.PadID, c.PadID, Ignore, Ignore
		}
		for i, id := range p.IDs {
			if id < 0 || int(id) >= c.Vocab {
				return nil, fmt.Errorf("%w: passage %d: id %d outside the vocabulary of %d", ErrPassage, s, id, c.Vocab)
			}
			dec[i], enc[i], mask[i] = id, id, 1
			if i > 0 && i < n-1 {
				decLab[i] = id
			}
		}

		// Encoder: whole-word masking, then 80/10/10.
		words = groupWords(words[:0], p.Words, budget(n, c.EncoderRatio))
		for _, i := range wholeWordMask(r, words, budget(n, c.EncoderRatio)) {
			encLab[i] = p.IDs[i]
			switch {
			case r.Float64() < 0.8:
				enc[i] = c.MaskID
			case r.Float64() < 0.5:
				enc[i] = int32(r.IntN(c.Vocab))
			}
		}

		// Decoder: K pre-drawn masks, one per query row, own position hidden.
		k := budget(n, c.DecoderRatio)
		words = groupWords(words[:0], p.Words, k)
		K := min(n, maxMasks)
		masks := make([][]bool, K)
		for j := range masks {
			masks[j] = make([]bool, n)
			for _, i := range wholeWordMask(r, words, k) {
				masks[j][i] = true
			}
		}
		vis := b.DecoderVisible[s*L*L : (s+1)*L*L]
		for i := range n {
			m := masks[r.IntN(K)]
			for j := range n {
				if !m[j] && j != i {
					vis[i*L+j] = 1
				}
			}
		}
	}
	return b, nil
}

// budget is the number of tokens a mask at ratio covers in a passage of
// n tokens: round(n·ratio), half to even as Python rounds, at least 1,
// at most maxPredictions.
func budget(n int, ratio float64) int {
	return min(maxPredictions, max(1, int(math.RoundToEven(float64(n)*ratio))))
}

// groupWords appends to dst the candidate words of a passage — runs of
// maskable tokens with the same word index — splitting a word longer
// than k into single tokens.
func groupWords(dst [][]int, words []int32, k int) [][]int {
	for i := 0; i < len(words); {
		if words[i] < 0 {
			i++
			continue
		}
		j := i + 1
		for j < len(words) && words[j] == words[i] {
			j++
		}
		if j-i > k {
			for t := i; t < j; t++ {
				dst = append(dst, []int{t})
			}
		} else {
			w := make([]int, 0, j-i)
			for t := i; t < j; t++ {
				w = append(w, t)
			}
			dst = append(dst, w)
		}
		i = j
	}
	return dst
}

// wholeWordMask shuffles words and takes them in order while they fit in
// k tokens, skipping any that would overshoot, as transformers'
// _whole_word_mask does; it returns the covered positions. words is
// shuffled in place.
func wholeWordMask(r *rand.Rand, words [][]int, k int) []int {
	r.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
	var out []int
	for _, w := range words {
		if len(out) >= k {
			break
		}
		if len(out)+len(w) > k {
			continue
		}
		out = append(out, w...)
	}
	return out
}
