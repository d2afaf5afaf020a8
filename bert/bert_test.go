package bert

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/safetensors"
)

func fixtureDir(t testing.TB) string {
	return golden.Dirs(t, "models", "model.safetensors")[0]
}

// copyModel copies a fixture's config.json and model.safetensors into a
// temporary directory the test may damage.
func copyModel(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, n := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestLoadErrors(t *testing.T) {
	src := fixtureDir(t)
	be := kernels.NewCPU()

	dir := copyModel(t, src)
	os.Remove(filepath.Join(dir, "model.safetensors"))
	os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), []byte("x"), 0o644)
	if _, err := Load(be, dir); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "pytorch_model.bin") {
		t.Errorf("missing weights: %v", err)
	}

	dir = copyModel(t, src)
	os.Remove(filepath.Join(dir, "config.json"))
	if _, err := Load(be, dir); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("missing config: %v", err)
	}

	dir = copyModel(t, src)
	p := filepath.Join(dir, "model.safetensors")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)/2], 0o644)
	if _, err := Load(be, dir); !errors.Is(err, safetensors.ErrFormat) || !strings.Contains(err.Error(), p) {
		t.Errorf("truncated weights: %v", err)
	}

	dir = copyModel(t, src)
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(strings.Replace(string(cfg), `"model_type": "bert"`, `"model_type": "gpt2"`, 1)), 0o644)
	if _, err := Load(be, dir); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `"gpt2"`) || !strings.Contains(err.Error(), "bert") {
		t.Errorf("unknown model_type: %v", err)
	}

	dir = copyModel(t, src)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(strings.Replace(string(cfg), `"intermediate_size": `, `"intermediate_size": 1`, 1)), 0o644)
	_, err := Load(be, dir)
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "encoder.layer.0.intermediate.dense.weight") {
		t.Errorf("wrong shape: %v", err)
	}
	t.Logf("wrong shape: %v", err)

	dir = copyModel(t, src)
	f, _ := safetensors.Open(filepath.Join(src, "model.safetensors"))
	var ts []safetensors.Tensor
	for _, n := range f.Names() {
		if n != "encoder.layer.1.output.dense.bias" {
			tt, _ := f.Tensor(n)
			ts = append(ts, tt)
		}
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Load(be, dir); !errors.Is(err, safetensors.ErrNotFound) || !strings.Contains(err.Error(), "encoder.layer.1.output.dense.bias") {
		t.Errorf("missing tensor: %v", err)
	}
}

// A BertForMaskedLM checkpoint ("bert." prefix, extra head tensors) loads
// to the same parameters, and so does the directory through LoadFS.
func TestLoadPrefixedAndFS(t *testing.T) {
	src := fixtureDir(t)
	be := kernels.NewCPU()
	ref, err := Load(be, src)
	if err != nil {
		t.Fatal(err)
	}
	dir := copyModel(t, src)
	f, _ := safetensors.Open(filepath.Join(src, "model.safetensors"))
	var ts []safetensors.Tensor
	for _, n := range f.Names() {
		tt, _ := f.Tensor(n)
		tt.Name = "bert." + strings.Replace(n, "LayerNorm.weight", "LayerNorm.gamma", 1)
		ts = append(ts, tt)
	}
	ts = append(ts, safetensors.Float32("cls.predictions.bias", []int{1}, []float32{1}))
	safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), ts, nil)
	f.Close()
	for name, load := range map[string]func() (*Model, error){
		"prefixed": func() (*Model, error) { return Load(be, dir) },
		"fs":       func() (*Model, error) { return LoadFS(be, os.DirFS(filepath.Dir(src)), filepath.Base(src)) },
	} {
		m, err := load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		a, b := ref.Params.Arena.Host(), m.Params.Arena.Host()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: parameter %d differs", name, i)
			}
		}
	}
}

func TestLoadFSMissing(t *testing.T) {
	fsys := fstest.MapFS{"m/config.json": {Data: []byte(`{"model_type":"bert","vocab_size":10,"hidden_size":4,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":8,"max_position_embeddings":8}`)}}
	if _, err := LoadFS(kernels.NewCPU(), fsys, "m"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist", err)
	}
}

func TestForwardInputErrors(t *testing.T) {
	m, err := Load(kernels.NewCPU(), fixtureDir(t))
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.NewActivations(8, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	ok := []int32{101, 7, 8, 102}
	mask := []int32{1, 1, 1, 1}
	if err := m.Forward(a, ok, nil, mask, 1, 4); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func() error{
		"id too big":   func() error { return m.Forward(a, []int32{101, int32(m.Config.VocabSize), 8, 102}, nil, mask, 1, 4) },
		"negative id":  func() error { return m.Forward(a, []int32{-1, 7, 8, 102}, nil, mask, 1, 4) },
		"type id":      func() error { return m.Forward(a, ok, []int32{0, 0, 2, 0}, mask, 1, 4) },
		"short mask":   func() error { return m.Forward(a, ok, nil, mask[:3], 1, 4) },
		"too long":     func() error { return m.Forward(a, append(ok, ok...), nil, append(mask, mask...), 1, 8) },
		"too many":     func() error { return m.Forward(a, ok[:1], nil, mask[:1], 9, 1) },
		"empty":        func() error { return m.Forward(a, nil, nil, nil, 0, 4) },
		"nil acts":     func() error { return m.Forward(nil, ok, nil, mask, 1, 4) },
		"shape vs ids": func() error { return m.Forward(a, ok, nil, mask, 2, 2+1) },
	} {
		if err := f(); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", name, err)
		}
	}
	if _, err := m.NewActivations(1000, m.Config.MaxPositionEmbeddings+1, false); !errors.Is(err, ErrInput) {
		t.Errorf("activations longer than the positions: %v", err)
	}
}

// Inference allocates nothing per token once its Activations exist: what
// a Forward allocates (the thread pool's closures) does not grow with the
// batch.
func TestForwardAllocs(t *testing.T) {
	m, err := Load(kernels.NewCPU(), fixtureDir(t))
	if err != nil {
		t.Fatal(err)
	}
	allocs := func(batch, seq int) float64 {
		a, err := m.NewActivations(batch*seq, seq, false)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int32, batch*seq)
		mask := make([]int32, batch*seq)
		for i := range ids {
			ids[i] = int32(1000 + i)
			if i%seq < seq/2+i/seq {
				mask[i] = 1
			}
		}
		m.Forward(a, ids, nil, mask, batch, seq)
		return testing.AllocsPerRun(5, func() { m.Forward(a, ids, nil, mask, batch, seq) })
	}
	small, large := allocs(2, 8), allocs(8, 64)
	t.Logf("allocations per Forward: %v (2×8 tokens), %v (8×64 tokens)", small, large)
	// A few allocations come and go with the garbage collector emptying
	// the scratch pools; what matters is that 32× the tokens costs nothing.
	if large > small+8 || large > float64(20*m.Config.NumHiddenLayers) {
		t.Errorf("Forward allocates %v times for 2×8 tokens and %v for 8×64", small, large)
	}
}
