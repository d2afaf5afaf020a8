package ja

// Tools that check this package against the real MeCab, run by hand (they
// skip unless their flag is given). testdata/README.md has the commands.

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ikawaha/kagome-dict/dict/trie"
	"golang.org/x/text/unicode/norm"
)

var (
	mecabExport  = flag.String("mecab-export", "", "write the dictionary as MeCab source (char.def, unk.def, matrix.def, lex.csv, dicrc) to this directory")
	sentencesOut = flag.String("sentences-out", "", "write NFKC-normalized sentences from ../shared/data to this file (one per line) and their sources to FILE.src")
	sentenceData = flag.String("sentence-data", "../../../shared/data", "the shared data directory -sentences-out reads")
	agreeIn      = flag.String("agree", "", "compare this package with MeCab: SENTENCES,MECABOUT[,NAME] where MECABOUT is mecab's -F '%ps %pe\\n' output for SENTENCES; several separated by ';'")
	fixtureFrom  = flag.String("fixture-from", "", "write testdata/mecab/split/*.jsonl from SENTENCES,MECABOUT,OTHEROUT: a sample of MeCab's splits, the sentences OTHEROUT (another dictionary) splits differently, and the edge cases")
)

// walkTrie calls f with every key of the double array and its id.
func walkTrie(da trie.DoubleArray, f func(key []byte, id int)) {
	var key []byte
	var rec func(p int)
	rec = func(p int) {
		base := int(da[p].Base)
		for c := 0; c < 256; c++ {
			q := base + c
			if q <= 0 || q >= len(da) || int(da[q].Check) != p {
				continue
			}
			if c == 0 {
				if da[q].Base <= 0 {
					f(key, int(-da[q].Base))
				}
				continue
			}
			key = append(key, byte(c))
			rec(q)
			key = key[:len(key)-1]
		}
	}
	rec(0)
}

// csvField quotes a MeCab CSV field when it holds a comma or a quote.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// TestExportMeCabSource writes the dictionary this package uses (UniDic
// 2.1.2 from kagome-dict/uni, less the entries unidic-lite deletes) as a
// MeCab source dictionary, so that mecab-dict-index can build it for the
// real MeCab.
func TestExportMeCabSource(t *testing.T) {
	if *mecabExport == "" {
		t.Skip("give -mecab-export DIR")
	}
	dic, err := loadDictionary()
	if err != nil {
		t.Fatal(err)
	}
	d := dic.d
	dir := *mecabExport
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, fill func(w *bufio.Writer)) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		fill(w)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}

	write("dicrc", func(w *bufio.Writer) {
		fmt.Fprintln(w, "cost-factor = 700")
		fmt.Fprintln(w, "bos-feature = BOS/EOS,*,*,*,*,*")
		fmt.Fprintln(w, "config-charset = utf8")
	})
	write("char.def", func(w *bufio.Writer) {
		for _, c := range unidicCategories {
			fmt.Fprintf(w, "%s %d %d %d\n", c.name, b2i(c.invoke), b2i(c.group), c.length)
		}
		for lo := 0; lo < 0xFFFF; {
			hi := lo
			for hi+1 < 0xFFFF && d.CharCategory[hi+1] == d.CharCategory[lo] {
				hi++
			}
			if name := unidicCategories[d.CharCategory[lo]].name; name != "DEFAULT" {
				fmt.Fprintf(w, "0x%04X..0x%04X %s\n", lo, hi, name)
			}
			lo = hi + 1
		}
		for _, m := range multiCategory {
			fmt.Fprintf(w, "0x%04X %s %s\n", m.r, m.first, m.second)
		}
	})
	write("unk.def", func(w *bufio.Writer) {
		for i, c := range unidicCategories {
			first := int(d.UnkDict.Index[int32(i)])
			for k, m := range dic.unk[i] {
				feature := "*"
				if id := first + k; id < len(d.UnkDict.Contents) {
					feature = strings.Join(d.UnkDict.Contents[id], ",")
				}
				fmt.Fprintf(w, "%s,%d,%d,%d,%s\n", c.name, m.LeftID, m.RightID, m.Weight, feature)
			}
		}
	})
	write("matrix.def", func(w *bufio.Writer) {
		n := dic.connRows
		fmt.Fprintf(w, "%d %d\n", n, n)
		for l := range n { // right context id of the word before
			for r := range n { // left context id of the word after
				fmt.Fprintf(w, "%d %d %d\n", l, r, dic.conn[r*n+l])
			}
		}
	})
	entries, deleted := 0, 0
	write("lex.csv", func(w *bufio.Writer) {
		walkTrie(d.Index.Da, func(key []byte, id int) {
			surface := string(key)
			if liteDeleted(surface) {
				deleted += int(d.Index.Dup[int32(id)]) + 1
				return
			}
			for k := id; k <= id+int(d.Index.Dup[int32(id)]); k++ {
				m := d.Morphs[k]
				pos := "*"
				if k < len(d.POSTable.POSs) {
					var names []string
					for _, p := range d.POSTable.POSs[k] {
						names = append(names, d.POSTable.NameList[p])
					}
					pos = strings.Join(names, "-")
				}
				fmt.Fprintf(w, "%s,%d,%d,%d,%s\n", csvField(surface), m.LeftID, m.RightID, m.Weight, csvField(pos))
				entries++
			}
		})
	})
	t.Logf("wrote %s: %d entries (%d deleted as unidic-lite does), %d unknown-word entries, %dx%d matrix",
		dir, entries, deleted, len(d.UnkDict.Morphs), dic.connRows, dic.connRows)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestWriteSentences writes the Japanese sentences the agreement check
// uses: every distinct text of JSTS, JNLI, JCommonsenseQA, JSQuAD, JaQuAD
// and JSICK under ../shared/data, NFKC-normalized (as
// BertJapaneseTokenizer does before MeCab), newlines turned into spaces
// (MeCab treats both as the whitespace it skips; its command reads one
// sentence per line).
func TestWriteSentences(t *testing.T) {
	if *sentencesOut == "" {
		t.Skip("give -sentences-out FILE")
	}
	root := *sentenceData
	seen := map[string]bool{}
	var texts, srcs []string
	addRaw := func(src, s string) {
		if seen[s] {
			return
		}
		seen[s] = true
		texts = append(texts, s)
		srcs = append(srcs, src)
	}
	add := func(src, s string) {
		s = norm.NFKC.String(s)
		s = strings.NewReplacer("\r\n", " ", "\n", " ").Replace(s)
		if strings.TrimSpace(s) == "" || strings.ContainsAny(s, "\x00\r") {
			return
		}
		addRaw(src, s)
	}
	jsonl := func(src, path string, fields ...string) {
		f, err := os.Open(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, k := range fields {
				if s, ok := rec[k].(string); ok {
					add(src, s)
				}
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	squad := func(src, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Data []struct {
				Paragraphs []struct {
					Context string
					Qas     []struct{ Question string }
				}
			}
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, a := range doc.Data {
			for _, p := range a.Paragraphs {
				ctx := p.Context
				if _, after, ok := strings.Cut(ctx, " [SEP] "); ok {
					ctx = after // JSQuAD contexts start with "title [SEP] "
				}
				add(src, ctx)
				for _, q := range p.Qas {
					add(src+"-q", q.Question)
				}
			}
		}
	}
	jsonl("jsts", "jglue/jsts-v1.3/train-v1.3.json", "sentence1", "sentence2")
	jsonl("jsts", "jglue/jsts-v1.3/valid-v1.3.json", "sentence1", "sentence2")
	jsonl("jnli", "jglue/jnli-v1.3/valid-v1.3.json", "sentence1", "sentence2")
	jsonl("jcqa", "jglue/jcommonsenseqa-v1.3/train-v1.3.json", "question", "choice0", "choice1", "choice2", "choice3", "choice4")
	squad("jsquad", filepath.Join(root, "jglue/jsquad-v1.3/valid-v1.3.json"))
	files, _ := filepath.Glob(filepath.Join(root, "jaquad/train/*.json"))
	sort.Strings(files)
	for _, f := range files {
		squad("jaquad", f)
	}
	if f, err := os.Open(filepath.Join(root, "jsick/train.tsv")); err == nil {
		sc := bufio.NewScanner(f)
		var cols []string
		for sc.Scan() {
			row := strings.Split(sc.Text(), "\t")
			if cols == nil {
				cols = row
				continue
			}
			for i, c := range cols {
				if (c == "sentence_A_Ja" || c == "sentence_B_Ja") && i < len(row) {
					add("jsick", row[i])
				}
			}
		}
		f.Close()
	}
	for _, c := range readEdgeCases(t) {
		addRaw("edge", c.Text) // as written: some are not NFKC-normalized on purpose
	}
	if err := os.WriteFile(*sentencesOut, []byte(strings.Join(texts, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*sentencesOut+".src", []byte(strings.Join(srcs, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d sentences to %s", len(texts), *sentencesOut)
}

// readMeCabSpans reads mecab's -F '%ps %pe\n' -U '%ps %pe\n' -E 'EOS\n'
// output: the word spans of each sentence.
func readMeCabSpans(r io.Reader) ([][][2]int, error) {
	var out [][][2]int
	var cur [][2]int
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if line == "EOS" {
			out = append(out, cur)
			cur = nil
			continue
		}
		a, b, ok := strings.Cut(line, " ")
		s, err1 := strconv.Atoi(a)
		e, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad mecab line %q", line)
		}
		cur = append(cur, [2]int{s, e})
	}
	return out, sc.Err()
}

// TestAgreement compares this package's words with MeCab's on the same
// sentences and reports, per source: sentences split identically, and
// word-level precision and recall (a word counts when its byte span is
// exactly one of the reference's).
func TestAgreement(t *testing.T) {
	if *agreeIn == "" {
		t.Skip("give -agree SENTENCES,MECABOUT")
	}
	m, err := NewMeCab()
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range strings.Split(*agreeIn, ";") {
		parts := strings.Split(spec, ",")
		if len(parts) < 2 {
			t.Fatalf("-agree %q: want SENTENCES,MECABOUT", spec)
		}
		raw, err := os.ReadFile(parts[0])
		if err != nil {
			t.Fatal(err)
		}
		sents := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
		srcRaw, _ := os.ReadFile(parts[0] + ".src")
		srcs := strings.Split(strings.TrimSuffix(string(srcRaw), "\n"), "\n")
		f, err := os.Open(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		ref, err := readMeCabSpans(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(ref) != len(sents) {
			t.Fatalf("%s: %d sentences, %d in %s", parts[0], len(sents), len(ref), parts[1])
		}
		type stat struct{ sents, same, refWords, gotWords, common, bytes int }
		stats := map[string]*stat{}
		var diffs []string
		for i, s := range sents {
			src := "all"
			if i < len(srcs) {
				src = srcs[i]
			}
			var got [][2]int
			if err := m.analyze(s, func(a, b int) { got = append(got, [2]int{a, b}) }); err != nil {
				t.Fatalf("sentence %d: %v", i, err)
			}
			refSet := map[[2]int]bool{}
			for _, w := range ref[i] {
				refSet[w] = true
			}
			common := 0
			for _, w := range got {
				if refSet[w] {
					common++
				}
			}
			same := common == len(got) && common == len(ref[i])
			for _, k := range []string{src, "all"} {
				st := stats[k]
				if st == nil {
					st = &stat{}
					stats[k] = st
				}
				st.sents++
				st.bytes += len(s)
				st.refWords += len(ref[i])
				st.gotWords += len(got)
				st.common += common
				if same {
					st.same++
				}
			}
			if !same && len(diffs) < 200 {
				diffs = append(diffs, fmt.Sprintf("%d [%s]\n  mecab: %s\n  ja:    %s", i, src, spansText(s, ref[i]), spansText(s, got)))
			}
		}
		name := parts[1]
		if len(parts) > 2 {
			name = parts[2]
		}
		keys := make([]string, 0, len(stats))
		for k := range stats {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			st := stats[k]
			t.Logf("%s %-9s sentences %6d identical %6d (%.3f%%)  words ref %7d got %7d precision %.4f%% recall %.4f%%  (%.1f MB)",
				name, k, st.sents, st.same, 100*float64(st.same)/float64(st.sents), st.refWords, st.gotWords,
				100*float64(st.common)/float64(st.gotWords), 100*float64(st.common)/float64(st.refWords), float64(st.bytes)/1e6)
		}
		if out := os.Getenv("AGREE_DIFFS"); out != "" {
			if err := os.WriteFile(out+"."+filepath.Base(name), []byte(strings.Join(diffs, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func spansText(s string, spans [][2]int) string {
	var b strings.Builder
	for i, w := range spans {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(s[w[0]:w[1]])
	}
	return b.String()
}

type edgeCase struct{ Text, Why string }

// readEdgeCases reads testdata/mecab/edge_cases.jsonl, hand-written inputs
// that exercise MeCab's character categories and unknown-word rules.
func readEdgeCases(t testing.TB) []edgeCase {
	t.Helper()
	f, err := os.Open("testdata/mecab/edge_cases.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []edgeCase
	dec := json.NewDecoder(f)
	for dec.More() {
		var c edgeCase
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("edge_cases.jsonl: %v", err)
		}
		if strings.ContainsAny(c.Text, "\n\x00") {
			t.Fatalf("edge_cases.jsonl: %q: mecab reads one sentence per line and a C string", c.Text)
		}
		out = append(out, c)
	}
	return out
}

// fixtureCase is one line of a testdata/mecab/*.jsonl fixture.
type fixtureCase struct {
	Text   string   `json:"text"`
	Words  []string `json:"words"`
	Source string   `json:"source"`
}

// TestWriteFixture writes the fixtures TestMeCabFixtures checks, from
// mecab's output for the sentences TestWriteSentences wrote: every edge
// case, an even sample of each source, and the sentences another
// dictionary (OTHEROUT, Debian's UniDic 3.1.1) splits differently, which
// are the ones most sensitive to the dictionary.
func TestWriteFixture(t *testing.T) {
	if *fixtureFrom == "" {
		t.Skip("give -fixture-from SENTENCES,MECABOUT,OTHEROUT")
	}
	parts := strings.Split(*fixtureFrom, ",")
	if len(parts) != 3 {
		t.Fatal("-fixture-from wants SENTENCES,MECABOUT,OTHEROUT")
	}
	raw, err := os.ReadFile(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	sents := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	srcRaw, err := os.ReadFile(parts[0] + ".src")
	if err != nil {
		t.Fatal(err)
	}
	srcs := strings.Split(strings.TrimSuffix(string(srcRaw), "\n"), "\n")
	spans := func(path string) [][][2]int {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		out, err := readMeCabSpans(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != len(sents) || len(srcs) != len(sents) {
			t.Fatalf("%d sentences, %d sources, %d in %s", len(sents), len(srcs), len(out), path)
		}
		return out
	}
	ref, other := spans(parts[1]), spans(parts[2])

	// Sample sizes per source; long paragraphs (jaquad, jsquad) fewer.
	want := map[string]int{"jsts": 60, "jnli": 10, "jcqa": 40, "jsick": 20, "jsquad": 4, "jsquad-q": 20, "jaquad": 6, "jaquad-q": 40}
	count := map[string]int{}
	for _, s := range srcs {
		count[s]++
	}
	var sample, differ, edge []fixtureCase
	taken := map[string]int{}
	seen := map[string]int{}
	const maxDiffer = 120
	for i, s := range sents {
		src := srcs[i]
		c := fixtureCase{Text: s, Source: src}
		for _, w := range ref[i] {
			c.Words = append(c.Words, s[w[0]:w[1]])
		}
		seen[src]++
		switch {
		case src == "edge":
			edge = append(edge, c)
		case want[src] > 0 && taken[src] < want[src] && (seen[src]-1)%(count[src]/want[src]) == 0:
			taken[src]++
			sample = append(sample, c)
		case len(differ) < maxDiffer && len(s) < 400 && !sameSpans(ref[i], other[i]) && seen[src]%7 == 0:
			differ = append(differ, c)
		}
	}
	for name, cases := range map[string][]fixtureCase{"sample": sample, "unidic31_differs": differ, "edge_cases": edge} {
		var b strings.Builder
		for _, c := range cases {
			line, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(line)
			b.WriteByte('\n')
		}
		path := filepath.Join("testdata/mecab/split", name+".jsonl")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d cases to %s", len(cases), path)
	}
}

func sameSpans(a, b [][2]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
