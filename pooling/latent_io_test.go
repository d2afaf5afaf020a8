package pooling

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/safetensors"
)

func TestLatentSaveLoad(t *testing.T) {
	be := kernels.NewCPU()
	c := LatentConfig{Dim: 8, Latents: 4, Heads: 2, HeadDim: 3, Normalize: true, IncludePrompt: false}
	l, err := NewLatentAttention(be, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Params.Init(1); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "1_LatentAttention")
	if err := l.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := LoadLatentAttention(be, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.LatentConfig != c {
		t.Errorf("config %+v, saved %+v", back.LatentConfig, c)
	}
	if !slices.Equal(back.Params.Arena.Host(), l.Params.Arena.Host()) {
		t.Error("loaded parameters differ from the saved ones")
	}
	// NV-Embed's names in the file.
	f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, name := range []string{"latent_attention_model.latents", "latent_attention_model.cross_attend_blocks.0.fn.to_kv.weight",
		"latent_attention_model.cross_attend_blocks.1.fn.net.2.bias"} {
		if !f.Has(name) {
			t.Errorf("saved file has no %s (has %v)", name, f.Names())
		}
	}

	// The same through an fs.FS, with names lacking the prefix.
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	var ts []safetensors.Tensor
	for _, p := range l.Params.Tensors() {
		ts = append(ts, safetensors.Float32(p.Name, p.Shape, p.Buf.Host()))
	}
	bare := filepath.Join(t.TempDir(), "bare.safetensors")
	if err := safetensors.WriteFile(bare, ts, nil); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(bare)
	fsys := fstest.MapFS{"m/la/config.json": {Data: cfg}, "m/la/model.safetensors": {Data: raw}}
	back, err = LoadLatentAttention(be, fsys, "m/la")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Params.Arena.Host(), l.Params.Arena.Host()) {
		t.Error("parameters loaded from an fs.FS differ")
	}

	// A checkpoint of another size fails and names the tensor.
	c2 := c
	c2.Latents = 5
	other, _ := NewLatentAttention(be, c2)
	rf, _ := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	defer rf.Close()
	if err := other.LoadWeights(rf); !errors.Is(err, ErrShape) {
		t.Errorf("5 latents from a 4-latent checkpoint: %v, want ErrShape", err)
	}
	if _, err := LoadLatentAttention(be, nil, t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty directory: %v, want not-exist", err)
	}
}

func TestParseLatentConfig(t *testing.T) {
	c, err := ParseLatentConfig([]byte(`{"model_type":"latent_attention","hidden_dim":4096,"latent_dim":4096,
		"num_latents_value":512,"num_cross_heads":8,"cross_dim_head":4096,"output_normalize":true}`))
	if err != nil {
		t.Fatal(err)
	}
	// NV-Embed-v2's latent_attention_config.
	want := LatentConfig{Dim: 4096, Latents: 512, Heads: 8, HeadDim: 4096, Normalize: true}
	if c != want {
		t.Errorf("NV-Embed-v2 config: %+v, want %+v", c, want)
	}
	if back, err := ParseLatentConfig(want.JSON()); err != nil || back != want {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	for _, bad := range []string{
		`{`, `{"hidden_dim":8,"latent_dim":16,"num_latents_value":4,"num_cross_heads":2,"cross_dim_head":4}`,
		`{"hidden_dim":8,"num_latents_value":0,"num_cross_heads":2,"cross_dim_head":4}`,
		`{"hidden_dim":8,"num_latents_value":4,"num_cross_heads":-1,"cross_dim_head":4}`,
	} {
		if _, err := ParseLatentConfig([]byte(bad)); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", bad, err)
		}
	}
}

func FuzzParseLatentConfig(f *testing.F) {
	f.Add([]byte(`{"hidden_dim":8,"latent_dim":8,"num_latents_value":4,"num_cross_heads":2,"cross_dim_head":4,"include_prompt":true}`))
	f.Add([]byte(`{"hidden_dim":1e9}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseLatentConfig(b)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v is not ErrConfig", err)
			}
			return
		}
		if c.Validate() != nil {
			t.Fatalf("accepted an invalid config %+v", c)
		}
		if back, err := ParseLatentConfig(c.JSON()); err != nil || back != c {
			t.Fatalf("round trip of %+v: %+v, %v", c, back, err)
		}
	})
}

func TestLatentErrors(t *testing.T) {
	be := kernels.NewCPU()
	c := LatentConfig{Dim: 4, Latents: 2, Heads: 2, HeadDim: 2, IncludePrompt: true}
	if _, err := NewLatentAttention(be, LatentConfig{Dim: 4}); !errors.Is(err, ErrConfig) {
		t.Errorf("no latents: %v, want ErrConfig", err)
	}
	l, _ := NewLatentAttention(be, c)
	a, _ := l.NewActs(6)
	g, _ := l.NewGrads()
	h := kernels.HostBuf(make([]float32, 24))
	out := kernels.HostBuf(make([]float32, 8))
	if err := l.Backward(h, g, a, out, h); err == nil {
		t.Error("Backward before Forward: no error")
	}
	if err := l.Forward(out, a, h, []int32{1, 1, 1, 1}, 2, 4, 0); err == nil {
		t.Error("8 tokens into Acts of 6: no error")
	}
	if err := l.Forward(out, a, h, []int32{1, 1}, 2, 3, 0); err == nil {
		t.Error("short mask: no error")
	}
	if err := l.Forward(out, a, h, []int32{1, 1, 1, 1, 1, 1}, 2, 3, 0); err != nil {
		t.Fatal(err)
	}
	other, _ := NewLatentAttention(be, LatentConfig{Dim: 4, Latents: 3, Heads: 2, HeadDim: 2})
	og, _ := other.NewGrads()
	if err := l.Backward(h, og, a, out, h); err == nil {
		t.Error("gradients of another config: no error")
	}
	oa, _ := other.NewActs(6)
	if err := l.Forward(out, oa, h, []int32{1, 1, 1, 1, 1, 1}, 2, 3, 0); err == nil {
		t.Error("activations of another config: no error")
	}
}
