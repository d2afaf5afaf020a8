package embed

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/pooling"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// latentDir copies the model fixture dir into a temporary directory whose
// pooling module is a latent attention (config c, NV-Embed's
// initialization from seed), followed by Normalize when normalize.
func latentDir(t *testing.T, dir string, c pooling.LatentConfig, normalize bool) (string, *pooling.LatentAttention) {
	t.Helper()
	tmp := t.TempDir()
	copyDir(t, dir, tmp)
	os.RemoveAll(filepath.Join(tmp, "1_Pooling"))
	la, err := pooling.NewLatentAttention(kernels.NewCPU(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := la.Params.Init(5); err != nil {
		t.Fatal(err)
	}
	if err := la.Save(filepath.Join(tmp, "1_LatentAttention")); err != nil {
		t.Fatal(err)
	}
	modules := `[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},` +
		`{"idx":1,"name":"1","path":"1_LatentAttention","type":"` + pooling.LatentModuleType + `"}`
	if normalize {
		modules += `,{"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}`
	}
	if err := os.WriteFile(filepath.Join(tmp, "modules.json"), []byte(modules+"]"), 0o644); err != nil {
		t.Fatal(err)
	}
	return tmp, la
}

// TestLatentModule loads model directories whose pooling is a latent
// attention and checks Encode against the module run on the fixture's
// reference hidden states (last_hidden_state from transformers), with
// the instruction left out of the mean as NV-Embed does.
func TestLatentModule(t *testing.T) {
	for _, dir := range golden.Dirs(t, "models", "expected.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			fx := readFixture(t, dir)
			f, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			lhsT, _ := f.Tensor("last_hidden_state")
			maskT, _ := f.Tensor("attention_mask")
			H := lhsT.Shape[2]
			lhs := make([]float32, lhsT.NumElements())
			mask64 := make([]int64, maskT.NumElements())
			if err := lhsT.Float32s(lhs); err != nil {
				t.Fatal(err)
			}
			if err := maskT.Int64s(mask64); err != nil {
				t.Fatal(err)
			}
			f.Close()

			c := pooling.LatentConfig{Dim: H, Latents: 16, Heads: 4, HeadDim: H / 4, IncludePrompt: false}
			mdir, la := latentDir(t, dir, c, false)
			m, err := Load(mdir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Dim() != H {
				t.Fatalf("Dim %d, want %d", m.Dim(), H)
			}
			acts, err := la.NewActs(fx.seq)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range fx.rows {
				n := 0
				if r.Prompt != "" {
					if n, err = m.promptLength(r.Prompt, m.MaxSeqLength()); err != nil {
						t.Fatal(err)
					}
				}
				mask := make([]int32, fx.seq)
				for l := range mask {
					mask[l] = int32(mask64[i*fx.seq+l])
				}
				want := make([]float32, H)
				if err := la.Forward(kernels.HostBuf(want), acts, kernels.HostBuf(lhs[i*fx.seq*H:(i+1)*fx.seq*H]), mask, 1, fx.seq, n); err != nil {
					t.Fatal(err)
				}
				got, err := m.Encode(context.Background(), []string{r.Text}, WithPrompt(r.Prompt))
				if err != nil {
					t.Fatal(err)
				}
				// The hidden states agree to 1e-5 (TestGolden); the module
				// carries that through a few LayerNorms.
				if d := golden.MaxDiff(got[0], want); d > 1e-4 {
					t.Errorf("row %d (%q, prompt length %d): differs by %g", i, r.Input, n, d)
				}
			}

			// With a Normalize module after it (or output_normalize), unit vectors.
			for _, viaConfig := range []bool{false, true} {
				c2 := c
				c2.Normalize = viaConfig
				ndir, _ := latentDir(t, dir, c2, !viaConfig)
				nm, err := Load(ndir)
				if err != nil {
					t.Fatal(err)
				}
				vecs, err := nm.Encode(context.Background(), []string{fx.rows[0].Text, "二つ目"})
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range vecs {
					if n := math.Sqrt(float64(kernels.Dot(v, v))); math.Abs(n-1) > 1e-5 {
						t.Errorf("normalized (output_normalize %v): norm %v", viaConfig, n)
					}
				}
				nm.Close()
			}
		})
	}
}

func TestLatentModuleErrors(t *testing.T) {
	dir := golden.Dirs(t, "models", "expected.safetensors")[0]
	// A module for another hidden size.
	bad, _ := latentDir(t, dir, pooling.LatentConfig{Dim: 6, Latents: 2, Heads: 2, HeadDim: 3}, false)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "hidden") {
		t.Errorf("latent attention of width 6: %v", err)
	}
	// Missing weights name the file.
	os.Remove(filepath.Join(bad, "1_LatentAttention", "model.safetensors"))
	if _, err := Load(bad); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "model.safetensors") {
		t.Errorf("no weights: %v", err)
	}
}
