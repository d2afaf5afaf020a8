package tokenizer

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// bertFromVocab builds a BERT WordPiece tokenizer from vocab.txt and
// tokenizer_config.json.
//
// For BertTokenizer (and configs naming no class) it builds what
// transformers' AutoTokenizer gives, BertTokenizerFast converted from the
// slow tokenizer: BertNormalizer(clean_text, handle_chinese_chars =
// tokenize_chinese_chars, strip_accents, lowercase = do_lower_case),
// BertPreTokenizer, WordPiece("##", 100 characters), [CLS] A [SEP]. The
// fast tokenizer ignores never_split; when a config sets it, the slow
// BasicTokenizer's rules (which honor it) are used instead.
//
// BertJapaneseTokenizer has no fast version; see bertJapanese.
func (l *loader) bertFromVocab(data []byte, name string, cfg *tokConfig) (*Pipeline, error) {
	src := l.show(name)
	tokens := readVocabTxt(data)
	if len(tokens) == 0 {
		return nil, fmt.Errorf("tokenizer: %s: vocab.txt: %w: %w", src, errNoVocab, ErrBadFile)
	}
	if cfg.TokenizerClass == "BertJapaneseTokenizer" {
		return l.bertJapanese(tokens, src, cfg)
	}
	lower := boolOr(cfg.DoLowerCase, true)
	strip := boolOr(cfg.StripAccents, lower)
	chinese := boolOr(cfg.TokenizeChineseChars, true)
	unk := cfg.special(cfg.UnkToken, "[UNK]")
	wp, err := newWordPiece(tokens, "##", unk, 100)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: model (WordPiece): %v: %w", src, err, ErrBadFile)
	}
	t := &Pipeline{source: src, model: wp, decoder: wordPieceDecoder{prefix: "##", cleanup: true}}
	if len(cfg.NeverSplit) > 0 {
		never := map[string]bool{}
		for _, w := range cfg.NeverSplit {
			never[w] = true
		}
		t.normalizer = pyBasicNormalizer(chinese)
		t.pre = seqPreTokenizer{pyWhitespaceSplit{}, pyBasicWords{lower: lower, strip: strip, never: never}}
	} else {
		t.normalizer = bertNormalizer{cleanText: true, chineseChars: chinese, stripAccents: strip, lowercase: lower}
		t.pre = bertPreTokenizer{}
	}
	if err := l.bertCommon(t, tokens, wp.starts, cfg); err != nil {
		return nil, err
	}
	return t, nil
}

// bertCommon sets the special tokens, [CLS] A [SEP] post-processing and
// pad id shared by the BERT flavors.
func (l *loader) bertCommon(t *Pipeline, tokens []string, ids *trie, cfg *tokConfig) error {
	lookup := func(s string) int32 { return ids.lookupString(s) }
	defs := map[string]string{"unk": "[UNK]", "sep": "[SEP]", "pad": "[PAD]", "cls": "[CLS]", "mask": "[MASK]"}
	added := cfg.specialAdded(lookup, defs)
	cls := cfg.special(cfg.ClsToken, "[CLS]")
	sep := cfg.special(cfg.SepToken, "[SEP]")
	clsID, sepID := lookup(cls), lookup(sep)
	if clsID < 0 || sepID < 0 {
		return fmt.Errorf("tokenizer: %s: post_processor: %q or %q not in the vocabulary: %w", t.source, cls, sep, ErrBadFile)
	}
	t.post = &bertProcessing{cls: cls, sep: sep, clsID: clsID, sepID: sepID}
	if err := t.setVocab(tokens, added); err != nil {
		return err
	}
	if id := lookup(cfg.special(cfg.PadToken, "[PAD]")); id >= 0 {
		t.padID = int(id)
	}
	return nil
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// bertJapanese builds transformers' BertJapaneseTokenizer (the tokenizer
// of tohoku-nlp/bert-base-japanese-v3 and the ruri models built on it):
// special tokens split out of the raw text, then the word tokenizer, then
// the subword tokenizer, then [CLS] A [SEP].
//
// Word tokenizers: "basic" is BERT's BasicTokenizer without Chinese-
// character splitting; "mecab" (and "sudachi", "jumanpp") come from a
// registered WordTokenizer, with this package doing their text handling:
// NFKC first when normalize_text (the default), lowercasing of each word
// when do_lower_case, and for sudachi / jumanpp trim_whitespace. Subword
// tokenizers: "wordpiece" (white-space split, then WordPiece) and
// "character" (NFKC, then one token per character, unknown ones [UNK]).
func (l *loader) bertJapanese(tokens []string, src string, cfg *tokConfig) (*Pipeline, error) {
	unk := cfg.special(cfg.UnkToken, "[UNK]")
	lower := boolOr(cfg.DoLowerCase, false)
	never := map[string]bool{}
	for _, w := range cfg.NeverSplit {
		never[w] = true
	}
	t := &Pipeline{source: src, decoder: wordPieceDecoder{prefix: "##", cleanup: false}}
	var pre seqPreTokenizer
	if boolOr(cfg.DoWordTokenize, true) {
		typ := cfg.WordTokenizerType
		if typ == "" {
			typ = "basic"
		}
		switch typ {
		case "basic":
			t.normalizer = pyBasicNormalizer(false)
			pre = append(pre, pyWhitespaceSplit{}, pyBasicWords{lower: lower, strip: lower, never: never})
		default:
			kwargs := cfg.MecabKwargs
			switch typ {
			case "sudachi":
				kwargs = cfg.SudachiKwargs
			case "jumanpp":
				kwargs = cfg.JumanppKwargs
			}
			opts := struct {
				NormalizeText  *bool `json:"normalize_text"`
				TrimWhitespace bool  `json:"trim_whitespace"`
			}{}
			if !isNull(kwargs) {
				if err := json.Unmarshal(kwargs, &opts); err != nil {
					return nil, fmt.Errorf("tokenizer: %s: %s_kwargs: %v: %w", cfg.source, typ, err, ErrBadFile)
				}
			}
			wt, err := newWordTokenizer(WordTokenizerOptions{Type: typ, Kwargs: kwargs, FS: l.fsys, Dir: l.dir})
			if err != nil {
				return nil, fmt.Errorf("tokenizer: %s: %w", cfg.source, err)
			}
			if boolOr(opts.NormalizeText, true) {
				t.normalizer = formNormalizer{norm.NFKC}
			}
			pre = append(pre, wordSplitPre{wt: wt, lower: lower, never: never,
				trim: opts.TrimWhitespace && typ != "mecab", strip: typ == "jumanpp"})
		}
	}
	var m model
	var ids *trie
	if boolOr(cfg.DoSubwordTokenize, true) {
		switch sub := cfg.SubwordTokenizerType; sub {
		case "", "wordpiece":
			wp, err := newWordPiece(tokens, "##", unk, 100)
			if err != nil {
				return nil, fmt.Errorf("tokenizer: %s: model (WordPiece): %v: %w", src, err, ErrBadFile)
			}
			pre = append(pre, pyWhitespaceSplit{})
			m, ids = wp, wp.starts
		case "character":
			cm, err := newCharModel(tokens, unk)
			if err != nil {
				return nil, fmt.Errorf("tokenizer: %s: model (character): %v: %w", src, err, ErrBadFile)
			}
			pre = append(pre, pieceNormalizer{formNormalizer{norm.NFKC}})
			m, ids = cm, cm.ids
			t.decoder = nil
		default:
			return nil, fmt.Errorf("tokenizer: %s: subword_tokenizer_type %q: %w", cfg.source, sub, ErrUnsupported)
		}
	} else {
		wl := &wordLevel{tokens: tokens, unk: -1}
		idx := make([]int32, len(tokens))
		for i := range idx {
			idx[i] = int32(i)
		}
		wl.ids = newTrie(tokens, idx)
		wl.unk = wl.ids.lookupString(unk)
		m, ids = wl, wl.ids
	}
	t.model = m
	if len(pre) == 1 {
		t.pre = pre[0]
	} else if len(pre) > 1 {
		t.pre = pre
	}
	if err := l.bertCommon(t, tokens, ids, cfg); err != nil {
		return nil, err
	}
	return t, nil
}

// wordSplitPre runs a WordTokenizer over each piece: its words become the
// pieces, lowercased (Python's str.lower) unless in never.
type wordSplitPre struct {
	wt    WordTokenizer
	lower bool
	never map[string]bool
	trim  bool // drop white-space-only words and strip the others
	strip bool // strip the text first (Juman++)
}

func (w wordSplitPre) split(st *state, in, out []piece) []piece {
	for _, p := range in {
		if p.added >= 0 {
			out = append(out, p)
			continue
		}
		if w.strip {
			p = stripNormalizer{true, true}.normalize(st, p)
		}
		text := string(st.text(p))
		var err error
		st.words, err = w.wt.AppendWords(st.words[:0], text)
		if err != nil {
			st.err = err
			return out
		}
		last := 0
		for _, wd := range st.words {
			if wd.Start < last || wd.End < wd.Start || wd.End > len(text) {
				st.err = fmt.Errorf("word tokenizer returned word [%d,%d) of a %d-byte text after [%d,…)", wd.Start, wd.End, len(text), last)
				return out
			}
			last = wd.End
			q := p.sub(wd.Start, wd.End)
			if w.trim {
				q = stripNormalizer{true, true}.normalize(st, q)
			}
			if q.len() == 0 {
				continue
			}
			if w.lower && !w.never[string(st.text(q))] {
				q = lowercase(st, q)
			}
			out = append(out, q)
		}
	}
	return out
}

// pieceNormalizer applies a normalizer to every word (as the character
// subword tokenizer's NFKC does).
type pieceNormalizer struct{ n normalizer }

func (pn pieceNormalizer) split(st *state, in, out []piece) []piece {
	for _, p := range in {
		if p.added < 0 {
			p = pn.n.normalize(st, p)
			if p.len() == 0 {
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// charModel is the character subword tokenizer: every character is a
// token, [UNK] when not in the vocabulary.
type charModel struct {
	tokens []string
	ids    *trie
	unk    int32
}

func newCharModel(tokens []string, unk string) (*charModel, error) {
	idx := make([]int32, len(tokens))
	for i := range idx {
		idx[i] = int32(i)
	}
	m := &charModel{tokens: tokens, ids: newTrie(tokens, idx)}
	m.unk = m.ids.lookupString(unk)
	if m.unk < 0 {
		return nil, fmt.Errorf("unk_token %q is not in the vocabulary", unk)
	}
	return m, nil
}

func (m *charModel) vocab() []string { return m.tokens }

func (m *charModel) tokenize(st *state, p piece) error {
	b := st.text(p)
	for i := 0; i < len(b); {
		_, sz := utf8.DecodeRune(b[i:])
		id := m.ids.lookup(b[i : i+sz])
		if id < 0 {
			id = m.unk
		}
		st.mtoks = append(st.mtoks, mtok{id: id, start: p.off + int32(i), end: p.off + int32(i+sz)})
		i += sz
	}
	return nil
}

// pyBasicNormalizer is the text clean-up of the slow BasicTokenizer:
// control characters (Cc, Cf), NUL and U+FFFD removed, white space
// (space, tab, newline, CR, Zs) made a space, spaces around CJK
// ideographs when chinese, then NFC.
func pyBasicNormalizer(chinese bool) normalizer {
	clean := runeMapNormalizer(func(r rune) (rune, bool) {
		if r == 0 || r == 0xFFFD || isPyBertControl(r) {
			return 0, false
		}
		if isPyBertWhitespace(r) {
			return ' ', true
		}
		return r, true
	})
	seq := seqNormalizer{clean}
	if chinese {
		seq = append(seq, pyChineseNormalizer{})
	}
	return append(seq, formNormalizer{norm.NFC})
}

type runeMapNormalizer func(rune) (rune, bool)

func (f runeMapNormalizer) normalize(st *state, p piece) piece { return mapRunes(st, p, f) }

type pyChineseNormalizer struct{}

func (pyChineseNormalizer) normalize(st *state, p piece) piece {
	w := st.rewrite(p)
	for w.more() {
		r, sz := w.peek()
		if isPyChineseChar(r) {
			w.insert(' ')
			w.keep(sz)
			w.insert(' ')
		} else {
			w.keep(sz)
		}
	}
	return w.done()
}

// pyBasicWords is the per-word part of the slow BasicTokenizer: unless a
// word is in never, lowercase it (then strip accents: NFD, drop Mn) when
// lower, or only strip accents when strip; then split punctuation off.
type pyBasicWords struct {
	lower, strip bool
	never        map[string]bool
}

func (b pyBasicWords) split(st *state, in, out []piece) []piece {
	for _, p := range in {
		if p.added >= 0 || b.never[string(st.text(p))] {
			out = append(out, p)
			continue
		}
		if b.lower {
			p = lowercase(st, p)
		}
		if b.strip {
			p = unicodeNormalize(st, p, norm.NFD, notMn)
		}
		out = splitClassOne(st, p, out, nil, isPyBertPunct)
	}
	return out
}
