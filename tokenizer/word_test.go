package tokenizer

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// spaceWords is a word tokenizer for registry tests: it splits on Unicode
// white space.
type spaceWords struct{}

func (spaceWords) AppendWords(dst []Word, text string) ([]Word, error) {
	start := -1
	for i, r := range text {
		if unicode.IsSpace(r) {
			if start >= 0 {
				dst = append(dst, Word{start, i})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, Word{start, len(text)})
	}
	return dst, nil
}

func TestRegisterWordTokenizer(t *testing.T) {
	const name = "test-space-words"
	var got WordTokenizerOptions
	RegisterWordTokenizer(name, func(o WordTokenizerOptions) (WordTokenizer, error) {
		got = o
		return spaceWords{}, nil
	})
	if !slices.Contains(WordTokenizers(), name) {
		t.Fatalf("WordTokenizers() = %v, missing %q", WordTokenizers(), name)
	}
	wt, err := newWordTokenizer(WordTokenizerOptions{Type: name, Kwargs: []byte(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != name || string(got.Kwargs) != `{"a":1}` {
		t.Errorf("factory got %+v", got)
	}
	words, _ := wt.AppendWords(nil, " 東京 タワー")
	if want := []Word{{1, 7}, {8, 17}}; !slices.Equal(words, want) {
		t.Errorf("words = %v, want %v", words, want)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("registering a name twice did not panic")
			}
		}()
		RegisterWordTokenizer(name, func(WordTokenizerOptions) (WordTokenizer, error) { return spaceWords{}, nil })
	}()

	RegisterWordTokenizer("test-failing", func(WordTokenizerOptions) (WordTokenizer, error) {
		return nil, errors.New("no dictionary")
	})
	if _, err := newWordTokenizer(WordTokenizerOptions{Type: "test-failing"}); err == nil || !strings.Contains(err.Error(), "no dictionary") {
		t.Errorf("failing factory: err = %v", err)
	}
}

func TestMissingWordTokenizer(t *testing.T) {
	_, err := newWordTokenizer(WordTokenizerOptions{Type: "no-such-splitter"})
	if !errors.Is(err, ErrNoWordTokenizer) || !strings.Contains(err.Error(), "no-such-splitter") {
		t.Errorf("err = %v, want ErrNoWordTokenizer naming the type", err)
	}
	if slices.Contains(WordTokenizers(), "mecab") {
		t.Skip("mecab is registered in this test binary")
	}
	_, err = newWordTokenizer(WordTokenizerOptions{Type: "mecab"})
	if !errors.Is(err, ErrNoWordTokenizer) || !strings.Contains(err.Error(), "kotodama/tokenizer/ja") {
		t.Errorf("err = %v, want ErrNoWordTokenizer telling which package to import", err)
	}
}
