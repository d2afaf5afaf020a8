package ja

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/kotodama-ai/kotodama/tokenizer"
)

func newTestMeCab(tb testing.TB) *MeCab {
	tb.Helper()
	m, err := NewMeCab()
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// readFixtures reads every fixture under testdata/mecab/split: files of
// {"text", "words", "source"} lines.
func readFixtures(tb testing.TB) map[string][]fixtureCase {
	tb.Helper()
	files, err := filepath.Glob("testdata/mecab/split/*.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]fixtureCase{}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<22)
		for sc.Scan() {
			var c fixtureCase
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				tb.Fatalf("%s: %v", path, err)
			}
			out[path] = append(out[path], c)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
	}
	if len(out) == 0 {
		tb.Fatal("no fixtures under testdata/mecab/split")
	}
	return out
}

// TestMeCabFixtures checks the words of every fixture sentence against
// what MeCab 0.996 produced for it with this package's dictionary
// (testdata/mecab/README.md says how the fixtures were made).
func TestMeCabFixtures(t *testing.T) {
	m := newTestMeCab(t)
	for path, cases := range readFixtures(t) {
		bad := 0
		for i, c := range cases {
			got, err := m.Split(c.Text)
			if err != nil {
				t.Errorf("%s:%d: %v", path, i+1, err)
				continue
			}
			if !slices.Equal(got, c.Words) {
				bad++
				if bad <= 5 {
					t.Errorf("%s:%d (%s) %q\n got  %q\n want %q", path, i+1, c.Source, c.Text, got, c.Words)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d sentences differ", path, bad, len(cases))
		}
		t.Logf("%s: %d sentences", path, len(cases))
	}
}

// TestTransformersUniDicLite is transformers' own check of MecabTokenizer
// with unidic_lite (tests/models/bert_japanese/
// test_tokenization_bert_japanese.py, test_mecab_tokenizer_unidic_lite),
// whose expectation came from fugashi with the real unidic-lite. The
// tokenizer normalizes with NFKC before MeCab; so does this test.
func TestTransformersUniDicLite(t *testing.T) {
	m := newTestMeCab(t)
	in := norm.NFKC.String(" \tｱｯﾌﾟﾙストアでiPhone８ が  \n 発売された　。  ")
	want := []string{"アップル", "ストア", "で", "iPhone", "8", "が", "発売", "さ", "れ", "た", "。"}
	got, err := m.Split(in)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Split(%q)\n got  %q\n want %q", in, got, want)
	}
}

// TestSplitCoversText checks the invariant MeCab's output has: the words
// are in order, do not overlap, and what lies between them is only the
// whitespace MeCab skips (space, tab, newline, vertical tab).
func TestSplitCoversText(t *testing.T) {
	m := newTestMeCab(t)
	for path, cases := range readFixtures(t) {
		for i, c := range cases {
			if err := checkCover(m, c.Text); err != nil {
				t.Errorf("%s:%d: %v", path, i+1, err)
			}
		}
	}
}

func checkCover(m *MeCab, text string) error {
	var spans [][2]int
	if err := m.analyze(text, func(s, e int) { spans = append(spans, [2]int{s, e}) }); err != nil {
		return err
	}
	if i := strings.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	// onlySpace reports whether text[a:b] is whitespace MeCab skips:
	// for valid UTF-8 exactly " \t\n\v"; MeCab decodes invalid UTF-8 by
	// the lead byte alone, so "\xc0 " is a space to it too.
	onlySpace := func(a, b int) bool {
		if utf8.ValidString(text) {
			return strings.Trim(text[a:b], " \t\n\v") == ""
		}
		for a < b {
			ci, w := m.dic.charAt(text, a, b)
			if !ci.isKindOf(m.dic.space) {
				return false
			}
			a += w
		}
		return a == b
	}
	at := 0
	for _, w := range spans {
		if w[0] < at || w[1] <= w[0] || w[1] > len(text) {
			return errors.New("words out of order, empty or out of range: " + spansText(text, spans))
		}
		if !onlySpace(at, w[0]) {
			return errors.New("non-space text " + strconvQuote(text[at:w[0]]) + " belongs to no word")
		}
		at = w[1]
	}
	if !onlySpace(at, len(text)) {
		return errors.New("non-space text " + strconvQuote(text[at:]) + " at the end belongs to no word")
	}
	return nil
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestNewlineIsSpace checks that a newline splits like a space: both are
// char.def's SPACE, which the fixtures (one sentence per mecab input
// line) cannot show.
func TestNewlineIsSpace(t *testing.T) {
	m := newTestMeCab(t)
	for _, pair := range [][2]string{
		{"東北大学で研究\nしています。", "東北大学で研究 しています。"},
		{"行1\n\n行2\n", "行1  行2 "},
		{"\nabc\n", " abc "},
	} {
		a, errA := m.Split(pair[0])
		b, errB := m.Split(pair[1])
		if errA != nil || errB != nil || !slices.Equal(a, b) {
			t.Errorf("Split(%q) = %q, %v; Split(%q) = %q, %v", pair[0], a, errA, pair[1], b, errB)
		}
	}
}

// TestNULEndsText checks that the text ends at the first NUL byte, as
// fugashi hands MeCab a C string.
func TestNULEndsText(t *testing.T) {
	m := newTestMeCab(t)
	got, err := m.Split("東京\x00大阪")
	if err != nil || !slices.Equal(got, []string{"東京"}) {
		t.Errorf("Split = %q, %v; want [東京]", got, err)
	}
	words, err := m.AppendWords(nil, "\x00東京")
	if err != nil || len(words) != 0 {
		t.Errorf("AppendWords = %v, %v; want none", words, err)
	}
}

// TestAppendWordsSplitsWhitespace checks that AppendWords hands WordPiece
// what whitespace_tokenize would: MeCab keeps \r, \f, U+0085, U+2028
// inside words, Python's str.split splits there.
func TestAppendWordsSplitsWhitespace(t *testing.T) {
	m := newTestMeCab(t)
	text := "改ページ\x0cと復帰\rは\x1c\x1d区切り\u0085文字\u2028と\u2029 \t終わり\r"
	words, err := m.AppendWords(nil, text)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range words {
		got = append(got, text[w.Start:w.End])
	}
	// Python: [p for w in mecab_words for p in w.split()]
	want := []string{"改", "ページ", "と", "復帰", "は", "区切り", "文字", "と", "終わり"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// Appending keeps what dst held.
	words, _ = m.AppendWords([]tokenizer.Word{{Start: 1, End: 2}}, "東京")
	if len(words) != 2 || words[0] != (tokenizer.Word{Start: 1, End: 2}) || words[1] != (tokenizer.Word{Start: 0, End: 6}) {
		t.Errorf("AppendWords onto dst = %v", words)
	}
}

func TestIsPythonSpace(t *testing.T) {
	// The whitespace set of Python 3's str.isspace (Unicode 14).
	want := []rune{0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
		0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000}
	var got []rune
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if isPythonSpace(r) {
			got = append(got, r)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %U\nwant %U", got, want)
	}
}

// TestLiteDeleted checks the entries unidic-lite removes, and which
// longer all-digit words UniDic 2.1.2 has: no ASCII ones (so after NFKC no
// number is a dictionary word), and 24 full-width ones (１０, １００, ...)
// that unidic-lite's README does not say it removed, and this package
// keeps; they matter only with normalize_text false.
func TestLiteDeleted(t *testing.T) {
	for _, s := range []string{"0", "9", "A", "Z", "a", "z", "０", "９", "Ａ", "Ｚ", "ａ", "ｚ"} {
		if !liteDeleted(s) {
			t.Errorf("liteDeleted(%q) = false", s)
		}
	}
	for _, s := range []string{"", "!", "@", "[", "`", "{", "10", "ab", "α", "／", "＠", "［", "｀", "｛", "ｦ", "あ", "\xef\xbc", "１０"} {
		if liteDeleted(s) {
			t.Errorf("liteDeleted(%q) = true", s)
		}
	}
	dic, err := loadDictionary()
	if err != nil {
		t.Fatal(err)
	}
	var ascii, wide []string
	for _, set := range []struct {
		digits []string
		found  *[]string
	}{
		{strings.Split("0123456789", ""), &ascii},
		{strings.Split("０１２３４５６７８９", ""), &wide},
	} {
		frontier := []string{""} // digit strings that prefix some dictionary key
		for depth := 0; len(frontier) > 0; depth++ {
			var next []string
			for _, p := range frontier {
				for _, d := range set.digits {
					key := p + d
					if _, ok := dic.d.Index.Da.Find(key); ok && depth > 0 {
						*set.found = append(*set.found, key)
					}
					if hasPrefix(dic, key) {
						next = append(next, key)
					}
				}
			}
			frontier = next
		}
	}
	if len(ascii) != 0 {
		t.Errorf("UniDic has all-digit ASCII entries %q", ascii)
	}
	if len(wide) != 24 || !slices.Contains(wide, "１０") || !slices.Contains(wide, "１０００") {
		t.Errorf("UniDic's full-width all-digit entries: %q", wide)
	}
	m := newTestMeCab(t)
	if got, _ := m.Split("１０と10"); !slices.Equal(got, []string{"１０", "と", "10"}) {
		t.Errorf("Split(１０と10) = %q", got)
	}
}

// hasPrefix reports whether some dictionary key starts with p.
func hasPrefix(dic *dictionary, p string) bool {
	da := dic.d.Index.Da
	q := 0
	for i := 0; i < len(p); i++ {
		n := int(da[q].Base) + int(p[i])
		if n <= 0 || n >= len(da) || int(da[n].Check) != q {
			return false
		}
		q = n
	}
	return true
}

// TestConcurrent checks that one MeCab serves goroutines at once and
// gives each the same words as a lone call.
func TestConcurrent(t *testing.T) {
	m := newTestMeCab(t)
	var cases []fixtureCase
	for _, cs := range readFixtures(t) {
		cases = append(cases, cs...)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range cases {
				c := cases[(i*7+g)%len(cases)]
				got, err := m.Split(c.Text)
				if err != nil || !slices.Equal(got, c.Words) {
					errs <- c.Text
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent Split differs for %q", e)
	}
}

// TestRegisteredFactory checks that the "mecab" word tokenizer is
// registered and reads mecab_kwargs as transformers' MecabTokenizer does.
func TestRegisteredFactory(t *testing.T) {
	if !slices.Contains(tokenizer.WordTokenizers(), "mecab") {
		t.Fatalf("mecab not registered: %v", tokenizer.WordTokenizers())
	}
	for _, tc := range []struct {
		kwargs string
		err    error // nil: accepted
	}{
		{`{"mecab_dic": "unidic_lite"}`, nil},
		{`{"mecab_dic": "unidic_lite", "mecab_option": "", "normalize_text": true}`, nil},
		{`{"mecab_dic": "unidic_lite", "mecab_option": null, "normalize_text": false}`, nil},
		{``, ErrUnsupported},     // no mecab_kwargs: transformers uses ipadic
		{`{}`, ErrUnsupported},   // same
		{`null`, ErrUnsupported}, // same
		{`{"mecab_dic": "ipadic"}`, ErrUnsupported},
		{`{"mecab_dic": "unidic"}`, ErrUnsupported},
		{`{"mecab_dic": null, "mecab_option": "-d /usr/lib/mecab/dic/unidic"}`, ErrUnsupported},
		{`{"mecab_dic": "unidic_lite", "mecab_option": "-Owakati"}`, ErrUnsupported},
		{`{"mecab_dic": "unidic_lite", "do_lower_case": true}`, ErrUnsupported},
		{`{"mecab_dic": 3}`, errSyntax},
		{`{"normalize_text": "yes", "mecab_dic": "unidic_lite"}`, errSyntax},
		{`[1]`, errSyntax},
		{`{"mecab_dic": "unidic_lite"`, errSyntax},
	} {
		wt, err := newWordTokenizer(tokenizer.WordTokenizerOptions{Type: "mecab", Kwargs: json.RawMessage(tc.kwargs)})
		switch {
		case tc.err == nil && err != nil:
			t.Errorf("kwargs %s: %v", tc.kwargs, err)
		case tc.err == nil:
			if _, ok := wt.(*MeCab); !ok {
				t.Errorf("kwargs %s: got %T", tc.kwargs, wt)
			}
		case tc.err == errSyntax && err == nil, tc.err != errSyntax && !errors.Is(err, tc.err):
			t.Errorf("kwargs %s: err = %v, want %v", tc.kwargs, err, tc.err)
		case !strings.Contains(err.Error(), "mecab_kwargs"):
			t.Errorf("kwargs %s: error %q does not name mecab_kwargs", tc.kwargs, err)
		}
	}
}

var errSyntax = errors.New("any error")

// TestInvalidUTF8 checks MeCab's reading of malformed UTF-8: the lead
// byte alone fixes a character's length ("\xc0 " is one character, code
// U+0020, so a space), bytes it cannot place are single characters. The
// spans are what MeCab 0.996 printed for the same bytes with this
// package's dictionary (testdata/mecab/README.md):
//
//	printf 'a\xc0 b\xe3\x81c\xff\xfe\xf0\x9f\x98d\n' | mecab -d DIR -O '' -F '%ps %pe\n' -U '%ps %pe\n'
func TestInvalidUTF8(t *testing.T) {
	m := newTestMeCab(t)
	text := "a\xc0 b\xe3\x81c\xff\xfe\xf0\x9f\x98d"
	var got [][2]int
	if err := m.analyze(text, func(s, e int) { got = append(got, [2]int{s, e}) }); err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{0, 1}, {3, 4}, {4, 7}, {7, 13}}
	if !slices.Equal(got, want) {
		t.Errorf("spans %v, want %v", got, want)
	}
}
