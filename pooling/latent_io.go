package pooling

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/kotodama-ai/kotodama/internal/atomicfile"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// A latent-attention module of a model directory is a folder (listed in
// modules.json with type LatentModuleType, in place of the Pooling
// module) holding two files:
//
//	config.json        NV-Embed's LatentAttentionConfig keys, plus include_prompt:
//	                   {"model_type": "latent_attention", "hidden_dim": 768,
//	                    "latent_dim": 768, "num_latents_value": 512,
//	                    "num_cross_heads": 8, "cross_dim_head": 96,
//	                    "output_normalize": false, "include_prompt": false}
//	model.safetensors  the parameters under NV-Embed's names with
//	                   LatentPrefix ("latent_attention_model.latents", …), F32

// LatentModuleType is the modules.json type of a latent-attention module.
const LatentModuleType = "kotodama.models.LatentAttention"

// latentJSON is the module's config.json.
type latentJSON struct {
	ModelType       string `json:"model_type,omitempty"`
	HiddenDim       int    `json:"hidden_dim"`
	LatentDim       int    `json:"latent_dim"`
	NumLatents      int    `json:"num_latents_value"`
	NumCrossHeads   int    `json:"num_cross_heads"`
	CrossDimHead    int    `json:"cross_dim_head"`
	OutputNormalize bool   `json:"output_normalize"`
	IncludePrompt   *bool  `json:"include_prompt,omitempty"`
}

// ParseLatentConfig reads a latent-attention config.json: NV-Embed's
// LatentAttentionConfig keys (hidden_dim and latent_dim must agree), and
// include_prompt, false when absent (NV-Embed leaves the instruction out
// of the mean).
func ParseLatentConfig(b []byte) (LatentConfig, error) {
	var j latentJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return LatentConfig{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if j.LatentDim != 0 && j.LatentDim != j.HiddenDim {
		return LatentConfig{}, fmt.Errorf("%w: latent_dim %d differs from hidden_dim %d", ErrConfig, j.LatentDim, j.HiddenDim)
	}
	c := LatentConfig{Dim: j.HiddenDim, Latents: j.NumLatents, Heads: j.NumCrossHeads, HeadDim: j.CrossDimHead,
		Normalize: j.OutputNormalize, IncludePrompt: j.IncludePrompt != nil && *j.IncludePrompt}
	return c, c.Validate()
}

// JSON returns c as a module's config.json.
func (c LatentConfig) JSON() []byte {
	inc := c.IncludePrompt
	b, err := json.MarshalIndent(latentJSON{ModelType: "latent_attention", HiddenDim: c.Dim, LatentDim: c.Dim,
		NumLatents: c.Latents, NumCrossHeads: c.Heads, CrossDimHead: c.HeadDim,
		OutputNormalize: c.Normalize, IncludePrompt: &inc}, "", "  ")
	if err != nil {
		panic(err) // plain struct of ints and bools
	}
	return append(b, '\n')
}

// ErrShape means a checkpoint tensor does not have the shape the config
// implies.
var ErrShape = errors.New("pooling: tensor shape mismatch")

// LoadWeights copies every parameter from f, converting to float32. Names
// may carry LatentPrefix (NV-Embed's checkpoints and Save) or not.
func (l *LatentAttention) LoadWeights(f *safetensors.File) error {
	prefix := ""
	if !f.Has("latents") && f.Has(LatentPrefix+"latents") {
		prefix = LatentPrefix
	}
	var tmp []float32
	for _, p := range l.Params.Tensors() {
		name := prefix + p.Name
		t, err := f.Tensor(name)
		if err != nil {
			return fmt.Errorf("pooling: latent attention: %w", err)
		}
		if !slices.Equal(t.Shape, p.Shape) {
			return fmt.Errorf("%w: %s is %v in the checkpoint, the config implies %v", ErrShape, name, t.Shape, p.Shape)
		}
		if !t.DType.IsFloat() {
			return fmt.Errorf("pooling: %s: %w: %s", name, safetensors.ErrDType, t.DType)
		}
		if dst := p.Buf.Host(); dst != nil {
			if err := t.Float32s(dst); err != nil {
				return fmt.Errorf("pooling: %w", err)
			}
			continue
		}
		tmp = slices.Grow(tmp[:0], p.Buf.Len())[:p.Buf.Len()]
		if err := t.Float32s(tmp); err != nil {
			return fmt.Errorf("pooling: %w", err)
		}
		if err := l.be.Upload(p.Buf, tmp); err != nil {
			return fmt.Errorf("pooling: uploading %s: %w", name, err)
		}
	}
	return nil
}

// WeightTensors returns the parameters as F32 tensors named as NV-Embed's
// checkpoints name them (LatentPrefix + Tensors name), copied from the
// Backend.
func (l *LatentAttention) WeightTensors() ([]safetensors.Tensor, error) {
	var out []safetensors.Tensor
	for _, p := range l.Params.Tensors() {
		v := make([]float32, p.Buf.Len())
		if err := l.be.Download(v, p.Buf); err != nil {
			return nil, fmt.Errorf("pooling: reading %s: %w", p.Name, err)
		}
		out = append(out, safetensors.Float32(LatentPrefix+p.Name, p.Shape, v))
	}
	return out, nil
}

// Save writes the module into directory dir (created if needed):
// config.json and model.safetensors, each atomically.
func (l *LatentAttention) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pooling: %w", err)
	}
	ts, err := l.WeightTensors()
	if err != nil {
		return err
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "config.json"), l.JSON(), 0o644); err != nil {
		return fmt.Errorf("pooling: %w", err)
	}
	return nil
}

// LoadLatentAttention reads the module in directory dir of fsys (of the
// operating system when fsys is nil): config.json and model.safetensors.
func LoadLatentAttention(be kernels.Backend, fsys fs.FS, dir string) (*LatentAttention, error) {
	join := filepath.Join
	read := os.ReadFile
	open := safetensors.Open
	if fsys != nil {
		join = path.Join
		read = func(name string) ([]byte, error) { return fs.ReadFile(fsys, name) }
		open = func(name string) (*safetensors.File, error) { return safetensors.OpenFS(fsys, name) }
	}
	b, err := read(join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("pooling: latent attention: %w", err)
	}
	c, err := ParseLatentConfig(b)
	if err != nil {
		return nil, fmt.Errorf("pooling: %s: %w", join(dir, "config.json"), err)
	}
	l, err := NewLatentAttention(be, c)
	if err != nil {
		return nil, err
	}
	f, err := open(join(dir, "model.safetensors"))
	if err != nil {
		return nil, fmt.Errorf("pooling: latent attention: %w", err)
	}
	defer f.Close()
	if err := l.LoadWeights(f); err != nil {
		return nil, fmt.Errorf("%s: %w", join(dir, "model.safetensors"), err)
	}
	return l, nil
}
