package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/kotodama-ai/kotodama/internal/golden"
	"golang.org/x/text/unicode/norm"
)

type fuzzTok struct {
	name string
	tok  *Pipeline
	// roundTrip, when set, returns what decode(encode(text)) must give
	// back (the tokenizer is lossless up to that normalization) and
	// whether text qualifies.
	roundTrip func(string) (string, bool)
}

var fuzzToks = sync.OnceValues(func() ([]fuzzTok, error) {
	var out []fuzzTok
	dirs, _ := filepath.Glob(golden.Path("tokenizers", "*"))
	refs, _ := filepath.Glob(filepath.Join("testdata", "reference", "*"))
	for _, d := range append(dirs, refs...) {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() {
			continue
		}
		tok, err := Load(d)
		if err != nil {
			return nil, err
		}
		ft := fuzzTok{name: filepath.Base(d), tok: tok}
		switch ft.name {
		case "bpe-bytelevel":
			// Byte-level BPE keeps every byte; only NFC changes the text.
			ft.roundTrip = func(s string) (string, bool) {
				return norm.NFC.String(s), !strings.Contains(s, "<|")
			}
		case "bpe-bytefallback":
			// Byte fallback covers every character; "▁" stands for a space.
			ft.roundTrip = func(s string) (string, bool) {
				return s, !strings.ContainsAny(s, "▁<")
			}
		}
		out = append(out, ft)
	}
	return out, nil
})

// FuzzEncode feeds arbitrary bytes to every fixture tokenizer: no panic,
// invalid UTF-8 reported as ErrInvalidUTF8, ids inside the vocabulary,
// offsets inside the text, parallel slices of one length, Decode of the
// ids working, and decode(encode(x)) == x (up to the tokenizer's
// normalization) for the lossless ones.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", " ", "東京タワーの高さは？", "Hello, world!", "ｶﾞｷﾞ ﾃﾞ", "a\u0301\u0302", "👨\u200d👩\u200d👧",
		"[CLS] x [SEP]", "\x00\t\r\n", "\xff\xfe", "é̂ ǅ ﬁ İ", "  two  spaces  ", "<s>▁</s>"} {
		f.Add(s)
	}
	toks, err := fuzzToks()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1<<12 {
			return // keep executions fast
		}
		for _, ft := range toks {
			enc, err := ft.tok.Encode(s)
			if !utf8.ValidString(s) {
				if !errors.Is(err, ErrInvalidUTF8) {
					t.Fatalf("%s: invalid UTF-8 %q: err = %v", ft.name, s, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %q: %v", ft.name, s, err)
			}
			n := len(enc.IDs)
			if len(enc.Tokens) != n || len(enc.Offsets) != n || len(enc.TypeIDs) != n || len(enc.AttentionMask) != n ||
				len(enc.SpecialTokensMask) != n || len(enc.WordIDs) != n {
				t.Fatalf("%s: %q: slices of different lengths", ft.name, s)
			}
			for i, id := range enc.IDs {
				if id < 0 || id >= ft.tok.VocabSize() {
					t.Fatalf("%s: %q: id %d outside the vocabulary", ft.name, s, id)
				}
				if o := enc.Offsets[i]; o.Start < 0 || o.End > len(s) || o.Start > o.End {
					t.Fatalf("%s: %q: offset %v outside [0,%d]", ft.name, s, o, len(s))
				}
			}
			dec, err := ft.tok.Decode(enc.IDs, true)
			if err != nil {
				t.Fatalf("%s: %q: decode: %v", ft.name, s, err)
			}
			if ft.roundTrip != nil {
				if want, ok := ft.roundTrip(s); ok && dec != want {
					t.Fatalf("%s: decode(encode(%q)) = %q, want %q", ft.name, s, dec, want)
				}
			}
		}
	})
}

// FuzzLoad feeds arbitrary bytes to the three file parsers (tokenizer.json,
// vocab.txt, SentencePiece .model): no panic, and a tokenizer that loads
// encodes text without panicking.
func FuzzLoad(f *testing.F) {
	seed := func(p string, cut int) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if cut > 0 && cut < len(b) {
			b = b[:cut]
		}
		f.Add(b, uint8(0))
	}
	seed(golden.Path("tokenizers", "sentencepiece-ja", "test_ja_model.model"), 4096)
	seed(filepath.Join("testdata", "reference", "wordpiece-normalizers", "tokenizer.json"), 3000)
	f.Add([]byte(`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":1,"##b":2}},"normalizer":{"type":"Precompiled","precompiled_charsmap":"AAAAAA=="}}`), uint8(0))
	f.Add([]byte(`{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["a",-1]]},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"\\s+(?!\\S)|\\s+"},"behavior":"Isolated"}}`), uint8(0))
	f.Add([]byte("[UNK]\n[CLS]\n[SEP]\na\n##b\n"), uint8(1))
	f.Add([]byte{0x0a, 0x09, 0x0a, 0x05, '<', 'u', 'n', 'k', '>', 0x18, 0x02}, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		if len(data) > 1<<14 {
			return // keep executions fast; size is not what this looks for
		}
		name := [...]string{"tokenizer.json", "vocab.txt", "x.model"}[kind%3]
		tok, err := LoadFS(fstest.MapFS{name: &fstest.MapFile{Data: data}}, name)
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("error %q does not name the file %s", err, name)
			}
			return
		}
		for _, s := range []string{"", "東京 tower", "ab ab\u0301"} {
			if enc, err := tok.Encode(s, WithPair("x y")); err == nil {
				if _, err := tok.Decode(enc.IDs, false); err != nil {
					t.Fatalf("decode: %v", err)
				}
			}
		}
	})
}

// FuzzCharsmap walks arbitrary precompiled charsmaps over arbitrary text:
// a corrupt map must not index outside its arrays.
func FuzzCharsmap(f *testing.F) {
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 'a', 0}, "ｶﾞ abc")
	f.Add([]byte{4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, "x")
	f.Fuzz(func(t *testing.T, blob []byte, text string) {
		m, err := parseCharsmap(blob)
		if err != nil || !utf8.ValidString(text) || text == "" {
			return
		}
		var st state
		p := st.load(text)
		precompiledNormalizer{m}.normalize(&st, p)
		sn := &spmNormalizer{m: m, addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true}
		sn.normalize(&st, p)
	})
}
