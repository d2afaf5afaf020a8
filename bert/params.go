package bert

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"

	"github.com/kotodama-ai/kotodama/kernels"
)

// Linear is a dense layer in PyTorch's layout: y = x·Wᵀ + b with
//
//	Weight [Out, In]
//	Bias   [Out]
//
// After Model.Pack, Forward multiplies by the packed weight, and Weight's
// values are the Backend's (see kernels.Backend.PackWeight).
type Linear struct {
	Weight, Bias kernels.Buf
	In, Out      int

	packed *kernels.Weight // set by Model.Pack
}

// LayerNorm normalizes rows of Cols values: y = (x-μ)/√(σ²+Eps)·Gamma + Beta.
//
//	Gamma, Beta [Cols]
type LayerNorm struct {
	Gamma, Beta kernels.Buf
	Cols        int
	Eps         float32
}

// Embeddings turns token ids into the encoder's input: the sum of a word,
// a position and a token-type embedding, layer-normalized.
//
//	Word      [VocabSize, Hidden]
//	Position  [MaxPositionEmbeddings, Hidden]
//	TokenType [TypeVocabSize, Hidden]
type Embeddings struct {
	Word, Position, TokenType kernels.Buf
	Norm                      LayerNorm
	Hidden                    int
}

// SelfAttention is multi-head self-attention with its output projection,
// residual connection and LayerNorm (BERT is post-LN). The query, key and
// value projections are stored as one Linear whose rows are Wq, then Wk,
// then Wv, so one GEMM computes all three:
//
//	QKV.Weight [3·Hidden, Hidden]   QKV.Bias [3·Hidden]
//	Out.Weight [Hidden, Hidden]     Out.Bias [Hidden]
type SelfAttention struct {
	QKV, Out       Linear
	Norm           LayerNorm
	Heads, HeadDim int
}

// FFN is the feed-forward block: Linear, GELU, Linear, residual, LayerNorm.
//
//	Inter.Weight [Intermediate, Hidden]   Out.Weight [Hidden, Intermediate]
type FFN struct {
	Inter, Out Linear
	Norm       LayerNorm
}

// Layer is one transformer encoder layer.
type Layer struct {
	Attention SelfAttention
	FFN       FFN
}

// Params is every weight of a BertModel, as views into one Buf (the
// arena), in a fixed layout decided by the Config alone: a second Params
// of the same Config (for gradients, or optimizer moments) lines up
// element for element.
type Params struct {
	Arena      kernels.Buf
	Embeddings Embeddings
	Layers     []Layer
}

// Named is one tensor of the model under its Hugging Face name, as a view
// into the Params arena.
type Named struct {
	Name  string
	Shape []int
	Buf   kernels.Buf
}

// NumParams is the number of float32 values of a Config's Params.
func (c Config) NumParams() int {
	H := c.HiddenSize
	emb := (c.VocabSize+c.MaxPositionEmbeddings+c.TypeVocabSize)*H + 2*H
	return emb + c.NumHiddenLayers*c.LayerParams()
}

// LayerParams is the number of float32 values of one Layer of c.
func (c Config) LayerParams() int {
	H, I := c.HiddenSize, c.IntermediateSize
	return 3*H*H + 3*H + H*H + H + 2*H + I*H + I + H*I + H + 2*H
}

// NewParams allocates zeroed parameters for c on be.
func NewParams(be kernels.Backend, c Config) (*Params, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	arena, err := be.Alloc(c.NumParams())
	if err != nil {
		return nil, fmt.Errorf("bert: allocating %d parameters: %w", c.NumParams(), err)
	}
	return viewParams(arena, c), nil
}

// viewParams cuts arena into the parameter views of c.
func viewParams(arena kernels.Buf, c Config) *Params {
	off := 0
	take := func(n int) kernels.Buf {
		b := arena.Slice(off, n)
		off += n
		return b
	}
	H := c.HiddenSize
	p := &Params{Arena: arena}
	p.Embeddings = Embeddings{
		Word:      take(c.VocabSize * H),
		Position:  take(c.MaxPositionEmbeddings * H),
		TokenType: take(c.TypeVocabSize * H),
		Norm:      LayerNorm{Gamma: take(H), Beta: take(H), Cols: H, Eps: float32(c.LayerNormEps)},
		Hidden:    H,
	}
	p.Layers = make([]Layer, c.NumHiddenLayers)
	for i := range p.Layers {
		p.Layers[i] = ViewLayer(take(c.LayerParams()), c)
	}
	if off != arena.Len() {
		panic(fmt.Sprintf("bert: parameter layout covers %d of %d values", off, arena.Len()))
	}
	return p
}

// ViewLayer cuts the parameter views of one Layer of c out of b, which
// holds c.LayerParams() values: a layer of its own outside a Params
// (RetroMAE's decoder layer, say).
func ViewLayer(b kernels.Buf, c Config) Layer {
	if b.Len() != c.LayerParams() {
		panic(fmt.Sprintf("bert: ViewLayer: %d values, a layer has %d", b.Len(), c.LayerParams()))
	}
	off := 0
	take := func(n int) kernels.Buf {
		v := b.Slice(off, n)
		off += n
		return v
	}
	H, I := c.HiddenSize, c.IntermediateSize
	eps := float32(c.LayerNormEps)
	norm := func() LayerNorm { return LayerNorm{Gamma: take(H), Beta: take(H), Cols: H, Eps: eps} }
	linear := func(in, out int) Linear { return Linear{Weight: take(out * in), Bias: take(out), In: in, Out: out} }
	var l Layer
	l.Attention.QKV = linear(H, 3*H)
	l.Attention.Out = linear(H, H)
	l.Attention.Norm = norm()
	l.Attention.Heads, l.Attention.HeadDim = c.NumAttentionHeads, c.HeadDim()
	l.FFN.Inter = linear(H, I)
	l.FFN.Out = linear(I, H)
	l.FFN.Norm = norm()
	return l
}

// Tensors lists every parameter under its Hugging Face BertModel name
// (without the "bert." prefix), in arena order. The fused QKV projection
// appears as the three query, key and value tensors it is made of.
func (p *Params) Tensors() []Named {
	e := p.Embeddings
	H := e.Hidden
	out := []Named{
		{"embeddings.word_embeddings.weight", []int{e.Word.Len() / H, H}, e.Word},
		{"embeddings.position_embeddings.weight", []int{e.Position.Len() / H, H}, e.Position},
		{"embeddings.token_type_embeddings.weight", []int{e.TokenType.Len() / H, H}, e.TokenType},
		{"embeddings.LayerNorm.weight", []int{H}, e.Norm.Gamma},
		{"embeddings.LayerNorm.bias", []int{H}, e.Norm.Beta},
	}
	for i := range p.Layers {
		out = append(out, p.Layers[i].Tensors(fmt.Sprintf("encoder.layer.%d.", i))...)
	}
	return out
}

// Tensors lists the layer's parameters under their Hugging Face BertLayer
// names after prefix ("encoder.layer.0." in a BertModel), in arena
// order, the fused QKV projection as its query, key and value tensors.
func (l *Layer) Tensors(prefix string) []Named {
	H := l.Attention.Heads * l.Attention.HeadDim
	linear := func(prefix string, l Linear) []Named {
		return []Named{
			{prefix + ".weight", []int{l.Out, l.In}, l.Weight},
			{prefix + ".bias", []int{l.Out}, l.Bias},
		}
	}
	norm := func(prefix string, n LayerNorm) []Named {
		return []Named{
			{prefix + ".weight", []int{n.Cols}, n.Gamma},
			{prefix + ".bias", []int{n.Cols}, n.Beta},
		}
	}
	var out []Named
	qkv := l.Attention.QKV
	for j, name := range []string{"query", "key", "value"} {
		out = append(out,
			Named{prefix + "attention.self." + name + ".weight", []int{H, H}, qkv.Weight.Slice(j*H*H, H*H)},
			Named{prefix + "attention.self." + name + ".bias", []int{H}, qkv.Bias.Slice(j*H, H)})
	}
	out = append(out, linear(prefix+"attention.output.dense", l.Attention.Out)...)
	out = append(out, norm(prefix+"attention.output.LayerNorm", l.Attention.Norm)...)
	out = append(out, linear(prefix+"intermediate.dense", l.FFN.Inter)...)
	out = append(out, linear(prefix+"output.dense", l.FFN.Out)...)
	out = append(out, norm(prefix+"output.LayerNorm", l.FFN.Norm)...)
	return out
}

// joinPath joins a directory and a file name for fsys (slash paths) or
// for the operating system when fsys is nil.
func joinPath(fsys fs.FS, dir, name string) string {
	if fsys == nil {
		return filepath.Join(dir, name)
	}
	return path.Join(dir, name)
}
