package ja

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/kotodama-ai/kotodama/tokenizer"
)

// ErrUnsupported is returned (wrapped) for a MeCab configuration this
// package cannot reproduce: a dictionary other than unidic_lite, or raw
// MeCab options.
var ErrUnsupported = errors.New("ja: unsupported MeCab configuration")

// MeCab splits Japanese text into words exactly as MeCab 0.996 does with
// the unidic-lite dictionary (fugashi's GenericTagger, which
// transformers' MecabTokenizer calls). It is safe for concurrent use.
type MeCab struct {
	dic  *dictionary
	pool sync.Pool // *lattice
}

// NewMeCab returns a MeCab word splitter. The first call in a process
// loads the embedded UniDic dictionary (about a second; 120 MB of memory
// held, about 360 MB at the peak); later calls share it.
func NewMeCab() (*MeCab, error) {
	dic, err := loadDictionary()
	if err != nil {
		return nil, err
	}
	m := &MeCab{dic: dic}
	m.pool.New = func() any { return new(lattice) }
	return m, nil
}

// Split returns MeCab's words of text: the surfaces fugashi gives for
// each node, in order. The whitespace MeCab skips (space, tab, newline,
// vertical tab) belongs to no word; every other character is inside one.
// Text from the first NUL byte on is ignored, as MeCab reads a C string.
// Invalid UTF-8 is read as MeCab reads it: the lead byte alone gives a
// character's length, and a byte it cannot place is a character of its
// own.
func (m *MeCab) Split(text string) ([]string, error) {
	var words []string
	err := m.analyze(text, func(start, end int) { words = append(words, text[start:end]) })
	return words, err
}

// AppendWords appends the words BertJapaneseTokenizer hands to WordPiece:
// MeCab's words (see Split), each further split at whitespace as
// WordpieceTokenizer's whitespace_tokenize does (Python's str.split, so
// also at the characters MeCab keeps inside words, such as '\r', U+0085
// and U+2028), whitespace-only words dropped. Offsets are byte ranges of
// text. It implements tokenizer.WordTokenizer.
func (m *MeCab) AppendWords(dst []tokenizer.Word, text string) ([]tokenizer.Word, error) {
	err := m.analyze(text, func(start, end int) {
		dst = appendNonSpace(dst, text, start, end)
	})
	return dst, err
}

func (m *MeCab) analyze(text string, emit func(start, end int)) error {
	if i := strings.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	la := m.pool.Get().(*lattice)
	defer m.pool.Put(la)
	if err := m.dic.analyze(la, text, emit); err != nil {
		return fmt.Errorf("mecab: %d-byte text: %w", len(text), err)
	}
	return nil
}

// appendNonSpace appends the runs of text[start:end] between Python
// whitespace characters.
func appendNonSpace(dst []tokenizer.Word, text string, start, end int) []tokenizer.Word {
	s := -1
	for i := start; i < end; {
		r, w := utf8.DecodeRuneInString(text[i:end])
		if isPythonSpace(r) {
			if s >= 0 {
				dst = append(dst, tokenizer.Word{Start: s, End: i})
				s = -1
			}
		} else if s < 0 {
			s = i
		}
		i += w
	}
	if s >= 0 {
		dst = append(dst, tokenizer.Word{Start: s, End: end})
	}
	return dst
}

// isPythonSpace reports whether Python's str.isspace holds for r
// (bidirectional class WS, B or S, or category Zs), which is what
// str.split splits at.
func isPythonSpace(r rune) bool {
	switch {
	case r <= 0x20:
		return r == ' ' || '\t' <= r && r <= '\r' || 0x1C <= r && r <= 0x1F
	case r < 0x85:
		return false
	}
	switch r {
	case 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return 0x2000 <= r && r <= 0x200A
}

func init() {
	tokenizer.RegisterWordTokenizer("mecab", newWordTokenizer)
}

// newWordTokenizer builds the "mecab" word tokenizer from a
// tokenizer_config.json's mecab_kwargs, the keyword arguments of
// transformers' MecabTokenizer: mecab_dic, mecab_option and
// normalize_text (which package tokenizer applies before splitting).
// Only mecab_dic "unidic_lite" without mecab_option is supported;
// MecabTokenizer's default when mecab_kwargs is absent is ipadic, which
// is not.
func newWordTokenizer(opts tokenizer.WordTokenizerOptions) (tokenizer.WordTokenizer, error) {
	dic := "ipadic" // MecabTokenizer's default
	var kwargs map[string]json.RawMessage
	if len(opts.Kwargs) > 0 {
		if err := json.Unmarshal(opts.Kwargs, &kwargs); err != nil {
			return nil, fmt.Errorf("mecab_kwargs: %w", err)
		}
	}
	for key, raw := range kwargs {
		switch key {
		case "mecab_dic":
			if string(raw) == "null" {
				return nil, fmt.Errorf("mecab_kwargs: mecab_dic null (a system MeCab dictionary): %w", ErrUnsupported)
			}
			if err := json.Unmarshal(raw, &dic); err != nil {
				return nil, fmt.Errorf("mecab_kwargs: mecab_dic: %w", err)
			}
		case "mecab_option":
			var opt *string
			if err := json.Unmarshal(raw, &opt); err != nil {
				return nil, fmt.Errorf("mecab_kwargs: mecab_option: %w", err)
			}
			if opt != nil && strings.TrimSpace(*opt) != "" {
				return nil, fmt.Errorf("mecab_kwargs: mecab_option %q: %w (only the bundled unidic_lite dictionary is available)", *opt, ErrUnsupported)
			}
		case "normalize_text":
			var b bool
			if err := json.Unmarshal(raw, &b); err != nil {
				return nil, fmt.Errorf("mecab_kwargs: normalize_text: %w", err)
			}
		default:
			// MecabTokenizer rejects unknown keyword arguments too.
			return nil, fmt.Errorf("mecab_kwargs: unknown key %q: %w", key, ErrUnsupported)
		}
	}
	if dic != "unidic_lite" {
		return nil, fmt.Errorf("mecab_kwargs: mecab_dic %q: %w (only unidic_lite is supported)", dic, ErrUnsupported)
	}
	return NewMeCab()
}
