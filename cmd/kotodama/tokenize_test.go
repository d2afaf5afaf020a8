package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

// TestTokenizeGolden runs `kotodama tokenize` over every tokenizer
// fixture's texts (as JSONL) and compares each output line with the
// reference ids and tokens.
func TestTokenizeGolden(t *testing.T) {
	for _, dir := range golden.Dirs(t, "tokenizers", "cases.jsonl") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "cases.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			type refCase struct {
				Text   string   `json:"text"`
				IDs    []int    `json:"ids"`
				Tokens []string `json:"tokens"`
				Pieces []string `json:"pieces"`
			}
			var cases []refCase
			var in bytes.Buffer
			for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
				var c refCase
				if err := json.Unmarshal([]byte(line), &c); err != nil {
					t.Fatal(err)
				}
				cases = append(cases, c)
				b, _ := json.Marshal(map[string]string{"text": c.Text})
				in.Write(b)
				in.WriteByte('\n')
			}
			var out, errb bytes.Buffer
			e := &env{stdin: &in, stdout: &out, stderr: &errb}
			if err := run(context.Background(), e, []string{"tokenize", "-model", dir, "-batch", "7"}); err != nil {
				t.Fatalf("%v\n%s", err, errb.String())
			}
			sc := bufio.NewScanner(&out)
			sc.Buffer(nil, 1<<24)
			n := 0
			for sc.Scan() {
				var r tokenizeResult
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatal(err)
				}
				c := cases[n]
				want := c.Tokens
				if want == nil {
					want = c.Pieces
				}
				if !slices.Equal(r.IDs, c.IDs) || !slices.Equal(r.Tokens, want) {
					t.Errorf("line %d %q: got %v %q, want %v %q", n+1, c.Text, r.IDs, r.Tokens, c.IDs, want)
				}
				n++
			}
			if n != len(cases) {
				t.Errorf("%d output lines for %d texts", n, len(cases))
			}
		})
	}
}

func TestTokenizeErrors(t *testing.T) {
	dir := golden.Path("tokenizers", "bert-base-uncased")
	for _, tc := range []struct {
		args []string
		in   string
		want string
	}{
		{[]string{"tokenize"}, "", "required"},
		{[]string{"tokenize", "-model", dir, "-tokenizer", "x"}, "", "not both"},
		{[]string{"tokenize", "-tokenizer", filepath.Join(t.TempDir(), "missing.json")}, "", "missing.json"},
		{[]string{"tokenize", "-model", dir}, "ok\n\xff\n", "line 2"},
		{[]string{"tokenize", "-model", dir, "-max-length", "-1"}, "", "-max-length"},
	} {
		var out, errb bytes.Buffer
		e := &env{stdin: strings.NewReader(tc.in), stdout: &out, stderr: &errb}
		err := run(context.Background(), e, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

func TestTokenizeOptions(t *testing.T) {
	dir := golden.Path("tokenizers", "bert-base-uncased")
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader("Hello, world!\n"), stdout: &out, stderr: &errb}
	if err := run(context.Background(), e, []string{"tokenize", "-model", dir, "-no-special", "-offsets", "-type-ids", "-max-length", "3"}); err != nil {
		t.Fatal(err)
	}
	var r tokenizeResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	// Expected values from the Rust tokenizers crate (npm tokenizers
	// 0.23.2): setTruncation(3), encode("Hello, world!", null,
	// {addSpecialTokens: false}).
	if want := []string{"hello", ",", "world"}; !slices.Equal(r.Tokens, want) {
		t.Errorf("tokens %q, want %q", r.Tokens, want)
	}
	if want := [][2]int{{0, 5}, {5, 6}, {7, 12}}; !slices.Equal(r.Offsets, want) {
		t.Errorf("offsets %v, want %v", r.Offsets, want)
	}
	if !slices.Equal(r.TypeIDs, []int{0, 0, 0}) {
		t.Errorf("type ids %v", r.TypeIDs)
	}
}
