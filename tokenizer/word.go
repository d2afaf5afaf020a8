package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"sync"
)

// Word is one word a WordTokenizer found: the half-open byte range
// [Start, End) of the text it was given.
type Word struct{ Start, End int }

// A WordTokenizer splits text into words before the subword model runs, as
// MeCab does for BertJapaneseTokenizer (word_tokenizer_type "mecab" in
// tokenizer_config.json).
//
// The text it receives is already normalized the way the model's
// configuration says (NFKC when normalize_text is set, the default), is
// valid UTF-8 and holds no added or special tokens; lowercasing happens
// after splitting, in this package. Implementations must be safe for
// concurrent use.
type WordTokenizer interface {
	// AppendWords appends the words of text to dst, in order and not
	// overlapping, and returns the extended slice. Bytes between words
	// (the whitespace MeCab skips) belong to no word.
	AppendWords(dst []Word, text string) ([]Word, error)
}

// WordTokenizerOptions is what a WordTokenizerFactory is given when a
// model directory asks for its word tokenizer.
type WordTokenizerOptions struct {
	// Type is the configured word_tokenizer_type, e.g. "mecab".
	Type string
	// Kwargs is the raw JSON object of the type's options from
	// tokenizer_config.json (mecab_kwargs for "mecab", sudachi_kwargs,
	// jumanpp_kwargs), or nil when the file has none.
	Kwargs json.RawMessage
	// FS and Dir locate the model directory (for user dictionaries and
	// the like); FS is nil when the tokenizer is not loaded from a
	// directory.
	FS  fs.FS
	Dir string
}

// A WordTokenizerFactory builds a WordTokenizer from a model's options.
type WordTokenizerFactory func(opts WordTokenizerOptions) (WordTokenizer, error)

// ErrNoWordTokenizer is returned (wrapped) when a model asks for a word
// tokenizer that no imported package has registered.
var ErrNoWordTokenizer = errors.New("word tokenizer not registered")

var (
	wordTokenizersMu sync.RWMutex
	wordTokenizers   = map[string]WordTokenizerFactory{}
)

// wordTokenizerPackages names the package that registers each known word
// tokenizer type, for the error that tells users what to import.
var wordTokenizerPackages = map[string]string{
	"mecab": "github.com/kotodama-ai/kotodama/tokenizer/ja",
}

// RegisterWordTokenizer makes a word tokenizer available under name (the
// word_tokenizer_type value it serves, e.g. "mecab"). Packages that
// provide one call it from their init function, so that a program enables
// it with a blank import, as database/sql drivers do:
//
//	import _ "github.com/kotodama-ai/kotodama/tokenizer/ja"
//
// It panics if name is registered twice or factory is nil.
func RegisterWordTokenizer(name string, factory WordTokenizerFactory) {
	wordTokenizersMu.Lock()
	defer wordTokenizersMu.Unlock()
	if factory == nil {
		panic("tokenizer: RegisterWordTokenizer factory is nil for " + name)
	}
	if _, dup := wordTokenizers[name]; dup {
		panic("tokenizer: RegisterWordTokenizer called twice for " + name)
	}
	wordTokenizers[name] = factory
}

// WordTokenizers returns the sorted names of the registered word
// tokenizers.
func WordTokenizers() []string {
	wordTokenizersMu.RLock()
	defer wordTokenizersMu.RUnlock()
	names := make([]string, 0, len(wordTokenizers))
	for n := range wordTokenizers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// newWordTokenizer builds the registered word tokenizer of opts.Type.
func newWordTokenizer(opts WordTokenizerOptions) (WordTokenizer, error) {
	wordTokenizersMu.RLock()
	f := wordTokenizers[opts.Type]
	wordTokenizersMu.RUnlock()
	if f == nil {
		if pkg, ok := wordTokenizerPackages[opts.Type]; ok {
			return nil, fmt.Errorf("word_tokenizer_type %q: %w (add `import _ %q` to your program)", opts.Type, ErrNoWordTokenizer, pkg)
		}
		return nil, fmt.Errorf("word_tokenizer_type %q: %w (registered: %v)", opts.Type, ErrNoWordTokenizer, WordTokenizers())
	}
	wt, err := f(opts)
	if err != nil {
		return nil, fmt.Errorf("word_tokenizer_type %q: %w", opts.Type, err)
	}
	return wt, nil
}
