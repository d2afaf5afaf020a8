package ja

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/kotodama-ai/kotodama/tokenizer"
)

const v3Dir = "testdata/bert-base-japanese-v3"

// readVocab reads vocab.txt: the id of each token is its line number.
func readVocab(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open(filepath.Join(v3Dir, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vocab := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		vocab[sc.Text()] = len(vocab)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vocab
}

// TestBertJapaneseV3 loads tohoku-nlp/bert-base-japanese-v3's tokenizer
// (BertJapaneseTokenizer, MeCab with unidic_lite, WordPiece) through
// tokenizer.Load and encodes the real sentences of the MeCab fixtures.
// What transformers would give follows from MeCab's words (the fixture)
// and vocab.txt: [CLS], then for each word (split at whitespace, as
// WordPiece's whitespace_tokenize does) the word itself with its line
// number as id when vocab.txt has it — WordPiece's longest match is then
// the whole word — or else pieces from vocab.txt that spell the word, the
// first bare and the rest with "##", or a lone [UNK]; then [SEP].
func TestBertJapaneseV3(t *testing.T) {
	tok, err := tokenizer.Load(v3Dir)
	if err != nil {
		t.Fatal(err)
	}
	vocab := readVocab(t)
	if tok.VocabSize() != len(vocab) || len(vocab) != 32768 {
		t.Fatalf("VocabSize %d, vocab.txt %d lines", tok.VocabSize(), len(vocab))
	}
	files, _ := filepath.Glob("testdata/mecab/split/*.jsonl")
	if len(files) == 0 {
		t.Fatal("no fixtures under testdata/mecab/split")
	}
	whole, split, unk, sentences := 0, 0, 0, 0
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(f)
		for line := 1; dec.More(); line++ {
			var c struct {
				Text   string   `json:"text"`
				Words  []string `json:"words"`
				Source string   `json:"source"`
			}
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("%s:%d: %v", path, line, err)
			}
			if norm.NFKC.String(c.Text) != c.Text {
				continue // the pipeline normalizes first; MeCab saw other text
			}
			sentences++
			enc, err := tok.Encode(c.Text)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, line, err)
			}
			n := len(enc.Tokens)
			if n < 2 || enc.Tokens[0] != "[CLS]" || enc.Tokens[n-1] != "[SEP]" || enc.IDs[0] != vocab["[CLS]"] || enc.IDs[n-1] != vocab["[SEP]"] {
				t.Fatalf("%s:%d: not [CLS] ... [SEP]: %q", path, line, enc.Tokens)
			}
			toks, ids, offs := enc.Tokens[1:n-1], enc.IDs[1:n-1], enc.Offsets[1:n-1]
			var words []string
			for _, w := range c.Words {
				words = append(words, strings.FieldsFunc(w, isPythonSpace)...) // whitespace_tokenize
			}
			// Walk the tokens word by word.
			at, pos := 0, 0 // token index, byte position in Text
			for _, w := range words {
				start := strings.Index(c.Text[pos:], w) + pos
				pos = start + len(w)
				if at >= len(toks) {
					t.Fatalf("%s:%d: tokens end before word %q: %q", path, line, w, toks)
				}
				if _, ok := vocab[w]; ok {
					whole++
					if toks[at] != w || ids[at] != vocab[w] || offs[at] != (tokenizer.Offset{Start: start, End: pos}) {
						t.Fatalf("%s:%d: word %q: token %q id %d offset %v, want id %d offset [%d,%d)", path, line, w, toks[at], ids[at], offs[at], vocab[w], start, pos)
					}
					at++
					continue
				}
				if toks[at] == "[UNK]" {
					unk++
					if ids[at] != vocab["[UNK]"] {
						t.Fatalf("%s:%d: [UNK] has id %d", path, line, ids[at])
					}
					at++
					continue
				}
				split++
				var spelled strings.Builder
				for k := 0; spelled.Len() < len(w); k++ {
					if at >= len(toks) {
						t.Fatalf("%s:%d: tokens end inside word %q", path, line, w)
					}
					piece := toks[at]
					if id, ok := vocab[piece]; !ok || id != ids[at] {
						t.Fatalf("%s:%d: word %q: piece %q id %d not in vocab.txt", path, line, w, piece, ids[at])
					}
					if k > 0 {
						var ok bool
						if piece, ok = strings.CutPrefix(piece, "##"); !ok {
							t.Fatalf("%s:%d: word %q: continuation piece %q without ##", path, line, w, piece)
						}
					} else if strings.HasPrefix(piece, "##") {
						t.Fatalf("%s:%d: word %q starts with %q", path, line, w, piece)
					}
					if o := offs[at]; o.Start < start || o.End > pos {
						t.Fatalf("%s:%d: word %q [%d,%d): piece %q offset %v outside it", path, line, w, start, pos, piece, o)
					}
					spelled.WriteString(piece)
					at++
				}
				if spelled.String() != w {
					t.Fatalf("%s:%d: word %q spelled %q", path, line, w, spelled.String())
				}
			}
			if at != len(toks) {
				t.Fatalf("%s:%d: %d tokens left after the words: %q", path, line, len(toks)-at, toks[at:])
			}
		}
		f.Close()
	}
	t.Logf("%d sentences: %d words whole in vocab.txt, %d split into pieces, %d [UNK]", sentences, whole, split, unk)
	if whole == 0 || split == 0 {
		t.Error("the fixtures should exercise both whole words and split words")
	}
}

// TestBertJapaneseV3SpecialTokens checks that special tokens written in
// the text are kept whole and MeCab splits the text around them, as
// PreTrainedTokenizer.tokenize does before calling MeCab (the model
// card's widget text).
func TestBertJapaneseV3SpecialTokens(t *testing.T) {
	tok, err := tokenizer.Load(v3Dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMeCab()
	if err != nil {
		t.Fatal(err)
	}
	text := "東北大学で[MASK]の研究をしています。"
	enc, err := tok.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	left, _ := m.Split("東北大学で")
	right, _ := m.Split("の研究をしています。")
	want := append(append(append([]string{"[CLS]"}, left...), "[MASK]"), append(right, "[SEP]")...)
	if !slices.Equal(enc.Tokens, want) {
		t.Errorf("Encode(%q) = %q, want %q", text, enc.Tokens, want)
	}
}

// TestLoadRefusesOtherDictionaries checks that a BertJapaneseTokenizer
// asking for a MeCab dictionary this package does not have fails to load
// with an error naming the setting, instead of splitting differently.
func TestLoadRefusesOtherDictionaries(t *testing.T) {
	vocab, err := os.ReadFile(filepath.Join(v3Dir, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kwargs := range []string{`{"mecab_dic": "ipadic"}`, `{"mecab_dic": "unidic"}`, `null`} {
		dir := t.TempDir()
		cfg := `{"tokenizer_class": "BertJapaneseTokenizer", "do_lower_case": false, "word_tokenizer_type": "mecab", "subword_tokenizer_type": "wordpiece", "mecab_kwargs": ` + kwargs + `}`
		if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), vocab, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := tokenizer.Load(dir)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "mecab_dic") {
			t.Errorf("mecab_kwargs %s: Load error %v, want ErrUnsupported naming mecab_dic", kwargs, err)
		}
	}
}
