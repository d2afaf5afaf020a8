package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/internal/golden"
)

// The verb writes, line for line, what embed.Encode returns.
func TestEncodeVerb(t *testing.T) {
	dir := golden.Path("models", "bert-tiny-ja")
	texts := []string{"柵の中の小屋の前にキリンが２頭います。", "", "東京の人口は？", "  白クマが日陰で寝ています。 "}
	var in bytes.Buffer
	for _, s := range texts {
		b, _ := json.Marshal(map[string]string{"text": s})
		in.Write(b)
		in.WriteByte('\n')
	}
	var out, errb bytes.Buffer
	e := &env{stdin: &in, stdout: &out, stderr: &errb}
	if err := run(context.Background(), e, []string{"encode", "-model", dir, "-prompt", "query", "-batch", "3", "-q"}); err != nil {
		t.Fatal(err, errb.String())
	}
	m, err := embed.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want, err := m.Encode(context.Background(), texts, embed.WithPromptName("query"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%d lines for %d texts", len(lines), len(texts))
	}
	for i, line := range lines {
		var v struct{ Embedding []float32 }
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if len(v.Embedding) != len(want[i]) {
			t.Fatalf("line %d: %d values, want %d", i, len(v.Embedding), len(want[i]))
		}
		for j := range v.Embedding {
			if v.Embedding[j] != want[i][j] {
				t.Fatalf("line %d value %d: %v, want %v", i, j, v.Embedding[j], want[i][j])
			}
		}
	}
}

func TestEncodeVerbErrors(t *testing.T) {
	dir := golden.Path("models", "bert-tiny-ja")
	for _, tc := range []struct {
		args []string
		in   string
		want string
	}{
		{[]string{"encode"}, "", "-model is required"},
		{[]string{"encode", "-model", filepath.Join(t.TempDir(), "none")}, "", "not found"},
		{[]string{"encode", "-model", dir, "-prompt", "nope"}, "a\n", "unknown prompt"},
		{[]string{"encode", "-model", dir}, "ok\n\xff\n", "line 2"},
	} {
		e := &env{stdin: strings.NewReader(tc.in), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
		err := run(context.Background(), e, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
	var help bytes.Buffer
	err := run(context.Background(), &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &help}, []string{"encode", "-h"})
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	for _, f := range []string{"-model", "-prompt", "-batch", "-normalize", "-max-length", "-truncate-dim"} {
		if !strings.Contains(help.String(), f) {
			t.Errorf("-h does not document %s", f)
		}
	}
}
