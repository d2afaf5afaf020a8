package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

// goldenCase is one line of a tokenizer fixture's cases.jsonl.
type goldenCase struct {
	Text       string   `json:"text"`
	IDs        []int    `json:"ids"`
	Tokens     []string `json:"tokens"`
	Pieces     []string `json:"pieces"` // SentencePiece fixtures
	TypeIDs    []int    `json:"type_ids"`
	IDsTrunc16 []int    `json:"ids_trunc16"`
}

func readCases(t *testing.T, path string) []goldenCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []goldenCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var c goldenCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s: no cases", path)
	}
	return cases
}

// TestGolden checks every case of every tokenizer fixture: ids, token
// strings, type ids and the ids truncated to 16, identical to the
// reference (Hugging Face tokenizers, or sentencepiece for .model
// fixtures).
func TestGolden(t *testing.T) {
	for _, dir := range golden.Dirs(t, "tokenizers", "cases.jsonl") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			tok, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			cases := readCases(t, filepath.Join(dir, "cases.jsonl"))
			bad := 0
			for i, c := range cases {
				enc, err := tok.Encode(c.Text)
				if err != nil {
					t.Errorf("case %d %q: %v", i, c.Text, err)
					continue
				}
				want := c.Tokens
				if want == nil {
					want = c.Pieces
				}
				if !slices.Equal(enc.IDs, c.IDs) || !slices.Equal(enc.Tokens, want) {
					bad++
					t.Errorf("case %d %q:\n got ids %v\nwant ids %v\n got tokens %q\nwant tokens %q", i, c.Text, enc.IDs, c.IDs, enc.Tokens, want)
					continue
				}
				if c.TypeIDs != nil && !slices.Equal(enc.TypeIDs, c.TypeIDs) {
					t.Errorf("case %d %q: type ids %v, want %v", i, c.Text, enc.TypeIDs, c.TypeIDs)
				}
				if c.IDsTrunc16 != nil {
					tr, err := tok.Encode(c.Text, WithMaxLength(16))
					if err != nil {
						t.Errorf("case %d %q truncated: %v", i, c.Text, err)
					} else if !slices.Equal(tr.IDs, c.IDsTrunc16) {
						t.Errorf("case %d %q truncated to 16: %v, want %v", i, c.Text, tr.IDs, c.IDsTrunc16)
					}
				}
			}
			t.Logf("%d cases, %d mismatched", len(cases), bad)
		})
	}
}

// TestSentencePieceDirClass loads the SentencePiece fixture as a model
// directory whose tokenizer_config.json names T5Tokenizer: the ids are the
// reference's (sentencepiece's own) followed by </s>, T5Tokenizer's
// template, and a literal "</s>" in the text is matched as that token.
func TestSentencePieceDirClass(t *testing.T) {
	dir := t.TempDir()
	model, err := os.ReadFile(golden.Path("tokenizers", "sentencepiece-ja", "test_ja_model.model"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spiece.model"), model, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `{"tokenizer_class": "T5Tokenizer", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>", "model_max_length": 512}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ModelMaxLength() != 512 {
		t.Errorf("ModelMaxLength = %d, want 512", tok.ModelMaxLength())
	}
	eos, ok := tok.TokenID("</s>")
	if !ok {
		t.Fatal("no </s>")
	}
	for i, c := range readCases(t, golden.Path("tokenizers", "sentencepiece-ja", "cases.jsonl")) {
		enc, err := tok.Encode(c.Text)
		if err != nil {
			t.Fatal(err)
		}
		if want := append(slices.Clone(c.IDs), eos); !slices.Equal(enc.IDs, want) {
			t.Errorf("case %d %q: %v, want %v", i, c.Text, enc.IDs, want)
		}
	}
	enc, err := tok.Encode("a</s>")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(enc.IDs); n < 3 || enc.IDs[n-2] != eos || enc.IDs[n-1] != eos {
		t.Errorf("literal </s> not matched as a special token: %v %q", enc.IDs, enc.Tokens)
	}
}
