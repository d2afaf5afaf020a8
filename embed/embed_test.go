package embed

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/safetensors"
	"github.com/kotodama-ai/kotodama/tokenizer"
)

// tolerance is the model fixtures' README's for float32 implementations.
const tolerance = 1e-5

type row struct {
	Text       string  `json:"text"`
	PromptName *string `json:"prompt_name"`
	Prompt     string  `json:"prompt"`
	Input      string  `json:"input"`
	NumTokens  int     `json:"num_tokens"`
	Truncated  bool    `json:"truncated"`
}

type fixture struct {
	dir       string
	rows      []row
	ids       []int64
	seq       int
	embedding []float32
	pooled    map[string][]float32
}

func readFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	fx := &fixture{dir: dir, pooled: map[string][]float32{}}
	b, err := os.ReadFile(filepath.Join(dir, "texts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx.rows); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids, err := f.Tensor("input_ids")
	if err != nil {
		t.Fatal(err)
	}
	fx.seq = ids.Shape[1]
	fx.ids = make([]int64, ids.NumElements())
	if err := ids.Int64s(fx.ids); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"embedding", "pooled_mean"} {
		tt, err := f.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float32, tt.NumElements())
		if err := tt.Float32s(v); err != nil {
			t.Fatal(err)
		}
		fx.pooled[n] = v
	}
	fx.embedding = fx.pooled["embedding"]
	return fx
}

func promptName(r row) string {
	if r.PromptName == nil {
		return ""
	}
	return *r.PromptName
}

// encodeRows encodes the fixture's rows as sentence-transformers did:
// grouped by prompt name, each group with its prompt.
func encodeRows(t *testing.T, m *Model, rows []row, opts ...EncodeOption) [][]float32 {
	t.Helper()
	groups := map[string][]int{}
	for i, r := range rows {
		groups[promptName(r)] = append(groups[promptName(r)], i)
	}
	out := make([][]float32, len(rows))
	for name, idx := range groups {
		texts := make([]string, len(idx))
		for j, i := range idx {
			texts[j] = rows[i].Text
		}
		o := opts
		if name != "" {
			o = append(o[:len(o):len(o)], WithPromptName(name))
		}
		vecs, err := m.Encode(context.Background(), texts, o...)
		if err != nil {
			t.Fatal(err)
		}
		for j, i := range idx {
			out[i] = vecs[j]
		}
	}
	return out
}

// TestGolden checks, for every model fixture, the token ids of every row
// (prompt, strip and truncation included) and the final embedding.
func TestGolden(t *testing.T) {
	for _, dir := range golden.Dirs(t, "models", "expected.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			fx := readFixture(t, dir)
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for i, r := range fx.rows {
				prompt := ""
				if n := promptName(r); n != "" {
					prompt = m.prompts[n]
				}
				if prompt != r.Prompt {
					t.Errorf("row %d: prompt %q, fixture %q", i, prompt, r.Prompt)
				}
				seqs, err := m.tokenize(context.Background(), []string{r.Text}, prompt, m.MaxSeqLength())
				if err != nil {
					t.Fatal(err)
				}
				got := seqs[0].ids
				want := fx.ids[i*fx.seq : i*fx.seq+r.NumTokens]
				same := len(got) == len(want)
				for j := 0; same && j < len(got); j++ {
					same = int64(got[j]) == want[j]
				}
				if !same {
					t.Errorf("row %d (%q): ids %v, want %v", i, r.Input, got, want)
				}
			}
			vecs := encodeRows(t, m, fx.rows)
			D := m.Dim()
			worst := 0.0
			for i, v := range vecs {
				d := golden.MaxDiff(v, fx.embedding[i*D:(i+1)*D])
				worst = max(worst, d)
				if d > tolerance {
					t.Errorf("row %d (%q): embedding max |diff| %g", i, fx.rows[i].Input, d)
				}
			}
			t.Logf("embedding: max |diff| %.3g over %d rows", worst, len(vecs))
		})
	}
}

// Concurrent Encode calls, with different batch sizes, give the serial
// results (run with -race).
func TestConcurrentEncode(t *testing.T) {
	for _, dir := range golden.Dirs(t, "models", "expected.safetensors") {
		fx := readFixture(t, dir)
		m, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := encodeRows(t, m, fx.rows)
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got := encodeRows(t, m, fx.rows, WithBatchSize(1+g*3))
				for i := range got {
					if d := golden.MaxDiff(got[i], want[i]); d > 1e-6 {
						t.Errorf("%s goroutine %d row %d: differs from serial by %g", filepath.Base(dir), g, i, d)
						return
					}
				}
			}()
		}
		wg.Wait()
		m.Close()
	}
}

func TestEncodeOptions(t *testing.T) {
	dir := golden.Dirs(t, "models", "expected.safetensors")[0]
	fx := readFixture(t, dir)
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	texts := []string{fx.rows[0].Text, fx.rows[1].Text, fx.rows[5].Text}
	full, err := m.Encode(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}

	// truncate_dim cuts the model's vector; normalize then rescales it.
	cut, err := m.Encode(ctx, texts, WithTruncateDim(8), WithNormalize())
	if err != nil {
		t.Fatal(err)
	}
	for i := range texts {
		var ss float64
		for _, x := range full[i][:8] {
			ss += float64(x) * float64(x)
		}
		for j, x := range cut[i] {
			if w := full[i][j] / float32(math.Sqrt(ss)); math.Abs(float64(x-w)) > 1e-6 || len(cut[i]) != 8 {
				t.Fatalf("truncate+normalize: %v, want the first 8 of %v normalized", cut[i], full[i])
			}
		}
	}

	// Empty input: empty result.
	if v, err := m.Encode(ctx, nil); err != nil || v == nil || len(v) != 0 {
		t.Errorf("empty input: %v, %v", v, err)
	}
	// A short max length truncates, keeping [SEP]: the result changes.
	short, err := m.Encode(ctx, texts[2:], WithMaxLength(4))
	if err != nil || golden.MaxDiff(short[0], full[2]) < 1e-3 {
		t.Errorf("max length 4: %v (diff %g)", err, golden.MaxDiff(short[0], full[2]))
	}
	for name, opts := range map[string][]EncodeOption{
		"unknown prompt": {WithPromptName("nope")},
		"batch size":     {WithBatchSize(0)},
		"max length":     {WithMaxLength(1 << 20)},
		"truncate dim":   {WithTruncateDim(m.Dim() + 1)},
	} {
		if _, err := m.Encode(ctx, texts, opts...); err == nil {
			t.Errorf("%s: no error", name)
		} else if name == "unknown prompt" && !errors.Is(err, ErrUnknownPrompt) {
			t.Errorf("unknown prompt: %v", err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Encode(cctx, texts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	m.Close()
	if _, err := m.Encode(ctx, texts); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// copyDir copies a fixture directory (files and one level of
// sub-directories) so a test can change it.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dst, 0o755)
	for _, e := range ents {
		if e.IsDir() {
			copyDir(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
}

// A plain Hugging Face directory (no modules.json) runs as
// sentence-transformers runs one: mean pooling, no normalization.
func TestPlainHFDirectory(t *testing.T) {
	for _, dir := range golden.Dirs(t, "models", "expected.safetensors") {
		fx := readFixture(t, dir)
		plain := t.TempDir()
		copyDir(t, dir, plain)
		for _, n := range []string{"modules.json", "1_Pooling", "sentence_bert_config.json", "config_sentence_transformers.json"} {
			os.RemoveAll(filepath.Join(plain, n))
		}
		m, err := Load(plain)
		if err != nil {
			t.Fatal(err)
		}
		var rows []row
		var want []float32
		D := m.Dim()
		for i, r := range fx.rows {
			if r.Prompt == "" {
				rows = append(rows, r)
				want = append(want, fx.pooled["pooled_mean"][i*D:(i+1)*D]...)
			}
		}
		got := encodeRows(t, m, rows)
		for i := range got {
			if d := golden.MaxDiff(got[i], want[i*D:(i+1)*D]); d > tolerance {
				t.Errorf("%s row %q: mean pooling differs by %g", filepath.Base(dir), rows[i].Input, d)
			}
		}
		m.Close()
	}
}

func TestLoadErrors(t *testing.T) {
	dir := golden.Dirs(t, "models", "expected.safetensors")[0]
	if _, err := Load(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing directory: %v", err)
	}
	if _, err := Load("org/missing-model", WithHFCache(t.TempDir())); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "org/missing-model") {
		t.Errorf("missing cache entry: %v", err)
	}
	bad := t.TempDir()
	copyDir(t, dir, bad)
	os.WriteFile(filepath.Join(bad, "modules.json"), []byte(`[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"2_Dense","type":"sentence_transformers.models.Dense"}]`), 0o644)
	if _, err := Load(bad); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "Dense") || !strings.Contains(err.Error(), "models.Pooling") {
		t.Errorf("unsupported module: %v", err)
	}
	copyDir(t, dir, bad)
	cfg, _ := os.ReadFile(filepath.Join(bad, "config.json"))
	os.WriteFile(filepath.Join(bad, "config.json"), []byte(strings.Replace(string(cfg), `"model_type": "bert"`, `"model_type": "xlm-roberta"`, 1)), 0o644)
	if _, err := Load(bad); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "xlm-roberta") {
		t.Errorf("unknown model_type: %v", err)
	}
}

// A name that is not a directory resolves through the Hugging Face cache
// layout: models--org--name/snapshots/<commit>, refs/main naming it.
func TestHFCache(t *testing.T) {
	dir := golden.Dirs(t, "models", "expected.safetensors")[0]
	cache := t.TempDir()
	repo := filepath.Join(cache, "models--kotodama--tiny")
	copyDir(t, dir, filepath.Join(repo, "snapshots", "0123abcd"))
	os.MkdirAll(filepath.Join(repo, "snapshots", "ffff0000"), 0o755) // an older, empty snapshot
	os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte("0123abcd\n"), 0o644)
	m, err := Load("kotodama/tiny", WithHFCache(cache))
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HUGGINGFACE_HUB_CACHE", "")
	t.Setenv("HF_HOME", filepath.Dir(cache))
	os.Rename(cache, filepath.Join(filepath.Dir(cache), "hub"))
	m, err = Load("kotodama/tiny")
	if err != nil {
		t.Fatalf("through $HF_HOME: %v", err)
	}
	m.Close()
}

func TestPyStrip(t *testing.T) {
	for in, want := range map[string]string{
		"  a b \t\n":            "a b",
		"\u3000全角\u3000":        "全角",
		"\x1c\x1fx\u0085\u00a0": "x",
		"\u200bx":               "\u200bx", // zero-width space is not white space in Python
	} {
		if got := pyStrip(in); got != want {
			t.Errorf("pyStrip(%q) = %q, want %q", in, got, want)
		}
	}
	if got := pyLower("İSTANBUL Ünï"); got != "i\u0307stanbul ünï" {
		t.Errorf("pyLower = %q", got)
	}
}

// With include_prompt false, the pooling leaves out the positions
// sentence-transformers attributes to the prompt: the prompt tokenized
// alone, less its trailing [SEP] ([CLS] included). Checked on the
// fixture rows that carry a prompt, against mean pooling of the fixture's
// reference hidden states with those positions masked.
func TestIncludePromptFalse(t *testing.T) {
	for _, dir := range golden.Dirs(t, "models", "expected.safetensors") {
		fx := readFixture(t, dir)
		var prompted []int
		for i, r := range fx.rows {
			if r.Prompt != "" {
				prompted = append(prompted, i)
			}
		}
		if len(prompted) == 0 {
			continue
		}
		tmp := t.TempDir()
		copyDir(t, dir, tmp)
		f, _ := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
		lhsT, _ := f.Tensor("last_hidden_state")
		maskT, _ := f.Tensor("attention_mask")
		H := lhsT.Shape[2]
		lhs := make([]float32, lhsT.NumElements())
		lhsT.Float32s(lhs)
		mask := make([]int64, maskT.NumElements())
		maskT.Int64s(mask)
		f.Close()
		os.WriteFile(filepath.Join(tmp, "1_Pooling", "config.json"), []byte(`{"word_embedding_dimension": `+strconv.Itoa(H)+`, "pooling_mode_mean_tokens": true, "include_prompt": false}`), 0o644)
		os.WriteFile(filepath.Join(tmp, "modules.json"), []byte(`[{"path":"","type":"sentence_transformers.models.Transformer"},{"path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]`), 0o644)
		m, err := Load(tmp)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range prompted {
			r := fx.rows[i]
			n, err := m.promptLength(r.Prompt, m.MaxSeqLength())
			if err != nil {
				t.Fatal(err)
			}
			// The prompt's tokens lead the row's ids.
			pre, _ := m.tokenize(context.Background(), []string{""}, r.Prompt, m.MaxSeqLength())
			for j := range n {
				if int64(pre[0].ids[j]) != fx.ids[i*fx.seq+j] {
					t.Fatalf("row %d: prompt ids %v are not a prefix of the row's", i, pre[0].ids[:n])
				}
			}
			want := make([]float64, H)
			var cnt float64
			for l := n; l < fx.seq; l++ {
				if mask[i*fx.seq+l] == 0 {
					continue
				}
				cnt++
				for c := range H {
					want[c] += float64(lhs[(i*fx.seq+l)*H+c])
				}
			}
			got, err := m.Encode(context.Background(), []string{r.Text}, WithPrompt(r.Prompt))
			if err != nil {
				t.Fatal(err)
			}
			for c := range H {
				if d := math.Abs(float64(got[0][c]) - want[c]/max(cnt, 1e-9)); d > tolerance {
					t.Fatalf("row %d (prompt length %d): dimension %d differs by %g", i, n, c, d)
				}
			}
		}
		m.Close()
	}
}

// Invalid UTF-8 is the tokenizer's ErrInvalidUTF8, naming the text.
func TestInvalidUTF8(t *testing.T) {
	m, err := Load(golden.Dirs(t, "models", "expected.safetensors")[0])
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = m.Encode(context.Background(), []string{"ok", "bad \xff byte"})
	if !errors.Is(err, tokenizer.ErrInvalidUTF8) || !strings.Contains(err.Error(), "text 1") {
		t.Errorf("err = %v", err)
	}
}

// LoadFS reads the same model from an fs.FS (weights read, not mapped).
func TestLoadFS(t *testing.T) {
	dir := golden.Dirs(t, "models", "expected.safetensors")[0]
	m1, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m1.Close()
	m2, err := LoadFS(os.DirFS(filepath.Dir(dir)), filepath.Base(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	texts := []string{"東京", "The quick brown fox"}
	a, err := m1.Encode(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m2.Encode(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if d := golden.MaxDiff(a[i], b[i]); d != 0 {
			t.Errorf("text %d: LoadFS result differs by %g", i, d)
		}
	}
	if _, err := LoadFS(os.DirFS(t.TempDir()), "none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing directory: %v", err)
	}
}
