package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/index"
	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// npyBytes builds an NPY file (format version major) holding data.
func npyBytes(major byte, descr, shape string, fortran bool, data []byte) []byte {
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, map[bool]string{true: "True", false: "False"}[fortran], shape)
	pre := 10
	if major > 1 {
		pre = 12
	}
	for (pre+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.WriteByte(major)
	b.WriteByte(0)
	if major == 1 {
		binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
	}
	b.WriteString(hdr)
	b.Write(data)
	return b.Bytes()
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}, args)
	return out.String(), errb.String(), err
}

// TestSearchCLIGolden indexes the golden search corpus from an NPY file,
// searches it with raw float32 queries and checks the JSONL output
// against the reference top-10 ids and scores, for both metrics and both
// storage precisions' ids (float16 is checked only to run).
func TestSearchCLIGolden(t *testing.T) {
	file := golden.Path("search", "search.safetensors")
	f, err := safetensors.Open(file)
	if err != nil {
		t.Fatalf("golden search fixture: %v", err)
	}
	defer f.Close()
	get := func(name string) ([]float32, []int) {
		ts, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if ts.DType.IsInt() {
			v := make([]int64, ts.NumElements())
			if err := ts.Int64s(v); err != nil {
				t.Fatal(err)
			}
			out := make([]float32, len(v))
			for i, a := range v {
				out[i] = float32(a)
			}
			return out, ts.Shape
		}
		v := make([]float32, ts.NumElements())
		if err := ts.Float32s(v); err != nil {
			t.Fatal(err)
		}
		return v, ts.Shape
	}
	x, xs := get("X")
	q, _ := get("Q")
	dir := t.TempDir()
	xPath := filepath.Join(dir, "x.npy")
	os.WriteFile(xPath, npyBytes(1, "<f4", fmt.Sprintf("(%d, %d)", xs[0], xs[1]), false, f32Bytes(x)), 0o644)
	qPath := filepath.Join(dir, "q.f32")
	os.WriteFile(qPath, f32Bytes(q), 0o644)
	ids := make([]string, xs[0])
	for i := range ids {
		ids[i] = fmt.Sprintf("doc%d", i)
	}
	idsPath := filepath.Join(dir, "ids.txt")
	os.WriteFile(idsPath, []byte(strings.Join(ids, "\n")+"\n"), 0o644)

	for _, metric := range []string{"cosine", "ip"} {
		wantIDs, shape := get(metric + "_ids")
		wantScores, _ := get(metric + "_scores")
		k := shape[1]
		idx := filepath.Join(dir, metric+".idx")
		out, _, err := runCLI(t, "", "index", "-vectors", xPath, "-ids", idsPath, "-out", idx, "-metric", metric, "-json")
		if err != nil {
			t.Fatal(err)
		}
		var sum map[string]any
		if err := json.Unmarshal([]byte(out), &sum); err != nil || sum["rows"] != float64(xs[0]) || sum["metric"] != metric {
			t.Fatalf("index -json printed %q (%v)", out, err)
		}
		out, _, err = runCLI(t, "", "search", "-index", idx, "-vectors", qPath, "-dim", fmt.Sprint(xs[1]), "-k", fmt.Sprint(k), "-json", "-batch", "7")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(q)/xs[1] {
			t.Fatalf("%s: %d output lines, want %d", metric, len(lines), len(q)/xs[1])
		}
		for i, line := range lines {
			var r struct {
				Query int `json:"query"`
				Hits  []struct {
					ID    string  `json:"id"`
					Score float64 `json:"score"`
				} `json:"hits"`
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("line %d: %v: %s", i, err, line)
			}
			if r.Query != i || len(r.Hits) != k {
				t.Fatalf("line %d: query %d with %d hits", i, r.Query, len(r.Hits))
			}
			for j, h := range r.Hits {
				want := wantScores[i*k+j]
				if h.ID != fmt.Sprintf("doc%d", int(wantIDs[i*k+j])) || math.Abs(h.Score-float64(want)) > 1e-5*max(1, math.Abs(float64(want))) {
					t.Errorf("%s query %d rank %d: got %s %v, want doc%d %v", metric, i, j, h.ID, h.Score, int(wantIDs[i*k+j]), want)
				}
			}
		}
		// Text output: a header line per query and k hit lines.
		out, _, err = runCLI(t, "", "search", "-index", idx, "-vectors", qPath, "-dim", fmt.Sprint(xs[1]), "-k", "2")
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(out, "\n"); n != 3*len(q)/xs[1] || !strings.HasPrefix(out, "query 0\n   1  ") {
			t.Errorf("text output: %d lines, starts %q", n, out[:min(len(out), 40)])
		}
	}
	// Half precision builds and searches.
	idx := filepath.Join(dir, "f16.idx")
	if _, _, err := runCLI(t, "", "index", "-vectors", xPath, "-out", idx, "-f16"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "", "search", "-index", idx, "-vectors", qPath, "-dim", "48", "-json", "-verify=false"); err != nil {
		t.Fatal(err)
	}
}

func TestSearchCLIErrors(t *testing.T) {
	dir := t.TempDir()
	vec := filepath.Join(dir, "v.npy")
	os.WriteFile(vec, npyBytes(1, "<f4", "(2, 3)", false, f32Bytes([]float32{1, 2, 3, 4, 5, 6})), 0o644)
	idx := filepath.Join(dir, "v.idx")
	if _, _, err := runCLI(t, "", "index", "-vectors", vec, "-out", idx); err != nil {
		t.Fatal(err)
	}
	nan := filepath.Join(dir, "nan.npy")
	os.WriteFile(nan, npyBytes(1, "<f4", "(2, 3)", false, f32Bytes([]float32{1, 2, 3, 4, float32(math.NaN()), 6})), 0o644)
	badIDs := filepath.Join(dir, "ids.txt")
	os.WriteFile(badIDs, []byte("a\n"), 0o644)
	corrupt := filepath.Join(dir, "corrupt.idx")
	raw, _ := os.ReadFile(idx)
	os.WriteFile(corrupt, raw[:len(raw)-1], 0o644)
	q4 := filepath.Join(dir, "q4.f32")
	os.WriteFile(q4, f32Bytes([]float32{1, 2, 3, 4}), 0o644)
	for _, c := range []struct {
		args []string
		want error
		text string
	}{
		{[]string{"index", "-vectors", vec}, nil, "-out is required"},
		{[]string{"index", "-out", idx}, nil, "one of -model and -vectors"},
		{[]string{"index", "-vectors", vec, "-model", "m", "-out", idx}, nil, "one of -model and -vectors"},
		{[]string{"search", "-index", idx}, nil, "one of -model and -vectors"},
		{[]string{"search", "-index", idx, "-vectors", vec, "-in", vec}, nil, "-in goes with -model"},
		{[]string{"index", "-vectors", nan, "-out", idx}, index.ErrNotFinite, "row 1"},
		{[]string{"index", "-vectors", vec, "-ids", badIDs, "-out", idx}, nil, "1 ids"},
		{[]string{"index", "-vectors", vec, "-out", idx, "-metric", "l7"}, nil, "unknown metric"},
		{[]string{"index", "-vectors", vec, "-dim", "4", "-out", idx}, nil, "-dim says 4"},
		{[]string{"index", "-vectors", q4, "-out", idx}, nil, "need -dim"},
		{[]string{"search", "-index", idx, "-vectors", vec, "-k", "0"}, index.ErrK, ""},
		{[]string{"search", "-index", corrupt, "-vectors", vec}, index.ErrCorrupt, corrupt},
		{[]string{"search", "-index", idx, "-vectors", q4, "-dim", "4"}, index.ErrDim, "dimension 4"},
		{[]string{"search", "-index", idx, "-vectors", q4, "-dim", "3"}, nil, "whole number"},
	} {
		_, _, err := runCLI(t, "", c.args...)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%q: err = %v, want %v mentioning %q", c.args, err, c.want, c.text)
		}
	}
}

// TestVectorFiles reads every NPY variant the reader accepts and rejects
// the rest with an error naming the file.
func TestVectorFiles(t *testing.T) {
	vals := []float32{1.5, -2, 0.25, 3, 4, -0.5}
	f64 := make([]byte, 8*len(vals))
	f16 := make([]byte, 2*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(f64[8*i:], math.Float64bits(float64(v)))
	}
	for i, h := range []uint16{0x3e00, 0xc000, 0x3400, 0x4200, 0x4400, 0xb800} {
		binary.LittleEndian.PutUint16(f16[2*i:], h)
	}
	for _, c := range []struct {
		name string
		data []byte
		dim  int
		rows int
		err  string
	}{
		{"v1 f4", npyBytes(1, "<f4", "(2, 3)", false, f32Bytes(vals)), 0, 2, ""},
		{"v2 f4", npyBytes(2, "<f4", "(3, 2)", false, f32Bytes(vals)), 0, 3, ""},
		{"v3 f8", npyBytes(3, "<f8", "(2, 3)", false, f64), 3, 2, ""},
		{"f2", npyBytes(1, "<f2", "(2, 3)", false, f16), 0, 2, ""},
		{"1-D", npyBytes(1, "<f4", "(6,)", false, f32Bytes(vals)), 0, 1, ""},
		{"raw", f32Bytes(vals), 2, 3, ""},
		{"raw no dim", f32Bytes(vals), 0, 0, "need -dim"},
		{"raw bad dim", f32Bytes(vals), 4, 0, "whole number"},
		{"fortran", npyBytes(1, "<f4", "(2, 3)", true, f32Bytes(vals)), 0, 0, "C order"},
		{"int", npyBytes(1, "<i4", "(2, 3)", false, f32Bytes(vals)), 0, 0, "dtype"},
		{"big-endian", npyBytes(1, ">f4", "(2, 3)", false, f32Bytes(vals)), 0, 0, "dtype"},
		{"3-D", npyBytes(1, "<f4", "(1, 2, 3)", false, f32Bytes(vals)), 0, 0, "shape"},
		{"truncated", npyBytes(1, "<f4", "(2, 3)", false, f32Bytes(vals[:5])), 0, 0, "truncated"},
		{"dim 0", npyBytes(1, "<f4", "(2, 0)", false, nil), 0, 0, "dimension 0"},
		{"version 9", append([]byte(npyMagic+"\x09\x00"), make([]byte, 20)...), 0, 0, "version 9"},
	} {
		v, err := newVectorFile(bytes.NewReader(c.data), int64(len(c.data)), c.name, c.dim)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), c.name) && !strings.Contains(c.err, "dim") {
				t.Errorf("%s: err = %v, want one mentioning %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got, err := v.all()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if v.rows != c.rows || len(got) != len(vals) {
			t.Errorf("%s: %d rows, %d values", c.name, v.rows, len(got))
			continue
		}
		for i := range vals {
			if got[i] != vals[i] {
				t.Errorf("%s: value %d = %v, want %v", c.name, i, got[i], vals[i])
			}
		}
	}
}

// FuzzVectorFile: the vectors reader returns rows or an error, never
// panics, for any file.
func FuzzVectorFile(f *testing.F) {
	f.Add(npyBytes(1, "<f4", "(2, 3)", false, make([]byte, 24)), 0)
	f.Add(npyBytes(2, "<f2", "(3,)", false, make([]byte, 6)), 3)
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'shape': (1,2)}"), 2)
	f.Fuzz(func(t *testing.T, data []byte, dim int) {
		v, err := newVectorFile(bytes.NewReader(data), int64(len(data)), "fuzz", dim%100)
		if err != nil {
			return
		}
		if v.rows*v.dim > 1<<20 {
			return
		}
		got, err := v.all()
		if err == nil && len(got) != v.rows*v.dim {
			t.Fatalf("read %d values of %d×%d", len(got), v.rows, v.dim)
		}
	})
}

func TestBenchSearchCLI(t *testing.T) {
	for _, q := range []string{"1", "9"} {
		out, _, err := runCLI(t, "", "bench", "search", "-n", "3000", "-dim", "24", "-queries", q, "-k", "5", "-threads", "2", "-json")
		if err != nil {
			t.Fatal(err)
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		for _, key := range []string{"n", "dim", "queries", "k", "threads", "seconds", "qps"} {
			if _, ok := r[key]; !ok {
				t.Errorf("bench search -json: no %q in %s", key, out)
			}
		}
		if r["n"] != 3000.0 || r["threads"] != 2.0 || r["qps"].(float64) <= 0 {
			t.Errorf("bench search -json: %s", out)
		}
	}
}

// TestSearchCLIModel indexes the texts of every golden model fixture with
// the model itself (JSONL with ids from stdin-free -in), then searches
// them with the same texts as queries (stdin, plain lines): each text
// finds itself first at cosine 1. The same vectors from embed.Encode,
// indexed with -vectors, give the same hits.
func TestSearchCLIModel(t *testing.T) {
	for _, dir := range golden.Dirs(t, "models", "texts.json") {
		raw, err := os.ReadFile(filepath.Join(dir, "texts.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cases []struct{ Text string }
		if err := json.Unmarshal(raw, &cases); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		var texts []string
		for _, c := range cases {
			if !seen[c.Text] && !strings.Contains(c.Text, "\n") {
				seen[c.Text] = true
				texts = append(texts, c.Text)
			}
		}
		tmp := t.TempDir()
		var corpus strings.Builder
		for i, text := range texts {
			b, _ := json.Marshal(map[string]any{"_id": fmt.Sprintf("doc-%d", i), "text": text})
			corpus.Write(b)
			corpus.WriteByte('\n')
		}
		corpusPath := filepath.Join(tmp, "corpus.jsonl")
		os.WriteFile(corpusPath, []byte(corpus.String()), 0o644)
		idx := filepath.Join(tmp, "m.idx")
		if _, _, err := runCLI(t, "", "index", "-model", dir, "-in", corpusPath, "-out", idx, "-q"); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		queries := strings.Join(texts, "\n") + "\n"
		out, _, err := runCLI(t, queries, "search", "-index", idx, "-model", dir, "-k", "3", "-json", "-q")
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			Query any
			Hits  []struct {
				ID    string
				Score float64
			}
		}
		parse := func(out string) []result {
			var rs []result
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var r result
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				rs = append(rs, r)
			}
			return rs
		}
		res := parse(out)
		if len(res) != len(texts) {
			t.Fatalf("%s: %d result lines for %d queries", dir, len(res), len(texts))
		}
		for i, r := range res {
			// A text finds itself at cosine 1, or an earlier text that
			// encodes identically ("" and "   ") tied with it.
			own := fmt.Sprintf("doc-%d", i)
			found := false
			for _, h := range r.Hits {
				found = found || h.ID == own && h.Score == r.Hits[0].Score
			}
			if r.Query != texts[i] || len(r.Hits) != 3 || !found || math.Abs(r.Hits[0].Score-1) > 1e-5 {
				t.Errorf("%s query %d: %+v", filepath.Base(dir), i, r)
			}
		}
		// The same vectors through -vectors: the same ranking.
		m, err := embed.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		vecs, err := m.Encode(context.Background(), texts)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		var flat []float32
		for _, v := range vecs {
			flat = append(flat, v...)
		}
		npy := filepath.Join(tmp, "v.npy")
		os.WriteFile(npy, npyBytes(1, "<f4", fmt.Sprintf("(%d, %d)", len(vecs), len(vecs[0])), false, f32Bytes(flat)), 0o644)
		ids := filepath.Join(tmp, "ids.txt")
		var idLines strings.Builder
		for i := range texts {
			fmt.Fprintf(&idLines, "doc-%d\n", i)
		}
		os.WriteFile(ids, []byte(idLines.String()), 0o644)
		idx2 := filepath.Join(tmp, "v.idx")
		if _, _, err := runCLI(t, "", "index", "-vectors", npy, "-ids", ids, "-out", idx2, "-q"); err != nil {
			t.Fatal(err)
		}
		out2, _, err := runCLI(t, "", "search", "-index", idx2, "-vectors", npy, "-k", "3", "-json", "-q")
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range parse(out2) {
			if r.Query != float64(i) || fmt.Sprint(r.Hits) != fmt.Sprint(res[i].Hits) {
				t.Errorf("%s query %d: -vectors gives %+v, -model %+v", filepath.Base(dir), i, r, res[i])
			}
		}
	}
}

func TestReadDocs(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{"a\nb\n", "0:a 1:b", ""},
		{`{"text":"x","_id":"d1"}` + "\n" + `{"docid":7,"text":"y"}` + "\n" + `{"text":"z"}`, "d1:x 7:y 2:z", ""},
		{`{"text":"x","id":"i","_id":"j"}`, "i:x", ""},
		{`{"text":"x"}` + "\nplain\n", "", "line 2"},
		{`{"text":"x","id":[1]}`, "", `"id" is neither`},
		{"ok\n\xff\n", "", "line 2: invalid UTF-8"},
	} {
		var got []string
		var err error
		for d, e := range readDocs(strings.NewReader(c.in), "corpus") {
			if e != nil {
				err = e
				break
			}
			got = append(got, d.id+":"+d.text)
		}
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "corpus") {
				t.Errorf("%q: err = %v, want one naming corpus and %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != c.want {
			t.Errorf("%q: got %q (%v), want %q", c.in, got, err, c.want)
		}
	}
}
