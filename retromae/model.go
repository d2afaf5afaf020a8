package retromae

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/safetensors"
	"github.com/kotodama-ai/kotodama/train"
)

// Names of the tensors in a checkpoint, as FlagEmbedding saves them: the
// encoder (EncoderPrefix + BertModel names) and its masked-LM head
// (PartHead.*) as Hugging Face's BertForMaskedLM names them, the decoder
// layer as RetroMAEForPretraining's c_head (PartDecoder.*).
const (
	EncoderPrefix = "bert."
	PartHead      = "cls.predictions"
	PartDecoder   = "c_head"
)

// Head is the masked-LM prediction head of BertForMaskedLM
// (cls.predictions): a transform, then a decoder whose weight is tied to
// the encoder's word embeddings.
//
//	Dense  [Hidden, Hidden] + [Hidden]   transform.dense
//	Norm   LayerNorm(Hidden)              transform.LayerNorm
//	Bias   [Vocab]                        bias
//	logits = LayerNorm(GELU(h·Denseᵀ + b))·Wordᵀ + Bias
type Head struct {
	Dense bert.Linear
	Norm  bert.LayerNorm
	Bias  kernels.Buf
}

// Params are RetroMAE's parameters besides the encoder's: the masked-LM
// head and the decoder layer, views into one arena in a layout fixed by
// the encoder's Config, so that a second Params (gradients) lines up.
type Params struct {
	Arena   kernels.Buf
	Head    Head
	Decoder bert.Layer
}

// NumParams is the number of float32 values of the Params of c.
func NumParams(c bert.Config) int {
	H := c.HiddenSize
	return H*H + H + 2*H + c.VocabSize + c.LayerParams()
}

// NewParams allocates zeroed Params for an encoder of Config c on be.
func NewParams(be kernels.Backend, c bert.Config) (*Params, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	arena, err := be.Alloc(NumParams(c))
	if err != nil {
		return nil, fmt.Errorf("retromae: allocating %d parameters: %w", NumParams(c), err)
	}
	off := 0
	take := func(n int) kernels.Buf {
		b := arena.Slice(off, n)
		off += n
		return b
	}
	H := c.HiddenSize
	p := &Params{Arena: arena}
	p.Head.Dense = bert.Linear{Weight: take(H * H), Bias: take(H), In: H, Out: H}
	p.Head.Norm = bert.LayerNorm{Gamma: take(H), Beta: take(H), Cols: H, Eps: float32(c.LayerNormEps)}
	p.Head.Bias = take(c.VocabSize)
	p.Decoder = bert.ViewLayer(take(c.LayerParams()), c)
	return p, nil
}

// Tensors lists the Params under their checkpoint names (PartHead.* and
// PartDecoder.*), in arena order.
func (p *Params) Tensors() []bert.Named {
	h := p.Head
	H := h.Dense.Out
	out := []bert.Named{
		{Name: PartHead + ".transform.dense.weight", Shape: []int{H, H}, Buf: h.Dense.Weight},
		{Name: PartHead + ".transform.dense.bias", Shape: []int{H}, Buf: h.Dense.Bias},
		{Name: PartHead + ".transform.LayerNorm.weight", Shape: []int{H}, Buf: h.Norm.Gamma},
		{Name: PartHead + ".transform.LayerNorm.bias", Shape: []int{H}, Buf: h.Norm.Beta},
		{Name: PartHead + ".bias", Shape: []int{h.Bias.Len()}, Buf: h.Bias},
	}
	return append(out, p.Decoder.Tensors(PartDecoder+".")...)
}

// Model is RetroMAE's pre-training model (FlagEmbedding's
// RetroMAEForPretraining): a BERT encoder with its masked-LM head
// (BertForMaskedLM) and a one-layer decoder that reconstructs the text
// from the encoder's [CLS] vector.
type Model struct {
	Encoder *bert.Model
	Params  *Params
	Backend kernels.Backend
	// Fresh names the parts Load initialized because the checkpoint did
	// not have them ("cls.predictions", "c_head").
	Fresh []string
}

// New returns a Model around enc with zeroed head and decoder.
func New(enc *bert.Model) (*Model, error) {
	p, err := NewParams(enc.Backend, enc.Config)
	if err != nil {
		return nil, err
	}
	return &Model{Encoder: enc, Params: p, Backend: enc.Backend}, nil
}

// Tensors lists every parameter of m under its checkpoint name: the
// encoder's with EncoderPrefix, then the head's and the decoder's.
func (m *Model) Tensors() []bert.Named { return tensors(m.Encoder.Params, m.Params) }

func tensors(enc *bert.Params, p *Params) []bert.Named {
	var out []bert.Named
	for _, t := range enc.Tensors() {
		t.Name = EncoderPrefix + t.Name
		out = append(out, t)
	}
	return append(out, p.Tensors()...)
}

// Grads are gradients laid out as a Model's parameters; the tied decoder
// weight of the head accumulates into Encoder.Embeddings.Word.
type Grads struct {
	Encoder *bert.Params
	Params  *Params
}

// NewGrads allocates zeroed gradients for m.
func (m *Model) NewGrads() (*Grads, error) {
	e, err := bert.NewParams(m.Backend, m.Encoder.Config)
	if err != nil {
		return nil, err
	}
	p, err := NewParams(m.Backend, m.Encoder.Config)
	if err != nil {
		return nil, err
	}
	return &Grads{Encoder: e, Params: p}, nil
}

// Tensors lists the gradients under the names of the parameters they
// belong to, in Model.Tensors order.
func (g *Grads) Tensors() []bert.Named { return tensors(g.Encoder, g.Params) }

// TrainParams pairs m's parameters with g for the optimizer.
func (m *Model) TrainParams(g *Grads) []train.Param {
	ws, gs := m.Tensors(), g.Tensors()
	out := make([]train.Param, len(ws))
	for i, w := range ws {
		out[i] = train.Param{Name: w.Name, Shape: w.Shape, Value: w.Buf, Grad: gs[i].Buf}
	}
	return out
}

// Load reads a BERT model directory for pre-training: the encoder as
// bert.Load reads it (BertModel or BertForMaskedLM names), the masked-LM
// head and the decoder layer by LoadWeights. Parts the checkpoint lacks
// are initialized as Hugging Face initializes BERT (normal with standard
// deviation std, LayerNorm to identity, biases 0) from seed, and named in
// Model.Fresh.
func Load(be kernels.Backend, dir string, std float64, seed uint64) (*Model, error) {
	enc, err := bert.Load(be, dir)
	if err != nil {
		return nil, err
	}
	m, err := New(enc)
	if err != nil {
		return nil, err
	}
	f, err := bert.OpenWeights(nil, dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	missing, err := m.LoadWeights(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if err := m.Init(missing, std, seed); err != nil {
		return nil, err
	}
	m.Fresh = missing
	return m, nil
}

// ErrMissing means a checkpoint has some but not all tensors of the head
// or of the decoder.
var ErrMissing = errors.New("retromae: checkpoint lacks a tensor")

// part returns the tensors of Params part.
func (p *Params) part(name string) []bert.Named {
	var ts []bert.Named
	for _, t := range p.Tensors() {
		if strings.HasPrefix(t.Name, name+".") {
			ts = append(ts, t)
		}
	}
	return ts
}

// LoadWeights copies the head (PartHead: cls.predictions.*) and the
// decoder layer (PartDecoder: c_head.*) from f, whichever f has, and
// returns the parts it does not have at all; a part f has only some
// tensors of is an error wrapping ErrMissing. The encoder is not read
// (bert.Model.LoadWeights does).
func (m *Model) LoadWeights(f *safetensors.File) (missing []string, err error) {
	for _, part := range []string{PartHead, PartDecoder} {
		ts := m.Params.part(part)
		have := 0
		for _, t := range ts {
			if f.Has(t.Name) {
				have++
			}
		}
		if have == 0 {
			missing = append(missing, part)
			continue
		}
		for _, t := range ts {
			src, err := f.Tensor(t.Name)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrMissing, err)
			}
			if !slices.Equal(src.Shape, t.Shape) {
				return nil, fmt.Errorf("%w: %s is %v in the checkpoint, the model's is %v", bert.ErrShape, t.Name, src.Shape, t.Shape)
			}
			tmp := make([]float32, t.Buf.Len())
			if err := src.Float32s(tmp); err != nil {
				return nil, fmt.Errorf("retromae: %w", err)
			}
			if err := m.Backend.Upload(t.Buf, tmp); err != nil {
				return nil, fmt.Errorf("retromae: uploading %s: %w", t.Name, err)
			}
		}
	}
	return missing, nil
}

// Init initializes the named parts of Params (PartHead, PartDecoder) as
// Hugging Face's BertPreTrainedModel._init_weights does: LayerNorm
// weights 1, biases 0, every other weight normal(0, std), drawn from
// seed.
func (m *Model) Init(parts []string, std float64, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 0x726574726f6d6165))
	for _, part := range parts {
		ts := m.Params.part(part)
		if len(ts) == 0 {
			return fmt.Errorf("retromae: Init: no part %q (want %q or %q)", part, PartHead, PartDecoder)
		}
		if err := initTensors(m.Backend, ts, std, r); err != nil {
			return err
		}
	}
	return nil
}

// initTensors draws ts as Init describes.
func initTensors(be kernels.Backend, ts []bert.Named, std float64, r *rand.Rand) error {
	for _, t := range ts {
		w := make([]float32, t.Buf.Len())
		switch {
		case strings.HasSuffix(t.Name, "LayerNorm.weight"):
			for i := range w {
				w[i] = 1
			}
		case strings.HasSuffix(t.Name, "bias"):
		default:
			for i := range w {
				w[i] = float32(r.NormFloat64() * std)
			}
		}
		if err := be.Upload(t.Buf, w); err != nil {
			return fmt.Errorf("retromae: initializing %s: %w", t.Name, err)
		}
	}
	return nil
}
