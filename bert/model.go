package bert

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// ErrShape means a weight in the checkpoint does not have the shape the
// config implies.
var ErrShape = errors.New("bert: tensor shape mismatch")

// ErrPacked means a Model packed for inference (Model.Pack) was asked to
// do what needs its weights as stored: a backward pass, loading weights.
var ErrPacked = errors.New("bert: weights are packed for inference")

// Model is a BERT encoder (Hugging Face BertModel without the pooler) on
// a Backend. Its parameters are read-only during Forward, so one Model
// serves any number of goroutines, each with its own Activations.
type Model struct {
	Config  Config
	Params  *Params
	Backend kernels.Backend

	packed bool // by Pack
}

// Pack readies m for inference only: the Backend packs the weight of
// every linear layer once (kernels.Backend.PackWeight), so that Forward
// no longer re-packs each weight for every product it takes part in. Its
// results are unchanged, bit for bit. On the CPU the packed weights take
// the place of the stored ones in the Params arena (for BERT-base and
// larger; sizes that do not fit the microkernel's tiles get a copy), so
// Pack costs no memory. It saves little on large batches, where packing
// a weight is a small part of its product, and most on small ones (a
// query, a short sentence), where it is about as long as the arithmetic.
//
// Afterwards the linear layers' weights in m.Params no longer hold
// PyTorch's layout: Backward and LoadWeights return ErrPacked, and the
// Params must not be trained, saved or copied. Call Pack once, after
// loading and before any Forward; a second call does nothing.
func (m *Model) Pack() {
	if m.packed {
		return
	}
	for i := range m.Params.Layers {
		l := &m.Params.Layers[i]
		for _, lin := range []*Linear{&l.Attention.QKV, &l.Attention.Out, &l.FFN.Inter, &l.FFN.Out} {
			w := m.Backend.PackWeight(lin.Weight, lin.Out, lin.In)
			lin.packed = &w
		}
	}
	m.packed = true
}

// Packed reports whether Pack was called.
func (m *Model) Packed() bool { return m.packed }

// New returns a Model of c with zeroed parameters (to be loaded or
// initialized by the caller).
func New(be kernels.Backend, c Config) (*Model, error) {
	p, err := NewParams(be, c)
	if err != nil {
		return nil, err
	}
	return &Model{Config: c, Params: p, Backend: be}, nil
}

// Load reads a Hugging Face BERT directory: config.json and
// model.safetensors (or a sharded model.safetensors.index.json). Weights
// may be stored as F32, F16 or BF16, with or without the "bert." prefix
// of BertForMaskedLM and similar checkpoints; they are converted to
// float32 once, here. Tensors the encoder does not use (the pooler, task
// heads) are ignored.
func Load(be kernels.Backend, dir string) (*Model, error) { return load(be, nil, dir) }

// LoadFS is Load for a directory in fsys.
func LoadFS(be kernels.Backend, fsys fs.FS, dir string) (*Model, error) { return load(be, fsys, dir) }

func load(be kernels.Backend, fsys fs.FS, dir string) (*Model, error) {
	c, err := LoadConfig(fsys, dir)
	if err != nil {
		return nil, err
	}
	f, err := OpenWeights(fsys, dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := New(be, c)
	if err != nil {
		return nil, err
	}
	if err := m.LoadWeights(f); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return m, nil
}

// OpenWeights opens dir's model.safetensors, or its sharded index.
func OpenWeights(fsys fs.FS, dir string) (*safetensors.File, error) {
	exists := func(name string) bool {
		var err error
		if fsys == nil {
			_, err = os.Stat(name)
		} else {
			_, err = fs.Stat(fsys, name)
		}
		return err == nil
	}
	open := func(name string) (*safetensors.File, error) {
		if fsys == nil {
			return safetensors.Open(name)
		}
		return safetensors.OpenFS(fsys, name)
	}
	for _, n := range []string{"model.safetensors", "model" + safetensors.IndexSuffix} {
		if p := joinPath(fsys, dir, n); exists(p) {
			return open(p)
		}
	}
	hint := ""
	if exists(joinPath(fsys, dir, "pytorch_model.bin")) {
		hint = " (pytorch_model.bin is not read: save the model with safe_serialization=True)"
	}
	return nil, fmt.Errorf("bert: %s: no model.safetensors or model%s%s: %w", dir, safetensors.IndexSuffix, hint, fs.ErrNotExist)
}

// LoadWeights copies every parameter from f, converting to float32. It
// accepts the names with or without a "bert." prefix, and LayerNorm
// gamma/beta for weight/bias as older checkpoints spell them.
func (m *Model) LoadWeights(f *safetensors.File) error {
	if m.packed {
		return fmt.Errorf("%w: LoadWeights", ErrPacked)
	}
	prefix := ""
	if !f.Has("embeddings.word_embeddings.weight") && f.Has("bert.embeddings.word_embeddings.weight") {
		prefix = "bert."
	}
	var tmp []float32
	for _, p := range m.Params.Tensors() {
		name := prefix + p.Name
		if !f.Has(name) && strings.Contains(name, "LayerNorm.") {
			old := strings.NewReplacer("LayerNorm.weight", "LayerNorm.gamma", "LayerNorm.bias", "LayerNorm.beta").Replace(name)
			if f.Has(old) {
				name = old
			}
		}
		t, err := f.Tensor(name)
		if err != nil {
			return fmt.Errorf("bert: %w", err)
		}
		if !slices.Equal(t.Shape, p.Shape) {
			return fmt.Errorf("%w: %s is %v in the checkpoint, config.json implies %v", ErrShape, name, t.Shape, p.Shape)
		}
		if !t.DType.IsFloat() {
			return fmt.Errorf("bert: %s: %w: %s", name, safetensors.ErrDType, t.DType)
		}
		if dst := p.Buf.Host(); dst != nil {
			// Host memory: convert straight into the arena.
			if err := t.Float32s(dst); err != nil {
				return fmt.Errorf("bert: %w", err)
			}
			f.Evict(name)
			continue
		}
		if cap(tmp) < p.Buf.Len() {
			tmp = make([]float32, p.Buf.Len())
		}
		if err := t.Float32s(tmp[:p.Buf.Len()]); err != nil {
			return fmt.Errorf("bert: %w", err)
		}
		if err := m.Backend.Upload(p.Buf, tmp[:p.Buf.Len()]); err != nil {
			return fmt.Errorf("bert: uploading %s: %w", name, err)
		}
		f.Evict(name)
	}
	return nil
}
