package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

// TestBadFiles checks that broken tokenizer files give errors naming the
// file and the component, matchable with errors.Is.
func TestBadFiles(t *testing.T) {
	pretty, err := os.ReadFile(golden.Path("tokenizers", "bert-base-uncased", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, pretty); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	spm, err := os.ReadFile(golden.Path("tokenizers", "sentencepiece-ja", "test_ja_model.model"))
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		if !strings.Contains(string(good), old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return []byte(strings.Replace(string(good), old, new, 1))
	}
	for _, tc := range []struct {
		name     string
		file     string
		data     []byte
		sentinel error
		mention  []string
	}{
		{"truncated JSON", "tokenizer.json", good[:len(good)/2], ErrBadFile, []string{"tokenizer.json"}},
		{"unknown normalizer", "tokenizer.json", replace(`"type":"BertNormalizer"`, `"type":"FancyNormalizer"`), ErrUnsupported,
			[]string{"tokenizer.json", "normalizer", "FancyNormalizer"}},
		{"unknown pre-tokenizer", "tokenizer.json", replace(`"type":"BertPreTokenizer"`, `"type":"Mystery"`), ErrUnsupported,
			[]string{"tokenizer.json", "pre_tokenizer", "Mystery"}},
		{"missing vocab", "tokenizer.json", replace(`"vocab":{`, `"vocabulary":{`), ErrBadFile,
			[]string{"tokenizer.json", "model", "vocab"}},
		{"unk not in vocab", "tokenizer.json", replace(`"unk_token":"[UNK]"`, `"unk_token":"[NOPE]"`), ErrBadFile,
			[]string{"tokenizer.json", "model (WordPiece)", "[NOPE]"}},
		{"lookaround regex", "tokenizer.json", replace(`"pre_tokenizer":{"type":"BertPreTokenizer"}`,
			`"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(?<=a)b"},"behavior":"Isolated","invert":false}`), ErrUnsupported,
			[]string{"tokenizer.json", "pre_tokenizer (Split)", "lookaround"}},
		{"template names a missing special", "tokenizer.json", replace(`{"SpecialToken":{"id":"[CLS]","type_id":0}}`, `{"SpecialToken":{"id":"<cls>","type_id":0}}`), ErrBadFile,
			[]string{"tokenizer.json", "post_processor (TemplateProcessing)", "<cls>"}},
		{"truncated SentencePiece model", "spiece.model", spm[:len(spm)/3], ErrBadFile, []string{"spiece.model", "sentencepiece"}},
		{"empty vocab.txt", "vocab.txt", []byte("\n"), ErrBadFile, []string{"vocab.txt"}},
		{"vocab.txt without [UNK]", "vocab.txt", []byte("a\nb\n"), ErrBadFile, []string{"vocab.txt", "[UNK]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFS(fstest.MapFS{tc.file: &fstest.MapFile{Data: tc.data}}, tc.file)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q is not %v", err, tc.sentinel)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

// TestMissingWordTokenizerDir loads a BertJapaneseTokenizer directory that
// asks for MeCab in a program that did not import a MeCab package.
func TestMissingWordTokenizerDir(t *testing.T) {
	if _, err := newWordTokenizer(WordTokenizerOptions{Type: "mecab"}); err == nil {
		t.Skip("a mecab word tokenizer is registered in this test binary")
	}
	dir := t.TempDir()
	cfg := `{"tokenizer_class": "BertJapaneseTokenizer", "word_tokenizer_type": "mecab", "mecab_kwargs": {"mecab_dic": "unidic_lite"}}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if !errors.Is(err, ErrNoWordTokenizer) || !strings.Contains(err.Error(), "tokenizer/ja") || !strings.Contains(err.Error(), "tokenizer_config.json") {
		t.Errorf("err = %v, want ErrNoWordTokenizer naming tokenizer_config.json and the package to import", err)
	}
}

// TestInvalidUTF8 checks the documented choice: an error naming the byte
// offset, never a silent replacement.
func TestInvalidUTF8(t *testing.T) {
	tok, err := Load(golden.Path("tokenizers", "bert-base-uncased"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tok.Encode("ok \xe6\x9d")
	if !errors.Is(err, ErrInvalidUTF8) || !strings.Contains(err.Error(), "byte offset 3") {
		t.Errorf("err = %v, want ErrInvalidUTF8 at byte offset 3", err)
	}
	_, err = tok.Encode("fine", WithPair("\xff"))
	if !errors.Is(err, ErrInvalidUTF8) || !strings.Contains(err.Error(), "pair") {
		t.Errorf("pair: err = %v, want ErrInvalidUTF8 naming the pair", err)
	}
	if _, err := tok.Decode([]int{101, 1 << 20}, false); !errors.Is(err, ErrUnknownID) {
		t.Errorf("decode of an unknown id: err = %v, want ErrUnknownID", err)
	}
}
