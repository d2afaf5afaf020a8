package data

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// root is the repository's datasets directory.
const root = "../datasets"

// The counts below were taken with Python's json module (and, for the
// TSV, by counting rows) over the same files; see datasets/README.md.

func TestJSTSFiles(t *testing.T) {
	for _, tc := range []struct {
		file  string
		n     int
		last  STSPair
		first string
	}{
		{jstsValid, 1457, STSPair{ID: "1456", Sentence1: "湖畔の側の草むらで、３頭の馬が草を食べています。", Sentence2: "湖の側の草むらで、３頭の馬が草を食べています。", Score: 4.2}, "レンガの建物の前を、乳母車を押した女性が歩いています。"},
		{jstsTrain, 12451, STSPair{}, ""},
	} {
		pairs, err := Collect(readFile(filepath.Join(root, tc.file), JSTS))
		if err != nil {
			t.Fatal(err)
		}
		if len(pairs) != tc.n {
			t.Errorf("%s: %d pairs, want %d", tc.file, len(pairs), tc.n)
		}
		for i, p := range pairs {
			if p.Score < 0 || p.Score > 5 || p.Sentence1 == "" || p.Sentence2 == "" {
				t.Fatalf("%s: pair %d = %+v", tc.file, i, p)
			}
		}
		if tc.first != "" && pairs[0].Sentence1 != tc.first {
			t.Errorf("%s: first sentence1 = %q", tc.file, pairs[0].Sentence1)
		}
		if tc.last.ID != "" && pairs[len(pairs)-1] != tc.last {
			t.Errorf("%s: last = %+v, want %+v", tc.file, pairs[len(pairs)-1], tc.last)
		}
	}
}

func TestJNLIFile(t *testing.T) {
	pairs, err := Collect(readFile(filepath.Join(root, "jglue/jnli-v1.3/valid-v1.3.json"), JNLI))
	if err != nil {
		t.Fatal(err)
	}
	count := map[NLILabel]int{}
	for _, p := range pairs {
		count[p.Label]++
	}
	want := map[NLILabel]int{Neutral: 1350, Contradiction: 735, Entailment: 349}
	for l, n := range want {
		if count[l] != n {
			t.Errorf("%v: %d pairs, want %d", l, count[l], n)
		}
	}
	if p := pairs[1]; p.Premise != "キリンが、木の中から首を出しています。" || p.Label != Entailment {
		t.Errorf("pair 1 = %+v", p)
	}
}

// TestSQuADFiles reads JSQuAD and JaQuAD and checks every answer span
// against its context, counting answer_start in code points.
func TestSQuADFiles(t *testing.T) {
	for _, tc := range []struct {
		name       string
		seq        func() []QA
		questions  int
		articles   int
		paragraphs int
		lastID     string
	}{
		{name: "jsquad", questions: 4442, articles: 59, paragraphs: 1145, lastID: "a95156p6q3"},
		{name: "jaquad", questions: 31748, articles: 691, paragraphs: 9713, lastID: "tr-690-09-001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "jaquad" && testing.Short() {
				t.Skip("22 MB; skipped in -short")
			}
			var qas []QA
			var err error
			if tc.name == "jsquad" {
				qas, err = Collect(readFile(filepath.Join(root, jsquadValid), SQuAD))
			} else {
				qas, err = Collect(readGlob(filepath.Join(root, jaquadTrain), "*.json", SQuAD))
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(qas) != tc.questions {
				t.Errorf("%d questions, want %d", len(qas), tc.questions)
			}
			type para struct{ title, context string }
			titles, paras := map[string]bool{}, map[para]bool{}
			for _, qa := range qas {
				titles[qa.Title] = true
				paras[para{qa.Title, qa.Context}] = true
				ctx := []rune(qa.Context)
				for _, a := range qa.Answers {
					end := a.Start + len([]rune(a.Text))
					if a.Start < 0 || end > len(ctx) || string(ctx[a.Start:end]) != a.Text {
						t.Fatalf("question %s: answer %q not at %d", qa.ID, a.Text, a.Start)
					}
				}
			}
			if len(titles) != tc.articles || len(paras) != tc.paragraphs {
				t.Errorf("%d articles, %d paragraphs; want %d, %d", len(titles), len(paras), tc.articles, tc.paragraphs)
			}
			if id := qas[len(qas)-1].ID; id != tc.lastID {
				t.Errorf("last question %s, want %s", id, tc.lastID)
			}
		})
	}
}

func TestJSICKFile(t *testing.T) {
	pairs, err := Collect(readFile(filepath.Join(root, jsickTrain), JSICK))
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 5000 {
		t.Errorf("%d pairs, want 5000", len(pairs))
	}
	first := JSICKPair{ID: "3415", SentenceA: "その男性はそのギターを弾いていて、そのギターのケースを寄付のために開いた状態にしている", SentenceB: "男性はそのギターをギターケースの中に片づけている", Label: Contradiction}
	if pairs[0] != first {
		t.Errorf("first = %+v", pairs[0])
	}
	for _, p := range pairs {
		if p.HasRelatedness {
			t.Fatalf("pair %s has a relatedness score; the published train split has none", p.ID)
		}
	}
	// The STS task must say so rather than evaluate nothing.
	if _, err := LoadSTS(root, "jsick-train"); !errors.Is(err, ErrNoScores) {
		t.Errorf("LoadSTS(jsick-train) error = %v, want ErrNoScores", err)
	}
}

func TestJMTEBDummy(t *testing.T) {
	task, err := LoadRetrieval(root, "jmteb:"+filepath.Join(root, "jmteb-dummy/dummy_retrieval"))
	if err != nil {
		t.Fatal(err)
	}
	if len(task.Queries) != 10 || len(task.Docs) != 10 {
		t.Fatalf("%d queries, %d docs; want 10, 10", len(task.Queries), len(task.Docs))
	}
	q := task.Queries[3]
	if q.ID != "5" || q.Text != "相模原線が開通したのはいつ" || len(q.Relevant) != 1 || q.Relevant[0] != "11152#9" {
		t.Errorf("query 3 = %+v", q)
	}
	if d := task.Docs[1]; d.ID != "11152#9" || d.Title != "京王相模原線" || !strings.HasPrefix(d.Text, "相模原線は、京王電鉄の前身") {
		t.Errorf("doc 1 = %+v", d)
	}
	ids := map[string]bool{}
	for _, d := range task.Docs {
		ids[d.ID] = true
	}
	for _, q := range task.Queries {
		for _, r := range q.Relevant {
			if !ids[r] {
				t.Errorf("query %s: relevant %s not in the corpus", q.ID, r)
			}
		}
	}
	sts, err := LoadSTS(root, "jmteb:"+filepath.Join(root, "jmteb-dummy/dummy_sts"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sts.Pairs) != 50 {
		t.Errorf("%d STS pairs, want 50", len(sts.Pairs))
	}
}

func TestRetrievalFromJSQuAD(t *testing.T) {
	task, err := LoadRetrieval(root, "jsquad-valid")
	if err != nil {
		t.Fatal(err)
	}
	if len(task.Queries) != 4442 || len(task.Docs) != 1145 {
		t.Fatalf("%d queries, %d docs; want 4442, 1145", len(task.Queries), len(task.Docs))
	}
	byID := map[string]Doc{}
	for _, d := range task.Docs {
		if strings.Contains(d.Text, "[SEP]") {
			t.Fatalf("doc %s still holds [SEP]: %.40q", d.ID, d.Text)
		}
		byID[d.ID] = d
	}
	d0 := task.Docs[0]
	if d0.ID != "梅雨#0" || d0.Title != "梅雨" || !strings.HasPrefix(d0.Text, "梅雨（つゆ、ばいう）は") {
		t.Errorf("doc 0 = %+v", d0)
	}
	if q := task.Queries[0]; q.ID != "a10336p0q0" || q.Relevant[0] != "梅雨#0" {
		t.Errorf("query 0 = %+v", q)
	}
	// With titles the text is "title paragraph".
	if got := task.DocTexts(true)[0]; got != "梅雨 "+d0.Text {
		t.Errorf("DocTexts(true)[0] = %.30q", got)
	}
	for _, q := range task.Queries {
		if len(q.Relevant) != 1 {
			t.Fatalf("query %s: %d relevant", q.ID, len(q.Relevant))
		}
		if _, ok := byID[q.Relevant[0]]; !ok {
			t.Fatalf("query %s: relevant %s not in the corpus", q.ID, q.Relevant[0])
		}
	}
}

func TestRetrievalFromQA(t *testing.T) {
	// Two articles with the same title and paragraph index but different
	// text get distinct ids; a repeated paragraph is one document; an
	// impossible question is left out.
	doc := `{"data":[
{"title":"T","paragraphs":[{"context":"T [SEP] one","qas":[{"id":"q1","question":"a?","answers":[]},{"id":"q2","question":"b?","answers":[],"is_impossible":true}]}]},
{"title":"T","paragraphs":[{"context":"two","qas":[{"id":"q3","question":"c?","answers":[]}]}]},
{"title":"T","paragraphs":[{"context":"T [SEP] one","qas":[{"id":"q4","question":"d?","answers":[]}]}]}]}`
	task, err := RetrievalFromQA("x", SQuAD(strings.NewReader(doc), "x.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantDocs := []Doc{{ID: "T#0", Title: "T", Text: "one"}, {ID: "T#0~2", Title: "T", Text: "two"}}
	if len(task.Docs) != 2 || task.Docs[0] != wantDocs[0] || task.Docs[1] != wantDocs[1] {
		t.Errorf("docs = %+v, want %+v", task.Docs, wantDocs)
	}
	var got []string
	for _, q := range task.Queries {
		got = append(got, q.ID+"->"+q.Relevant[0])
	}
	if strings.Join(got, " ") != "q1->T#0 q3->T#0~2 q4->T#0" {
		t.Errorf("queries = %v", got)
	}
}

func TestSplitTitle(t *testing.T) {
	for _, tc := range []struct{ ctx, title, want string }{
		{"梅雨 [SEP] 梅雨（つゆ）は", "梅雨", "梅雨（つゆ）は"},
		{"梅雨（つゆ）は", "梅雨", "梅雨（つゆ）は"},
		{"他 [SEP] 本文", "梅雨", "他 [SEP] 本文"},
		{" [SEP] x", "", " [SEP] x"},
	} {
		if got, _ := SplitTitle(tc.ctx, tc.title); got != tc.want {
			t.Errorf("SplitTitle(%q, %q) = %q, want %q", tc.ctx, tc.title, got, tc.want)
		}
	}
}

// TestErrors checks that bad input names the file and line and wraps
// ErrFormat.
func TestErrors(t *testing.T) {
	sts := func(s string) error { _, err := Collect(JSTS(strings.NewReader(s), "f.jsonl")); return err }
	nli := func(s string) error { _, err := Collect(JNLI(strings.NewReader(s), "f.jsonl")); return err }
	qs := func(s string) error { _, err := Collect(JMTEBQueries(strings.NewReader(s), "f.jsonl")); return err }
	docs := func(s string) error { _, err := Collect(JMTEBCorpus(strings.NewReader(s), "f.jsonl")); return err }
	squad := func(s string) error { _, err := Collect(SQuAD(strings.NewReader(s), "f.json")); return err }
	jsick := func(s string) error { _, err := Collect(JSICK(strings.NewReader(s), "f.tsv")); return err }
	const okSTS = `{"sentence1":"a","sentence2":"b","label":1}` + "\n"
	const hdr = "pair_ID\tsentence_A_Ja\tsentence_B_Ja\tentailment_label_Ja\trelatedness_score_Ja\n"
	for _, tc := range []struct {
		name string
		err  error
		line int
		msg  string
	}{
		{"sts label string", sts(okSTS + `{"sentence1":"a","sentence2":"b","label":"x"}`), 2, `"label"`},
		{"sts no sentence2", sts(okSTS + "\n" + `{"sentence1":"a","label":1}`), 3, "sentence2"},
		{"sts not object", sts(`[1,2]`), 1, "not a JSON object"},
		{"sts bad json", sts(okSTS + `{"sentence1":`), 2, "unexpected end"},
		{"sts invalid utf8", sts(okSTS + "{\"sentence1\":\"\xff\",\"sentence2\":\"b\",\"label\":1}"), 2, "invalid UTF-8"},
		{"sts trailing", sts(`{"sentence1":"a","sentence2":"b","label":1} x`), 1, "invalid character"},
		{"nli label", nli(`{"sentence1":"a","sentence2":"b","label":"maybe"}`), 1, `"maybe"`},
		{"query no text", qs(`{"qid":"1","answer":["d"]}`), 1, "query"},
		{"query bad rel", qs(`{"query":"q","relevant_docs":[{"a":1}]}`), 1, "relevant_docs"},
		{"doc no id", docs(`{"text":"t"}`), 1, "docid"},
		{"squad not object", squad(`[]`), 1, "SQuAD JSON object"},
		{"squad no data", squad(`{"version":"1"}`), 1, `no "data"`},
		{"squad no title", squad("{\"data\":[\n{\"paragraphs\":[]}]}"), 2, `"title"`},
		{"squad bad type", squad("{\"data\":[\n{\"title\":\"t\",\n\"paragraphs\":[{\"context\":5}]}]}"), 3, `context`},
		{"squad syntax", squad("{\"data\":[\n{\"title\":\"t\",\n\"paragraphs\":[}]}"), 3, "invalid character"},
		{"squad truncated", squad("{\"data\":[\n{\"title\":\"t\","), 2, "unexpected end"},
		{"squad utf8", squad("{\"data\":[\n\n{\"title\":\"\xc3\"}]}"), 3, "invalid UTF-8"},
		{"squad trailing", squad("{\"data\":[]}\n{}"), 2, "after the SQuAD object"},
		{"squad no question", squad("{\"data\":[{\"title\":\"t\",\"paragraphs\":[{\"context\":\"c\",\"qas\":[{\"id\":\"1\"}]}]}]}"), 1, `"question"`},
		{"jsick header", jsick("a\tb\n"), 1, "pair_ID"},
		{"jsick fields", jsick(hdr + "1\ta\tb\tneutral\t\n2\ta\tb\n"), 3, "3 tab-separated fields"},
		{"jsick label", jsick(hdr + "1\ta\tb\tyes\t\n"), 2, `"yes"`},
		{"jsick score", jsick(hdr + "1\ta\tb\tneutral\tNaN\n"), 2, "not a number"},
		{"jsick empty", jsick(""), 1, "pair_ID"},
	} {
		var e *Error
		switch {
		case tc.err == nil:
			t.Errorf("%s: no error", tc.name)
		case !errors.As(tc.err, &e) || !errors.Is(tc.err, ErrFormat):
			t.Errorf("%s: %v is not a *data.Error wrapping ErrFormat", tc.name, tc.err)
		case e.Line != tc.line || !strings.Contains(tc.err.Error(), tc.msg) || !strings.HasPrefix(tc.err.Error(), e.File+":"):
			t.Errorf("%s: %q; want line %d mentioning %s", tc.name, tc.err, tc.line, tc.msg)
		}
	}
}

func TestJMTEBForms(t *testing.T) {
	in := `{"qid":1,"query":"q","relevant_docs":7}
{"question":"r","answer":["a",2]}
`
	qs, err := Collect(JMTEBQueries(strings.NewReader(in), "q.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if qs[0].ID != "1" || qs[0].Text != "q" || strings.Join(qs[0].Relevant, ",") != "7" ||
		qs[1].ID != "" || qs[1].Text != "r" || strings.Join(qs[1].Relevant, ",") != "a,2" {
		t.Errorf("queries = %+v", qs)
	}
	docs, err := Collect(JMTEBCorpus(strings.NewReader(`{"docid":3,"text":" \u3000本文\n\u001f"}`), "c.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if docs[0].ID != "3" || docs[0].Text != "本文" {
		t.Errorf("doc = %+v", docs[0])
	}
}

// TestStreaming checks that a SQuAD file is decoded article by article:
// breaking out early must not read the rest.
func TestStreaming(t *testing.T) {
	r := &countingReader{r: strings.NewReader(`{"data":[{"title":"a","paragraphs":[{"context":"c","qas":[{"id":"1","question":"q","answers":[]}]}]},` +
		strings.Repeat(`{"title":"b","paragraphs":[]},`, 20000) + `{"title":"z","paragraphs":[]}]}`)}
	for qa, err := range SQuAD(r, "big.json") {
		if err != nil || qa.ID != "1" {
			t.Fatal(qa, err)
		}
		break
	}
	if r.n > 64<<10 {
		t.Errorf("read %d bytes to yield the first question", r.n)
	}
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestOpenGlob(t *testing.T) {
	fsys := fstest.MapFS{
		"b.jsonl": {Data: []byte(`{"sentence1":"b","sentence2":"b","label":2}`)},
		"a.jsonl": {Data: []byte(`{"sentence1":"a","sentence2":"a","label":1}`)},
		"c.jsonl": {Data: []byte(`{"sentence1":"c"}`)},
	}
	pairs, err := Collect(Glob(fsys, "[ab].jsonl", JSTS))
	if err != nil || len(pairs) != 2 || pairs[0].Sentence1 != "a" || pairs[1].Sentence1 != "b" {
		t.Errorf("Glob = %+v, %v", pairs, err)
	}
	if _, err := Collect(Open(fsys, "c.jsonl", JSTS)); err == nil || !strings.HasPrefix(err.Error(), "c.jsonl:1:") {
		t.Errorf("Open(c.jsonl) error = %v", err)
	}
	if _, err := Collect(Open(fsys, "nope.jsonl", JSTS)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(nope) error = %v", err)
	}
	if _, err := Collect(Glob(fsys, "*.tsv", JSTS)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Glob(*.tsv) error = %v", err)
	}
}

func TestUnknownTask(t *testing.T) {
	if _, err := LoadRetrieval(root, "msmarco"); !errors.Is(err, ErrUnknownTask) || !strings.Contains(err.Error(), "jsquad-valid") {
		t.Errorf("LoadRetrieval(msmarco) = %v", err)
	}
	if _, err := LoadSTS(root, "jsquad-valid"); !errors.Is(err, ErrUnknownTask) {
		t.Errorf("LoadSTS(jsquad-valid) = %v", err)
	}
	if _, err := LoadRetrieval(root, "jmteb:"+filepath.Join(root, "jmteb-dummy")); err == nil {
		t.Error("jmteb: on a directory without corpus.jsonl: no error")
	}
}
