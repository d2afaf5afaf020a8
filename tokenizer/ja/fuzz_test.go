package ja

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSplit checks, for arbitrary bytes, that splitting never panics or
// fails on short input, that MeCab's words cover everything but the
// whitespace it skips, and that AppendWords' words hold no Python
// whitespace and lie inside the text.
func FuzzSplit(f *testing.F) {
	for _, c := range readEdgeCases(f) {
		f.Add(c.Text)
	}
	f.Add("東北大学で自然言語処理の研究をしています。")
	f.Add("\xff\xfe\xe3\x81")     // invalid UTF-8
	f.Add("\xe3\x81\x82\xf0\x9f") // a truncated 4-byte sequence at the end
	f.Add(strings.Repeat(" ", 70000) + "あ")
	m := newTestMeCab(f)
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 1<<16 {
			return // keep runs fast; ErrTooLong needs far longer text
		}
		if err := checkCover(m, text); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		words, err := m.AppendWords(nil, text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		at := 0
		for _, w := range words {
			if w.Start < at || w.End <= w.Start || w.End > len(text) {
				t.Fatalf("%q: word %v out of order or range", text, w)
			}
			at = w.End
			if !utf8.ValidString(text) {
				continue
			}
			for _, r := range text[w.Start:w.End] {
				if isPythonSpace(r) {
					t.Fatalf("%q: word %q holds whitespace", text, text[w.Start:w.End])
				}
			}
		}
	})
}
