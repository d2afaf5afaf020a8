package tokenizer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrUnsupported is returned (wrapped, naming the file and component)
// when a tokenizer file uses a component type this package does not
// implement.
var ErrUnsupported = errors.New("unsupported component")

// ErrBadFile is returned (wrapped, naming the file and component) when a
// tokenizer file is malformed: bad JSON, a missing vocabulary, a
// vocabulary that contradicts itself.
var ErrBadFile = errors.New("malformed tokenizer file")

// hfFile is tokenizer.json, the serialization of Hugging Face's Tokenizer.
type hfFile struct {
	Version       string          `json:"version"`
	Truncation    *hfTruncation   `json:"truncation"`
	Padding       *hfPadding      `json:"padding"`
	AddedTokens   []hfAddedToken  `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Model         json.RawMessage `json:"model"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
}

type hfTruncation struct {
	MaxLength int    `json:"max_length"`
	Strategy  string `json:"strategy"`
	Direction string `json:"direction"`
	Stride    int    `json:"stride"`
}

type hfPadding struct {
	Strategy        json.RawMessage `json:"strategy"`
	Direction       string          `json:"direction"`
	PadToMultipleOf *int            `json:"pad_to_multiple_of"`
	PadID           int             `json:"pad_id"`
	PadTypeID       int             `json:"pad_type_id"`
	PadToken        string          `json:"pad_token"`
}

type hfAddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// compErr wraps an error with the component path it happened in.
func compErr(path string, err error) error { return fmt.Errorf("%s: %w", path, err) }

func badf(path, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", path, fmt.Sprintf(format, args...), ErrBadFile)
}

// component is the common head of every serialized component.
type component struct {
	Type string `json:"type"`
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func decodeInto(raw json.RawMessage, path string, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return badf(path, "%v", err)
	}
	return nil
}

// parseHF builds a Pipeline from tokenizer.json bytes. name is used in
// errors.
func parseHF(data []byte, name string) (*Pipeline, error) {
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %v: %w", name, err, ErrBadFile)
	}
	t := &Pipeline{source: name}
	wrap := func(err error) error { return fmt.Errorf("tokenizer: %s: %w", name, err) }
	if isNull(f.Model) {
		return nil, wrap(badf("model", "missing"))
	}
	m, err := parseModel(f.Model, "model")
	if err != nil {
		return nil, wrap(err)
	}
	t.model = m
	if !isNull(f.Normalizer) {
		if t.normalizer, err = parseNormalizer(f.Normalizer, "normalizer"); err != nil {
			return nil, wrap(err)
		}
	}
	if !isNull(f.PreTokenizer) {
		if t.pre, err = parsePreTokenizer(f.PreTokenizer, "pre_tokenizer"); err != nil {
			return nil, wrap(err)
		}
	}
	if !isNull(f.PostProcessor) {
		if t.post, err = parsePostProcessor(f.PostProcessor, "post_processor"); err != nil {
			return nil, wrap(err)
		}
	}
	if !isNull(f.Decoder) {
		if t.decoder, err = parseDecoder(f.Decoder, "decoder"); err != nil {
			return nil, wrap(err)
		}
	}
	added := make([]addedToken, len(f.AddedTokens))
	for i, a := range f.AddedTokens {
		if a.ID < 0 {
			return nil, wrap(badf(fmt.Sprintf("added_tokens[%d]", i), "negative id %d", a.ID))
		}
		added[i] = addedToken{id: int32(a.ID), content: a.Content, singleWord: a.SingleWord, lstrip: a.Lstrip,
			rstrip: a.Rstrip, normalized: a.Normalized, special: a.Special}
	}
	if err := t.setVocab(m.vocab(), added); err != nil {
		return nil, wrap(err)
	}
	if f.Truncation != nil {
		tr := Truncation{MaxLength: f.Truncation.MaxLength, Left: strings.EqualFold(f.Truncation.Direction, "left")}
		switch strings.ToLower(strings.ReplaceAll(f.Truncation.Strategy, "_", "")) {
		case "", "longestfirst":
		case "onlyfirst":
			tr.Strategy = OnlyFirst
		case "onlysecond":
			tr.Strategy = OnlySecond
		default:
			return nil, wrap(badf("truncation", "unknown strategy %q", f.Truncation.Strategy))
		}
		t.trunc = &tr
	}
	if f.Padding != nil {
		p := Padding{ID: f.Padding.PadID, TypeID: f.Padding.PadTypeID, Token: f.Padding.PadToken,
			Left: strings.EqualFold(f.Padding.Direction, "left")}
		if f.Padding.PadToMultipleOf != nil {
			p.Multiple = *f.Padding.PadToMultipleOf
		}
		var fixed struct {
			Fixed int `json:"Fixed"`
		}
		if len(f.Padding.Strategy) > 0 && f.Padding.Strategy[0] == '{' {
			if err := decodeInto(f.Padding.Strategy, "padding.strategy", &fixed); err != nil {
				return nil, wrap(err)
			}
			p.Length = fixed.Fixed
		}
		t.pad = &p
		t.padID = p.ID
	} else if id, ok := t.ids["[PAD]"]; ok {
		t.padID = int(id)
	} else if id, ok := t.ids["<pad>"]; ok {
		t.padID = int(id)
	}
	return t, nil
}

// setVocab installs the model vocabulary and the added tokens (which take
// their ids over the model's) and builds the added-token matchers.
func (t *Pipeline) setVocab(vocab []string, added []addedToken) error {
	n := len(vocab)
	for _, a := range added {
		if int(a.id) >= n {
			n = int(a.id) + 1
		}
	}
	t.vocab = make([]string, n)
	copy(t.vocab, vocab)
	t.ids = make(map[string]int32, n)
	for i, s := range vocab {
		if s != "" {
			t.ids[s] = int32(i) // the last of duplicates wins, as in a dict filled in order
		}
	}
	t.special = map[int32]bool{}
	var raw, nrm []string
	var rawIdx, nrmIdx []int
	t.added.tokens = added
	for i, a := range added {
		t.vocab[a.id] = a.content
		t.ids[a.content] = a.id
		if a.special {
			t.special[a.id] = true
		}
		if a.content == "" {
			continue
		}
		if a.normalized {
			c := a.content
			if t.normalizer != nil {
				c = normalizeString(t.normalizer, c)
			}
			if c == "" {
				continue
			}
			nrm = append(nrm, c)
			nrmIdx = append(nrmIdx, i)
		} else {
			raw = append(raw, a.content)
			rawIdx = append(rawIdx, i)
		}
	}
	t.added.raw = newMatcher(raw, rawIdx)
	t.added.norm = newMatcher(nrm, nrmIdx)
	return nil
}

// normalizeString runs a normalizer over a string.
func normalizeString(n normalizer, s string) string {
	var st state
	p := st.load(s)
	p = n.normalize(&st, p)
	return string(st.text(p))
}

// ---- models ----

func parseModel(raw json.RawMessage, path string) (model, error) {
	var head struct {
		Type                    string          `json:"type"`
		Vocab                   json.RawMessage `json:"vocab"`
		Merges                  json.RawMessage `json:"merges"`
		UnkToken                *string         `json:"unk_token"`
		UnkID                   *int            `json:"unk_id"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
		MaxInputCharsPerWord    *int            `json:"max_input_chars_per_word"`
		FuseUnk                 bool            `json:"fuse_unk"`
		ByteFallback            bool            `json:"byte_fallback"`
		IgnoreMerges            bool            `json:"ignore_merges"`
		Dropout                 *float64        `json:"dropout"`
	}
	if err := decodeInto(raw, path, &head); err != nil {
		return nil, err
	}
	typ := head.Type
	if typ == "" {
		// Old files leave the model untagged; tell the kinds apart by
		// their fields, as serde's untagged enum does.
		switch {
		case len(head.Merges) > 0:
			typ = "BPE"
		case len(head.Vocab) > 0 && bytes.TrimSpace(head.Vocab)[0] == '[':
			typ = "Unigram"
		case head.ContinuingSubwordPrefix != nil || head.MaxInputCharsPerWord != nil:
			typ = "WordPiece"
		default:
			typ = "WordLevel"
		}
	}
	path = fmt.Sprintf("%s (%s)", path, typ)
	if isNull(head.Vocab) {
		return nil, badf(path, "no vocab")
	}
	str := func(p *string, def string) string {
		if p == nil {
			return def
		}
		return *p
	}
	switch typ {
	case "WordPiece":
		tokens, err := vocabMap(head.Vocab, path)
		if err != nil {
			return nil, err
		}
		maxChars := 100
		if head.MaxInputCharsPerWord != nil {
			maxChars = *head.MaxInputCharsPerWord
		}
		m, err := newWordPiece(tokens, str(head.ContinuingSubwordPrefix, "##"), str(head.UnkToken, "[UNK]"), maxChars)
		if err != nil {
			return nil, badf(path, "%v", err)
		}
		return m, nil
	case "WordLevel":
		tokens, err := vocabMap(head.Vocab, path)
		if err != nil {
			return nil, err
		}
		ids := make([]int32, len(tokens))
		for i := range ids {
			ids[i] = int32(i)
		}
		m := &wordLevel{tokens: tokens, ids: newTrie(tokens, ids), unk: -1}
		if u := str(head.UnkToken, "<unk>"); u != "" {
			m.unk = m.ids.lookupString(u)
		}
		return m, nil
	case "BPE":
		tokens, err := vocabMap(head.Vocab, path)
		if err != nil {
			return nil, err
		}
		merges, err := parseMerges(head.Merges, path)
		if err != nil {
			return nil, err
		}
		m, err := newBPE(tokens, merges, str(head.UnkToken, ""), str(head.ContinuingSubwordPrefix, ""),
			str(head.EndOfWordSuffix, ""), head.FuseUnk, head.ByteFallback, head.IgnoreMerges)
		if err != nil {
			return nil, badf(path, "%v", err)
		}
		return m, nil
	case "Unigram":
		var entries []json.RawMessage
		if err := decodeInto(head.Vocab, path+".vocab", &entries); err != nil {
			return nil, err
		}
		tokens := make([]string, len(entries))
		scores := make([]float64, len(entries))
		for i, e := range entries {
			var pair []json.RawMessage
			if err := json.Unmarshal(e, &pair); err != nil || len(pair) != 2 {
				return nil, badf(path, "vocab[%d]: want [piece, score]", i)
			}
			if err := json.Unmarshal(pair[0], &tokens[i]); err != nil {
				return nil, badf(path, "vocab[%d]: piece: %v", i, err)
			}
			if err := json.Unmarshal(pair[1], &scores[i]); err != nil {
				return nil, badf(path, "vocab[%d]: score: %v", i, err)
			}
		}
		unk := int32(-1)
		if head.UnkID != nil {
			unk = int32(*head.UnkID)
		}
		m, err := newUnigram(tokens, scores, unk, head.ByteFallback)
		if err != nil {
			return nil, badf(path, "%v", err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("%s: unknown model type %q: %w", path, typ, ErrUnsupported)
}

// vocabMap decodes a {"token": id} vocabulary into tokens by id.
func vocabMap(raw json.RawMessage, path string) ([]string, error) {
	var v map[string]int
	if err := decodeInto(raw, path+".vocab", &v); err != nil {
		return nil, err
	}
	maxID := -1
	for tok, id := range v {
		if id < 0 {
			return nil, badf(path, "vocab: token %q has negative id %d", tok, id)
		}
		if id > maxID {
			maxID = id
		}
	}
	if maxID >= 8*len(v)+1024 {
		return nil, badf(path, "vocab: id %d for a vocabulary of %d tokens", maxID, len(v))
	}
	tokens := make([]string, maxID+1)
	for tok, id := range v {
		if tokens[id] != "" && tokens[id] < tok {
			continue // keep one string per id, deterministically
		}
		tokens[id] = tok
	}
	return tokens, nil
}

// parseMerges accepts both merge formats: ["a b", ...] and [["a", "b"], ...].
func parseMerges(raw json.RawMessage, path string) ([][2]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := decodeInto(raw, path+".merges", &items); err != nil {
		return nil, err
	}
	out := make([][2]string, len(items))
	for i, it := range items {
		it = bytes.TrimSpace(it)
		if len(it) > 0 && it[0] == '[' {
			var p []string
			if err := json.Unmarshal(it, &p); err != nil || len(p) != 2 {
				return nil, badf(path, "merges[%d]: want two strings", i)
			}
			out[i] = [2]string{p[0], p[1]}
			continue
		}
		var s string
		if err := json.Unmarshal(it, &s); err != nil {
			return nil, badf(path, "merges[%d]: %v", i, err)
		}
		parts := strings.Split(s, " ")
		if len(parts) != 2 {
			return nil, badf(path, "merges[%d]: %q is not two tokens separated by one space", i, s)
		}
		out[i] = [2]string{parts[0], parts[1]}
	}
	return out, nil
}

// ---- normalizers ----

func parseNormalizer(raw json.RawMessage, path string) (normalizer, error) {
	var c component
	if err := decodeInto(raw, path, &c); err != nil {
		return nil, err
	}
	path = fmt.Sprintf("%s (%s)", path, c.Type)
	switch c.Type {
	case "Sequence":
		var v struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		var seq seqNormalizer
		for i, r := range v.Normalizers {
			n, err := parseNormalizer(r, fmt.Sprintf("%s.normalizers[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if n != nil {
				seq = append(seq, n)
			}
		}
		return seq, nil
	case "BertNormalizer":
		v := struct {
			CleanText          bool  `json:"clean_text"`
			HandleChineseChars bool  `json:"handle_chinese_chars"`
			StripAccents       *bool `json:"strip_accents"`
			Lowercase          bool  `json:"lowercase"`
		}{CleanText: true, HandleChineseChars: true, Lowercase: true}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		strip := v.Lowercase
		if v.StripAccents != nil {
			strip = *v.StripAccents
		}
		return bertNormalizer{cleanText: v.CleanText, chineseChars: v.HandleChineseChars, stripAccents: strip, lowercase: v.Lowercase}, nil
	case "NFC":
		return formNormalizer{norm.NFC}, nil
	case "NFD":
		return formNormalizer{norm.NFD}, nil
	case "NFKC":
		return formNormalizer{norm.NFKC}, nil
	case "NFKD":
		return formNormalizer{norm.NFKD}, nil
	case "Lowercase":
		return lowercaseNormalizer{}, nil
	case "StripAccents":
		return stripAccentsNormalizer{}, nil
	case "Strip":
		v := struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}{true, true}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		return stripNormalizer{left: v.Left, right: v.Right}, nil
	case "Prepend":
		var v struct {
			Prepend string `json:"prepend"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		return prependNormalizer{prefix: v.Prepend}, nil
	case "Replace":
		var v struct {
			Pattern json.RawMessage `json:"pattern"`
			Content string          `json:"content"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		pat, err := parsePattern(v.Pattern, path+".pattern")
		if err != nil {
			return nil, err
		}
		return replaceNormalizer{pat: pat, content: v.Content}, nil
	case "Precompiled":
		var v struct {
			Charsmap *string `json:"precompiled_charsmap"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		if v.Charsmap == nil || *v.Charsmap == "" {
			return seqNormalizer(nil), nil
		}
		b, err := base64.StdEncoding.DecodeString(*v.Charsmap)
		if err != nil {
			return nil, badf(path, "precompiled_charsmap: %v", err)
		}
		m, err := parseCharsmap(b)
		if err != nil {
			return nil, badf(path, "%v", err)
		}
		return precompiledNormalizer{m}, nil
	case "Nmt":
		return nmtNormalizer{}, nil
	case "ByteLevel":
		return byteLevelNormalizer{}, nil
	}
	return nil, fmt.Errorf("%s: unknown normalizer type %q: %w", path, c.Type, ErrUnsupported)
}

// parsePattern decodes {"String": s} or {"Regex": r}.
func parsePattern(raw json.RawMessage, path string) (pattern, error) {
	var v struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	}
	if err := decodeInto(raw, path, &v); err != nil {
		return nil, err
	}
	switch {
	case v.String != nil:
		return literalPattern(*v.String), nil
	case v.Regex != nil:
		re, err := compileOnig(*v.Regex)
		if err != nil {
			return nil, fmt.Errorf("%s: %v: %w", path, err, ErrUnsupported)
		}
		return re, nil
	}
	return nil, badf(path, "neither String nor Regex")
}

// ---- pre-tokenizers ----

func parsePreTokenizer(raw json.RawMessage, path string) (preTokenizer, error) {
	var c component
	if err := decodeInto(raw, path, &c); err != nil {
		return nil, err
	}
	path = fmt.Sprintf("%s (%s)", path, c.Type)
	switch c.Type {
	case "Sequence":
		var v struct {
			Pretokenizers []json.RawMessage `json:"pretokenizers"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		var seq seqPreTokenizer
		for i, r := range v.Pretokenizers {
			p, err := parsePreTokenizer(r, fmt.Sprintf("%s.pretokenizers[%d]", path, i))
			if err != nil {
				return nil, err
			}
			seq = append(seq, p)
		}
		if len(seq) == 1 {
			return seq[0], nil
		}
		return seq, nil
	case "BertPreTokenizer":
		return bertPreTokenizer{}, nil
	case "Whitespace":
		return whitespacePreTokenizer{}, nil
	case "WhitespaceSplit":
		return whitespaceSplit{}, nil
	case "Metaspace":
		var v struct {
			Replacement    string  `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			Split          *bool   `json:"split"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		rep, scheme, err := metaspaceOptions(v.Replacement, v.PrependScheme, v.AddPrefixSpace, path)
		if err != nil {
			return nil, err
		}
		split := true
		if v.Split != nil {
			split = *v.Split
		}
		return metaspacePreTokenizer{replacement: rep, scheme: scheme, split_: split}, nil
	case "ByteLevel":
		v := struct {
			AddPrefixSpace bool `json:"add_prefix_space"`
			UseRegex       bool `json:"use_regex"`
		}{true, true}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		return byteLevelPreTokenizer{addPrefixSpace: v.AddPrefixSpace, useRegex: v.UseRegex}, nil
	case "Punctuation":
		v := struct {
			Behavior string `json:"behavior"`
		}{"Isolated"}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		b, err := parseBehavior(v.Behavior)
		if err != nil {
			return nil, badf(path, "%v", err)
		}
		return punctuationPreTokenizer{behavior: b}, nil
	case "Digits":
		var v struct {
			Individual bool `json:"individual_digits"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		return digitsPreTokenizer{individual: v.Individual}, nil
	case "Split":
		var v struct {
			Pattern  json.RawMessage `json:"pattern"`
			Behavior string          `json:"behavior"`
			Invert   bool            `json:"invert"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		pat, err := parsePattern(v.Pattern, path+".pattern")
		if err != nil {
			return nil, err
		}
		b, err := parseBehavior(v.Behavior)
		if err != nil {
			return nil, badf(path, "%v", err)
		}
		return splitPreTokenizer{pat: pat, behavior: b, invert: v.Invert}, nil
	case "CharDelimiterSplit":
		var v struct {
			Delimiter string `json:"delimiter"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		r, n := utf8.DecodeRuneInString(v.Delimiter)
		if n == 0 || n != len(v.Delimiter) {
			return nil, badf(path, "delimiter %q is not one character", v.Delimiter)
		}
		return charDelimiterSplit{delim: r}, nil
	case "UnicodeScripts":
		return unicodeScriptsPreTokenizer{}, nil
	}
	return nil, fmt.Errorf("%s: unknown pre-tokenizer type %q: %w", path, c.Type, ErrUnsupported)
}

// metaspaceOptions reads Metaspace's replacement and prepend scheme from
// either the current (prepend_scheme) or the legacy (add_prefix_space)
// fields.
func metaspaceOptions(replacement string, scheme *string, addPrefix *bool, path string) (rune, prependScheme, error) {
	if replacement == "" {
		replacement = "\u2581"
	}
	r, n := utf8.DecodeRuneInString(replacement)
	if n != len(replacement) {
		return 0, 0, badf(path, "replacement %q is not one character", replacement)
	}
	ps := prependAlways
	switch {
	case scheme != nil:
		switch strings.ToLower(*scheme) {
		case "always":
		case "first":
			ps = prependFirst
		case "never":
			ps = prependNever
		default:
			return 0, 0, badf(path, "unknown prepend_scheme %q", *scheme)
		}
	case addPrefix != nil && !*addPrefix:
		ps = prependNever
	}
	return r, ps, nil
}

// ---- post-processors ----

func parsePostProcessor(raw json.RawMessage, path string) (postProcessor, error) {
	var c component
	if err := decodeInto(raw, path, &c); err != nil {
		return nil, err
	}
	path = fmt.Sprintf("%s (%s)", path, c.Type)
	switch c.Type {
	case "TemplateProcessing":
		var v struct {
			Single        []json.RawMessage `json:"single"`
			Pair          []json.RawMessage `json:"pair"`
			SpecialTokens map[string]struct {
				ID     string   `json:"id"`
				IDs    []int    `json:"ids"`
				Tokens []string `json:"tokens"`
			} `json:"special_tokens"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		tp := &templateProcessing{specials: map[string]templateSpecial{}}
		for name, s := range v.SpecialTokens {
			if len(s.IDs) != len(s.Tokens) {
				return nil, badf(path, "special token %q: %d ids but %d tokens", name, len(s.IDs), len(s.Tokens))
			}
			ids := make([]int32, len(s.IDs))
			for i, id := range s.IDs {
				ids[i] = int32(id)
			}
			tp.specials[name] = templateSpecial{ids: ids, tokens: s.Tokens}
		}
		var err error
		if tp.single, err = parseTemplate(v.Single, tp.specials, path+".single"); err != nil {
			return nil, err
		}
		if tp.pair, err = parseTemplate(v.Pair, tp.specials, path+".pair"); err != nil {
			return nil, err
		}
		return tp, nil
	case "BertProcessing", "RobertaProcessing":
		v := struct {
			Sep            []json.RawMessage `json:"sep"`
			Cls            []json.RawMessage `json:"cls"`
			TrimOffsets    bool              `json:"trim_offsets"`
			AddPrefixSpace bool              `json:"add_prefix_space"`
		}{TrimOffsets: true, AddPrefixSpace: true}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		p := &bertProcessing{roberta: c.Type == "RobertaProcessing", trimOffsets: v.TrimOffsets, addPrefixSpace: v.AddPrefixSpace}
		var err error
		if p.sep, p.sepID, err = tokenPair(v.Sep, path+".sep"); err != nil {
			return nil, err
		}
		if p.cls, p.clsID, err = tokenPair(v.Cls, path+".cls"); err != nil {
			return nil, err
		}
		return p, nil
	case "ByteLevel":
		v := struct {
			TrimOffsets    bool `json:"trim_offsets"`
			AddPrefixSpace bool `json:"add_prefix_space"`
		}{true, true}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		return byteLevelProcessing{trimOffsets: v.TrimOffsets, addPrefixSpace: v.AddPrefixSpace}, nil
	case "Sequence":
		var v struct {
			Processors []json.RawMessage `json:"processors"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		s := &seqProcessing{}
		for i, r := range v.Processors {
			p, err := parsePostProcessor(r, fmt.Sprintf("%s.processors[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if bl, ok := p.(byteLevelProcessing); ok && s.last == nil {
				s.adjusters = append(s.adjusters, bl)
				continue
			}
			if s.last != nil {
				return nil, fmt.Errorf("%s.processors[%d]: a second special-token processor in a sequence: %w", path, i, ErrUnsupported)
			}
			s.last = p
		}
		return s, nil
	}
	return nil, fmt.Errorf("%s: unknown post-processor type %q: %w", path, c.Type, ErrUnsupported)
}

func tokenPair(raw []json.RawMessage, path string) (string, int32, error) {
	if len(raw) != 2 {
		return "", 0, badf(path, "want [token, id]")
	}
	var s string
	var id int
	if json.Unmarshal(raw[0], &s) != nil || json.Unmarshal(raw[1], &id) != nil {
		return "", 0, badf(path, "want [token, id]")
	}
	return s, int32(id), nil
}

func parseTemplate(items []json.RawMessage, specials map[string]templateSpecial, path string) ([]templatePiece, error) {
	var out []templatePiece
	for i, it := range items {
		var v struct {
			Sequence *struct {
				ID     string `json:"id"`
				TypeID int    `json:"type_id"`
			} `json:"Sequence"`
			SpecialToken *struct {
				ID     string `json:"id"`
				TypeID int    `json:"type_id"`
			} `json:"SpecialToken"`
		}
		if err := decodeInto(it, fmt.Sprintf("%s[%d]", path, i), &v); err != nil {
			return nil, err
		}
		switch {
		case v.Sequence != nil:
			seq := 0
			switch v.Sequence.ID {
			case "A":
			case "B":
				seq = 1
			default:
				return nil, badf(fmt.Sprintf("%s[%d]", path, i), "sequence id %q", v.Sequence.ID)
			}
			out = append(out, templatePiece{seq: seq, typeID: v.Sequence.TypeID})
		case v.SpecialToken != nil:
			if _, ok := specials[v.SpecialToken.ID]; !ok {
				return nil, badf(fmt.Sprintf("%s[%d]", path, i), "special token %q not in special_tokens", v.SpecialToken.ID)
			}
			out = append(out, templatePiece{seq: -1, special: v.SpecialToken.ID, typeID: v.SpecialToken.TypeID})
		default:
			return nil, badf(fmt.Sprintf("%s[%d]", path, i), "neither Sequence nor SpecialToken")
		}
	}
	return out, nil
}

// ---- decoders ----

func parseDecoder(raw json.RawMessage, path string) (decoder, error) {
	var c component
	if err := decodeInto(raw, path, &c); err != nil {
		return nil, err
	}
	path = fmt.Sprintf("%s (%s)", path, c.Type)
	switch c.Type {
	case "Sequence":
		var v struct {
			Decoders []json.RawMessage `json:"decoders"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		var seq seqDecoder
		for i, r := range v.Decoders {
			d, err := parseDecoder(r, fmt.Sprintf("%s.decoders[%d]", path, i))
			if err != nil {
				return nil, err
			}
			seq = append(seq, d)
		}
		return seq, nil
	case "WordPiece":
		v := struct {
			Prefix  string `json:"prefix"`
			Cleanup bool   `json:"cleanup"`
		}{"##", true}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		return wordPieceDecoder{prefix: v.Prefix, cleanup: v.Cleanup}, nil
	case "Metaspace":
		var v struct {
			Replacement    string  `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		rep, scheme, err := metaspaceOptions(v.Replacement, v.PrependScheme, v.AddPrefixSpace, path)
		if err != nil {
			return nil, err
		}
		return metaspaceDecoder{replacement: rep, scheme: scheme}, nil
	case "ByteLevel":
		return byteLevelDecoder{}, nil
	case "ByteFallback":
		return byteFallbackDecoder{}, nil
	case "Fuse":
		return fuseDecoder{}, nil
	case "Strip":
		var v struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		r, n := utf8.DecodeRuneInString(v.Content)
		if n == 0 || n != len(v.Content) {
			return nil, badf(path, "content %q is not one character", v.Content)
		}
		return stripDecoder{content: r, start: v.Start, stop: v.Stop}, nil
	case "Replace":
		var v struct {
			Pattern json.RawMessage `json:"pattern"`
			Content string          `json:"content"`
		}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		pat, err := parsePattern(v.Pattern, path+".pattern")
		if err != nil {
			return nil, err
		}
		return replaceDecoder{pat: pat, content: v.Content}, nil
	case "BPEDecoder":
		v := struct {
			Suffix string `json:"suffix"`
		}{"</w>"}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		return bpeDecoder{suffix: v.Suffix}, nil
	case "CTC":
		v := struct {
			PadToken      string `json:"pad_token"`
			WordDelimiter string `json:"word_delimiter_token"`
			Cleanup       bool   `json:"cleanup"`
		}{"<pad>", "|", true}
		if err := decodeInto(raw, path, &v); err != nil {
			return nil, err
		}
		return ctcDecoder{pad: v.PadToken, delimiter: v.WordDelimiter, cleanup: v.Cleanup}, nil
	}
	return nil, fmt.Errorf("%s: unknown decoder type %q: %w", path, c.Type, ErrUnsupported)
}
