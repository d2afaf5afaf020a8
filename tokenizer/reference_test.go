package tokenizer

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// refCase is one line of a testdata/reference fixture (see gen.mjs there):
// a text, a pair under some truncation, or a padded batch.
type refCase struct {
	Text          string   `json:"text"`
	Pair          *string  `json:"pair"`
	IDs           []int    `json:"ids"`
	Tokens        []string `json:"tokens"`
	Offsets       [][2]int `json:"offsets"`
	TypeIDs       []int    `json:"type_ids"`
	SpecialMask   []int    `json:"special_tokens_mask"`
	AttentionMask []int    `json:"attention_mask"`
	WordIDs       []int    `json:"word_ids"`
	NoSpecialIDs  []int    `json:"no_special_ids"`
	Decoded       *string  `json:"decoded"`
	DecodedSkip   *string  `json:"decoded_skip_special"`
	Truncation    *struct {
		MaxLength int    `json:"maxLength"`
		Strategy  string `json:"strategy"`
		Direction string `json:"direction"`
	} `json:"truncation"`
	Error   string   `json:"error"`
	Batch   []string `json:"batch"`
	Padding *struct {
		Direction string `json:"direction"`
		Multiple  int    `json:"multiple"`
		ID        int    `json:"id"`
		Token     string `json:"token"`
	} `json:"padding"`
	BatchIDs  [][]int `json:"batch_ids"`
	BatchMask [][]int `json:"batch_attention_mask"`
}

// TestReference checks this package against fixtures the Rust tokenizers
// crate produced for components the shared fixtures do not cover
// (byte-level BPE, Split regexes, byte fallback, many normalizers, added
// token options, pair truncation strategies, padding, offsets, decoding).
func TestReference(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "reference", "*", "cases.jsonl"))
	if len(dirs) == 0 {
		t.Fatal("no reference fixtures under testdata/reference")
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			tok, err := Load(filepath.Join(dir, "tokenizer.json"))
			if err != nil {
				t.Fatal(err)
			}
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			sc := bufio.NewScanner(fh)
			sc.Buffer(nil, 1<<24)
			for n := 1; sc.Scan(); n++ {
				var c refCase
				if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
					t.Fatalf("line %d: %v", n, err)
				}
				checkRefCase(t, tok, n, &c)
			}
		})
	}
}

func eqInts(t *testing.T, n int, what string, got, want []int) {
	t.Helper()
	if want != nil && !slices.Equal(got, want) {
		t.Errorf("line %d: %s\n got %v\nwant %v", n, what, got, want)
	}
}

func checkRefCase(t *testing.T, tok *Pipeline, n int, c *refCase) {
	t.Helper()
	switch {
	case c.Batch != nil:
		p := Padding{Multiple: c.Padding.Multiple, ID: c.Padding.ID, Token: c.Padding.Token, Left: c.Padding.Direction == "left"}
		encs, err := EncodeBatch(context.Background(), tok, c.Batch, WithPadding(p))
		if err != nil {
			t.Errorf("line %d: %v", n, err)
			return
		}
		for i, e := range encs {
			eqInts(t, n, "batch ids", e.IDs, c.BatchIDs[i])
			eqInts(t, n, "batch attention mask", e.AttentionMask, c.BatchMask[i])
		}
	case c.Pair != nil:
		opts := []EncodeOption{WithPair(*c.Pair)}
		if c.Truncation != nil {
			tr := Truncation{MaxLength: c.Truncation.MaxLength, Left: c.Truncation.Direction == "left"}
			switch c.Truncation.Strategy {
			case "only_first":
				tr.Strategy = OnlyFirst
			case "only_second":
				tr.Strategy = OnlySecond
			}
			opts = append(opts, WithTruncation(tr))
		}
		e, err := tok.Encode(c.Text, opts...)
		if c.Error != "" {
			if err == nil {
				t.Errorf("line %d: pair with %+v: no error, want one like %q", n, c.Truncation, c.Error)
			}
			return
		}
		if err != nil {
			t.Errorf("line %d: %v", n, err)
			return
		}
		eqInts(t, n, "pair ids", e.IDs, c.IDs)
		eqInts(t, n, "pair type ids", e.TypeIDs, c.TypeIDs)
		eqInts(t, n, "pair special mask", e.SpecialTokensMask, c.SpecialMask)
	default:
		e, err := tok.Encode(c.Text)
		if err != nil {
			t.Errorf("line %d %q: %v", n, c.Text, err)
			return
		}
		if !slices.Equal(e.IDs, c.IDs) || !slices.Equal(e.Tokens, c.Tokens) {
			t.Errorf("line %d %q:\n got %v %q\nwant %v %q", n, c.Text, e.IDs, e.Tokens, c.IDs, c.Tokens)
			return
		}
		offs := make([][2]int, len(e.Offsets))
		for i, o := range e.Offsets {
			offs[i] = [2]int{o.Start, o.End}
		}
		if !slices.Equal(offs, c.Offsets) {
			t.Errorf("line %d %q: offsets\n got %v\nwant %v", n, c.Text, offs, c.Offsets)
		}
		eqInts(t, n, "type ids", e.TypeIDs, c.TypeIDs)
		eqInts(t, n, "special tokens mask", e.SpecialTokensMask, c.SpecialMask)
		eqInts(t, n, "attention mask", e.AttentionMask, c.AttentionMask)
		eqInts(t, n, "word ids", e.WordIDs, c.WordIDs)
		ns, err := tok.Encode(c.Text, WithoutSpecialTokens())
		if err != nil {
			t.Errorf("line %d: %v", n, err)
		} else {
			eqInts(t, n, "ids without special tokens", ns.IDs, c.NoSpecialIDs)
		}
		for _, d := range []struct {
			skip bool
			want *string
		}{{false, c.Decoded}, {true, c.DecodedSkip}} {
			if d.want == nil {
				continue
			}
			got, err := tok.Decode(c.IDs, d.skip)
			if err != nil {
				t.Errorf("line %d: decode: %v", n, err)
			} else if got != *d.want {
				t.Errorf("line %d %q: decode(skip=%v) = %q, want %q", n, c.Text, d.skip, got, *d.want)
			}
		}
	}
}
