package retromae

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/tokenizer"
)

// checkBatch checks the invariants of a collated batch that do not
// depend on the random draws: labels where masked and only there, the
// decoder labels, and the shape of every visibility row. With exact, the
// masks cover exactly their budget (every word is a single token).
func checkBatch(t *testing.T, b *Batch, c *Collator, exact bool) {
	t.Helper()
	L := b.L
	for s := range b.B {
		n := 0
		for _, m := range b.AttentionMask[s*L : (s+1)*L] {
			n += int(m)
		}
		masked := 0
		for i := range L {
			at := s*L + i
			id, enc, lab := b.DecoderInputIDs[at], b.EncoderInputIDs[at], b.EncoderLabels[at]
			switch {
			case i >= n:
				if id != c.PadID || enc != c.PadID || lab != Ignore || b.DecoderLabels[at] != Ignore || b.AttentionMask[at] != 0 {
					t.Fatalf("seq %d pos %d: padding is not padding", s, i)
				}
			case lab != Ignore:
				masked++
				if lab != id {
					t.Fatalf("seq %d pos %d: label %d, original id %d", s, i, lab, id)
				}
				if i == 0 || i == n-1 {
					t.Fatalf("seq %d: special position %d masked", s, i)
				}
			case enc != id:
				t.Fatalf("seq %d pos %d: unmasked id changed %d -> %d", s, i, id, enc)
			}
			wantDec := id
			if i == 0 || i >= n-1 {
				wantDec = Ignore
			}
			if b.DecoderLabels[at] != wantDec {
				t.Fatalf("seq %d pos %d: decoder label %d, want %d", s, i, b.DecoderLabels[at], wantDec)
			}
		}
		if want := budget(n, c.EncoderRatio); masked > want || masked < 1 || (exact && masked != want) {
			t.Errorf("seq %d: %d tokens masked, want round(%d·%v) = %d", s, masked, n, c.EncoderRatio, want)
		}
		for i := range L {
			row := b.DecoderVisible[(s*L+i)*L : (s*L+i+1)*L]
			seen := 0
			for j, v := range row {
				seen += int(v)
				if v != 0 && (i >= n || j >= n || j == i) {
					t.Fatalf("seq %d: row %d sees key %d (n = %d)", s, i, j, n)
				}
			}
			if i >= n {
				continue
			}
			if (i != 0 && row[0] == 0) || (i != n-1 && row[n-1] == 0) {
				t.Fatalf("seq %d: row %d does not see [CLS] or [SEP]: %v", s, i, row)
			}
			// The row's mask hides the budget (at most), the row itself
			// perhaps among them.
			k := budget(n, c.DecoderRatio)
			if hidden := n - seen - 1; hidden > k || (exact && hidden < k-1) {
				t.Fatalf("seq %d row %d: %d keys hidden besides itself, budget %d", s, i, hidden, k)
			}
		}
	}
}

// sourceModel returns the model fixture a training fixture was made
// from: the one with the same model-mlm.safetensors (its tokenizer is
// the training fixture's).
func sourceModel(t *testing.T, dir string) string {
	t.Helper()
	want, err := os.ReadFile(filepath.Join(dir, "model-mlm.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range golden.Dirs(t, "models", "model-mlm.safetensors") {
		if got, err := os.ReadFile(filepath.Join(m, "model-mlm.safetensors")); err == nil && bytes.Equal(got, want) {
			return m
		}
	}
	t.Fatalf("no model fixture has %s's model-mlm.safetensors (and so its tokenizer)", dir)
	return ""
}

// TestCollateFixture tokenizes the golden fixture's texts with the
// fixture model's tokenizer and collates them: the ids must be the
// fixture's decoder_input_ids and the label counts the fixture's (drawn
// by FlagEmbedding's collator with the same ratios), and every
// structural invariant must hold.
func TestCollateFixture(t *testing.T) {
	for _, dir := range golden.Dirs(t, "training", "retromae.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			fx := readFixture(t, dir)
			raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
			if err != nil {
				t.Fatal(err)
			}
			var meta struct {
				Texts        []string
				EncoderRatio float64 `json:"encoder_mlm_probability"`
				DecoderRatio float64 `json:"decoder_mlm_probability"`
				NumEncLabels int     `json:"num_encoder_labels"`
				NumDecLabels int     `json:"num_decoder_labels"`
				Vocab        int     `json:"vocab"`
			}
			if err := json.Unmarshal(raw, &meta); err != nil {
				t.Fatal(err)
			}
			tok, err := tokenizer.Load(sourceModel(t, dir))
			if err != nil {
				t.Fatal(err)
			}
			rule := DetectWordRule(tok)
			if rule != Metaspace {
				t.Fatalf("word rule %v, want metaspace for a SentencePiece vocabulary", rule)
			}
			var ps []Passage
			for _, s := range meta.Texts {
				p, err := Tokenize(tok, s, 512, rule)
				if err != nil {
					t.Fatal(err)
				}
				ps = append(ps, p)
			}
			mask, _ := tok.TokenID("[MASK]")
			c := &Collator{EncoderRatio: meta.EncoderRatio, DecoderRatio: meta.DecoderRatio, MaskID: int32(mask), PadID: int32(tok.PadID()), Vocab: meta.Vocab}
			b, err := c.Collate(ps, 1)
			if err != nil {
				t.Fatal(err)
			}
			if b.B != fx.batch.B || b.L != fx.batch.L || !slices.Equal(b.DecoderInputIDs, fx.batch.DecoderInputIDs) || !slices.Equal(b.AttentionMask, fx.batch.AttentionMask) {
				t.Fatalf("ids %v\nfixture %v", b.DecoderInputIDs, fx.batch.DecoderInputIDs)
			}
			if !slices.Equal(b.DecoderLabels, fx.batch.DecoderLabels) {
				t.Errorf("decoder labels %v\nfixture %v", b.DecoderLabels, fx.batch.DecoderLabels)
			}
			count := func(v []int32) int {
				n := 0
				for _, x := range v {
					if x != Ignore {
						n++
					}
				}
				return n
			}
			if got := count(b.EncoderLabels); got != meta.NumEncLabels || count(fx.batch.EncoderLabels) != got {
				t.Errorf("%d encoder labels, fixture %d", got, meta.NumEncLabels)
			}
			checkBatch(t, b, c, true)
			checkBatch(t, &fx.batch, c, true) // the reference's draws obey the same rules
		})
	}
}

// wordPieceTokenizer is a hand-made vocabulary with "##" pieces.
func wordPiecePassage() Passage {
	// [CLS] un ##believ ##able story , told ##s well [SEP]
	return Passage{
		IDs:   []int32{1, 10, 11, 12, 13, 14, 15, 16, 17, 2},
		Words: []int32{-1, 0, 0, 0, 1, 2, 3, 3, 4, -1},
	}
}

// TestWholeWords checks that masks cover whole words only, and that a
// word longer than the budget is taken token by token.
func TestWholeWords(t *testing.T) {
	c := &Collator{EncoderRatio: 0.3, DecoderRatio: 0.5, MaskID: 3, PadID: 0, Vocab: 30}
	p := wordPiecePassage()
	words := map[int32][]int{}
	for i, w := range p.Words {
		if w >= 0 {
			words[w] = append(words[w], i)
		}
	}
	short := Passage{IDs: []int32{1, 5, 2}, Words: []int32{-1, 0, -1}}
	for seed := range uint64(200) {
		b, err := c.Collate([]Passage{p, short}, seed)
		if err != nil {
			t.Fatal(err)
		}
		checkBatch(t, b, c, false)
		L := b.L
		for _, idx := range words {
			lab := b.EncoderLabels[idx[0]] != Ignore
			for _, i := range idx {
				if (b.EncoderLabels[i] != Ignore) != lab {
					t.Fatalf("seed %d: word %v partly masked: %v", seed, idx, b.EncoderLabels[:L])
				}
			}
			for i := range 10 {
				row := b.DecoderVisible[i*L : (i+1)*L]
				var first int32 = -1
				for _, j := range idx {
					if j == i {
						continue // hidden from itself
					}
					if first < 0 {
						first = row[j]
					}
					if row[j] != first {
						t.Fatalf("seed %d: decoder row %d sees word %v in part: %v", seed, i, idx, row)
					}
				}
			}
		}
	}
	// budget(10, 0.3) = 3: the 3-token word fits; a 4-token word does not
	// and is split.
	long := Passage{IDs: []int32{1, 10, 11, 12, 13, 14, 15, 16, 17, 2}, Words: []int32{-1, 0, 0, 0, 0, 1, 1, 1, 1, -1}}
	for seed := range uint64(20) {
		b, err := c.Collate([]Passage{long}, seed)
		if err != nil {
			t.Fatal(err)
		}
		checkBatch(t, b, c, false)
		n := 0
		for _, l := range b.EncoderLabels {
			if l != Ignore {
				n++
			}
		}
		if n != 3 {
			t.Fatalf("seed %d: %d tokens masked of two 4-token words, want 3 (the words split)", seed, n)
		}
	}
}

// TestReplacementRates checks the 80/10/10 split of masked tokens and
// that Collate is a pure function of its seed.
func TestReplacementRates(t *testing.T) {
	c := &Collator{EncoderRatio: 0.3, DecoderRatio: 0.5, MaskID: 3, PadID: 0, Vocab: 1000}
	p := Passage{IDs: make([]int32, 102), Words: make([]int32, 102)}
	for i := range p.IDs {
		p.IDs[i], p.Words[i] = int32(100+i), int32(i)
	}
	p.Words[0], p.Words[101] = -1, -1
	var mask, kept, other, total int
	for seed := range uint64(300) {
		b, err := c.Collate([]Passage{p}, seed)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range b.EncoderLabels {
			if l == Ignore {
				continue
			}
			total++
			switch b.EncoderInputIDs[i] {
			case c.MaskID:
				mask++
			case l:
				kept++
			default:
				other++
			}
		}
	}
	// 9000 masked tokens: three standard deviations are under 0.015.
	f := func(n int) float64 { return float64(n) / float64(total) }
	if total != 300*31 || f(mask) < 0.785 || f(mask) > 0.815 || f(other) < 0.085 || f(other) > 0.115 || f(kept) < 0.085 || f(kept) > 0.115 {
		t.Errorf("%d masked: [MASK] %.3f, random %.3f, kept %.3f; want 0.8, 0.1, 0.1", total, f(mask), f(other), f(kept))
	}
	b1, _ := c.Collate([]Passage{p, wordPiecePassage()}, 7)
	b2, _ := c.Collate([]Passage{p, wordPiecePassage()}, 7)
	b3, _ := c.Collate([]Passage{p, wordPiecePassage()}, 8)
	if !slices.Equal(b1.EncoderInputIDs, b2.EncoderInputIDs) || !slices.Equal(b1.DecoderVisible, b2.DecoderVisible) {
		t.Error("the same seed gave different batches")
	}
	if slices.Equal(b1.EncoderInputIDs, b3.EncoderInputIDs) && slices.Equal(b1.DecoderVisible, b3.DecoderVisible) {
		t.Error("different seeds gave the same batch")
	}
}

func TestCollateErrors(t *testing.T) {
	c := &Collator{EncoderRatio: 0.3, DecoderRatio: 0.5, MaskID: 3, PadID: 0, Vocab: 30}
	for name, ps := range map[string][]Passage{
		"none":       nil,
		"too short":  {{IDs: []int32{1}, Words: []int32{-1}}},
		"mismatched": {{IDs: []int32{1, 2, 3}, Words: []int32{-1, -1}}},
		"bad id":     {{IDs: []int32{1, 99, 2}, Words: []int32{-1, 0, -1}}},
	} {
		if _, err := c.Collate(ps, 1); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	bad := *c
	bad.EncoderRatio = 1
	if _, err := bad.Collate([]Passage{wordPiecePassage()}, 1); err == nil {
		t.Error("ratio 1: no error")
	}
}

// TestTokenize groups every fixture tokenizer's pieces into words: "##"
// pieces with the word before them (WordPiece), pieces without "▁" with
// the word before them (Metaspace), special tokens apart.
func TestTokenize(t *testing.T) {
	dirs := append(golden.Dirs(t, "tokenizers", "tokenizer.json"), golden.Dirs(t, "models", "tokenizer.json")...)
	seen := map[WordRule]bool{}
	for _, dir := range dirs {
		tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
		if err != nil {
			t.Fatal(err)
		}
		rule := DetectWordRule(tok)
		seen[rule] = true
		const text = "Unbelievable storytelling! 東京 大学 [SEP] で研究"
		p, err := Tokenize(tok, text, 64, rule)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := tok.Encode(text)
		prev := int32(-1)
		for i, piece := range e.Tokens {
			special := i == 0 || i == len(e.Tokens)-1 || piece == "[SEP]" || piece == "</s>"
			cont := (rule == WordPiece && strings.HasPrefix(piece, "##")) || (rule == Metaspace && !strings.HasPrefix(piece, "▁"))
			var want int32
			switch {
			case special:
				want = -1
			case cont && i > 0 && p.Words[i-1] >= 0:
				want = prev
			default:
				want = prev + 1
			}
			if p.Words[i] != want {
				t.Fatalf("%s (%v): token %d %q has word %d, want %d; tokens %q words %v", filepath.Base(dir), rule, i, piece, p.Words[i], want, e.Tokens, p.Words)
			}
			if want >= 0 {
				prev = want
			}
		}
		if prev < 3 {
			t.Errorf("%s: %d words in %q", filepath.Base(dir), prev+1, e.Tokens)
		}
	}
	if !seen[WordPiece] || !seen[Metaspace] {
		t.Errorf("fixture tokenizers cover rules %v; want a WordPiece and a Metaspace one", seen)
	}
	if _, err := ParseWordRule("bogus"); err == nil {
		t.Error("ParseWordRule(bogus): no error")
	}
}
