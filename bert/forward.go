package bert

import (
	"errors"
	"fmt"

	"github.com/kotodama-ai/kotodama/kernels"
)

// ErrInput means token ids, type ids, mask or shape passed to Forward do
// not fit the model or the Activations.
var ErrInput = errors.New("bert: invalid input")

// EmbeddingActs are the embedding block's tensors for T = batch·seq tokens.
//
//	Sum       [T, Hidden]  word + token type + position embeddings
//	Mean,Rstd [T]          LayerNorm statistics (kept for training only)
//	Out       [T, Hidden]  LayerNorm(Sum): the first layer's input
type EmbeddingActs struct{ Sum, Mean, Rstd, Out kernels.Buf }

// AttentionActs are one self-attention block's tensors.
//
//	QKV       [T, 3·Hidden]              x·Wqkvᵀ + bqkv
//	Probs     [batch, heads, seq, seq]   softmax(QKᵀ/√d + mask) (kept for training only)
//	Ctx       [T, Hidden]                Probs·V, heads side by side
//	Sum       [T, Hidden]                Ctx·Woᵀ + bo + x
//	Mean,Rstd [T]                        LayerNorm statistics (training only)
//	Out       [T, Hidden]                LayerNorm(Sum)
type AttentionActs struct{ QKV, Probs, Ctx, Sum, Mean, Rstd, Out kernels.Buf }

// FFNActs are one feed-forward block's tensors.
//
//	Pre       [T, Intermediate]  x·Wiᵀ + bi
//	Act       [T, Intermediate]  GELU(Pre)
//	Sum       [T, Hidden]        Act·Woᵀ + bo + x
//	Mean,Rstd [T]                LayerNorm statistics (training only)
//	Out       [T, Hidden]        LayerNorm(Sum): the layer's output
type FFNActs struct{ Pre, Act, Sum, Mean, Rstd, Out kernels.Buf }

// LayerActs are one encoder layer's tensors.
type LayerActs struct {
	Attention AttentionActs
	FFN       FFNActs
}

// Activations hold the tensors of forward passes over batches of up to
// MaxTokens tokens (batch·seq) with sequences of up to MaxSeq tokens. One
// Activations serves one goroutine at a time; reuse it across batches so
// the hot path allocates nothing.
//
// Made with keep = false (inference), the layers share one set of
// buffers, the statistics and attention probabilities are not stored, and
// buffers alias where the data flow allows: only the final hidden state
// is meaningful after Forward. Made with keep = true (training), every
// layer keeps every tensor its backward pass needs, and the views in
// Embeddings and Layers are cut to the shape of the last Forward.
type Activations struct {
	Keep       bool
	Batch, Seq int
	Embeddings EmbeddingActs
	Layers     []LayerActs
	// Hidden is the last layer's output, [Batch, Seq, Hidden].
	Hidden kernels.Buf

	MaxTokens, MaxSeq int

	cfg       Config
	arena     kernels.Buf
	fullEmb   EmbeddingActs
	full      []LayerActs
	positions []int32
	zeros     []int32
}

// NewActivations allocates activations for batches of up to maxTokens
// tokens in sequences of up to maxSeq tokens.
func (m *Model) NewActivations(maxTokens, maxSeq int, keep bool) (*Activations, error) {
	c := m.Config
	if maxSeq <= 0 || maxTokens < maxSeq {
		return nil, fmt.Errorf("%w: NewActivations(%d tokens, %d per sequence)", ErrInput, maxTokens, maxSeq)
	}
	if maxSeq > c.MaxPositionEmbeddings {
		return nil, fmt.Errorf("%w: sequences of %d tokens, but the model has %d positions", ErrInput, maxSeq, c.MaxPositionEmbeddings)
	}
	H, I, T := c.HiddenSize, c.IntermediateSize, maxTokens
	a := &Activations{Keep: keep, MaxTokens: maxTokens, MaxSeq: maxSeq, cfg: c,
		positions: make([]int32, T), zeros: make([]int32, T)}
	// Sizes in floats, then one allocation cut into views.
	var need int
	if keep {
		perLayer := T*(3*H+H+H+H+I+I+H+H) + 4*T + T*c.NumAttentionHeads*maxSeq
		need = T*(2*H) + 2*T + c.NumHiddenLayers*perLayer
	} else {
		need = T * (6*H + I)
	}
	arena, err := m.Backend.Alloc(need)
	if err != nil {
		return nil, fmt.Errorf("bert: allocating activations for %d tokens: %w", T, err)
	}
	a.arena = arena
	off := 0
	take := func(n int) kernels.Buf {
		b := arena.Slice(off, n)
		off += n
		return b
	}
	if keep {
		a.fullEmb = EmbeddingActs{Sum: take(T * H), Mean: take(T), Rstd: take(T), Out: take(T * H)}
		a.full = make([]LayerActs, c.NumHiddenLayers)
		for i := range a.full {
			a.full[i] = LayerActs{
				Attention: AttentionActs{QKV: take(T * 3 * H), Probs: take(T * c.NumAttentionHeads * maxSeq),
					Ctx: take(T * H), Sum: take(T * H), Mean: take(T), Rstd: take(T), Out: take(T * H)},
				FFN: FFNActs{Pre: take(T * I), Act: take(T * I), Sum: take(T * H), Mean: take(T), Rstd: take(T), Out: take(T * H)},
			}
		}
	} else {
		x, qkv, ctx, s, inter := take(T*H), take(T*3*H), take(T*H), take(T*H), take(T*I)
		a.fullEmb = EmbeddingActs{Sum: ctx, Out: x}
		a.full = []LayerActs{{
			Attention: AttentionActs{QKV: qkv, Ctx: ctx, Sum: s, Out: s},
			FFN:       FFNActs{Pre: inter, Act: inter, Sum: ctx, Out: x},
		}}
	}
	if off != need {
		panic(fmt.Sprintf("bert: activation layout covers %d of %d values", off, need))
	}
	a.Layers = make([]LayerActs, len(a.full))
	return a, nil
}

// cut returns the first n values of b, or b itself when it is empty
// (an output that is not kept).
func cut(b kernels.Buf, n int) kernels.Buf {
	if b.Len() == 0 {
		return b
	}
	return b.Slice(0, n)
}

// shape cuts the views to batch×seq tokens.
func (a *Activations) shape(batch, seq int) {
	c := a.cfg
	H, I, T := c.HiddenSize, c.IntermediateSize, batch*seq
	a.Batch, a.Seq = batch, seq
	f := a.fullEmb
	a.Embeddings = EmbeddingActs{Sum: cut(f.Sum, T*H), Mean: cut(f.Mean, T), Rstd: cut(f.Rstd, T), Out: cut(f.Out, T*H)}
	for i, l := range a.full {
		at, ff := l.Attention, l.FFN
		a.Layers[i] = LayerActs{
			Attention: AttentionActs{QKV: cut(at.QKV, T*3*H), Probs: cut(at.Probs, batch*c.NumAttentionHeads*seq*seq),
				Ctx: cut(at.Ctx, T*H), Sum: cut(at.Sum, T*H), Mean: cut(at.Mean, T), Rstd: cut(at.Rstd, T), Out: cut(at.Out, T*H)},
			FFN: FFNActs{Pre: cut(ff.Pre, T*I), Act: cut(ff.Act, T*I), Sum: cut(ff.Sum, T*H),
				Mean: cut(ff.Mean, T), Rstd: cut(ff.Rstd, T), Out: cut(ff.Out, T*H)},
		}
	}
	for i := range T {
		a.positions[i] = int32(i % seq)
	}
	a.Hidden = a.Layers[len(a.Layers)-1].FFN.Out
}

// Forward runs the encoder over a batch of batch sequences of seq tokens
// each (right-padded), leaving the last hidden state in a.Hidden:
//
//	ids, mask [batch, seq]   token ids; 1 for tokens, 0 for padding
//	typeIDs   [batch, seq]   token type (segment) ids, or nil for all 0
//	a.Hidden  [batch, seq, Hidden]
//
// Padding masks keys only, as in Hugging Face's BertModel: the hidden
// states of padded positions are computed but meaningless.
func (m *Model) Forward(a *Activations, ids, typeIDs, mask []int32, batch, seq int) error {
	if err := m.checkInput(a, ids, typeIDs, mask, batch, seq); err != nil {
		return err
	}
	T := batch * seq
	if typeIDs == nil {
		typeIDs = a.zeros[:T]
	}
	a.shape(batch, seq)
	be := m.Backend
	p := m.Params
	p.Embeddings.Forward(be, &a.Embeddings, ids, typeIDs, a.positions[:T])
	x := a.Embeddings.Out
	for i := range p.Layers {
		la := &a.Layers[min(i, len(a.Layers)-1)]
		p.Layers[i].Forward(be, la, x, mask, batch, seq)
		x = la.FFN.Out
	}
	return nil
}

func (m *Model) checkInput(a *Activations, ids, typeIDs, mask []int32, batch, seq int) error {
	c := m.Config
	switch {
	case a == nil:
		return fmt.Errorf("%w: nil Activations", ErrInput)
	case a.cfg != c:
		return fmt.Errorf("%w: Activations made for another model", ErrInput)
	case batch <= 0 || seq <= 0:
		return fmt.Errorf("%w: batch %d × seq %d", ErrInput, batch, seq)
	case seq > a.MaxSeq || batch*seq > a.MaxTokens:
		return fmt.Errorf("%w: batch %d × seq %d exceeds the Activations' %d tokens / %d per sequence", ErrInput, batch, seq, a.MaxTokens, a.MaxSeq)
	case len(ids) != batch*seq || len(mask) != batch*seq || (typeIDs != nil && len(typeIDs) != batch*seq):
		return fmt.Errorf("%w: %d ids, %d mask values, %d type ids for batch %d × seq %d", ErrInput, len(ids), len(mask), len(typeIDs), batch, seq)
	}
	for i, id := range ids {
		if id < 0 || int(id) >= c.VocabSize {
			return fmt.Errorf("%w: input id %d at position %d outside the vocabulary of %d", ErrInput, id, i, c.VocabSize)
		}
	}
	for i, t := range typeIDs {
		if t < 0 || int(t) >= c.TypeVocabSize {
			return fmt.Errorf("%w: token type id %d at position %d outside [0, %d)", ErrInput, t, i, c.TypeVocabSize)
		}
	}
	return nil
}

// Forward computes out = x·Wᵀ + b.
//
//	out [rows, l.Out]   x [rows, l.In]
func (l *Linear) Forward(be kernels.Backend, out, x kernels.Buf, rows int) {
	be.Gemm(false, true, rows, l.Out, l.In, 1, x, l.In, l.Weight, l.In, 0, out, l.Out)
	be.AddBias(out, l.Bias, rows, l.Out)
}

// Forward normalizes rows of x into out, saving the statistics in mean
// and rstd when they are not empty.
//
//	out, x [rows, n.Cols]   mean, rstd [rows]
func (n *LayerNorm) Forward(be kernels.Backend, out, mean, rstd, x kernels.Buf, rows int) {
	be.LayerNorm(out, mean, rstd, x, n.Gamma, n.Beta, rows, n.Cols, n.Eps)
}

// Forward embeds T tokens: a.Sum = word[ids] + tokenType[types] +
// position[positions], a.Out = LayerNorm(a.Sum).
//
//	ids, types, positions [T]
func (e *Embeddings) Forward(be kernels.Backend, a *EmbeddingActs, ids, types, positions []int32) {
	H := e.Hidden
	be.Gather(a.Sum, e.Word, ids, H, 0)
	be.Gather(a.Sum, e.TokenType, types, H, 1)
	be.Gather(a.Sum, e.Position, positions, H, 1)
	e.Norm.Forward(be, a.Out, a.Mean, a.Rstd, a.Sum, len(ids))
}

// Forward runs self-attention over x, [batch·seq, Hidden], into a.Out.
func (s *SelfAttention) Forward(be kernels.Backend, a *AttentionActs, x kernels.Buf, mask []int32, batch, seq int) {
	T, H := batch*seq, s.Heads*s.HeadDim
	s.QKV.Forward(be, a.QKV, x, T)
	be.Attention(a.Ctx, a.Probs, a.QKV, mask, batch, seq, s.Heads, s.HeadDim)
	s.Out.Forward(be, a.Sum, a.Ctx, T)
	be.Add(a.Sum, a.Sum, x, T*H)
	s.Norm.Forward(be, a.Out, a.Mean, a.Rstd, a.Sum, T)
}

// Forward runs the feed-forward block over x, [rows, Hidden], into a.Out.
func (f *FFN) Forward(be kernels.Backend, a *FFNActs, x kernels.Buf, rows int) {
	f.Inter.Forward(be, a.Pre, x, rows)
	be.GELU(a.Act, a.Pre, rows*f.Inter.Out)
	f.Out.Forward(be, a.Sum, a.Act, rows)
	be.Add(a.Sum, a.Sum, x, rows*f.Out.Out)
	f.Norm.Forward(be, a.Out, a.Mean, a.Rstd, a.Sum, rows)
}

// Forward runs one encoder layer over x, [batch·seq, Hidden], into
// a.FFN.Out.
func (l *Layer) Forward(be kernels.Backend, a *LayerActs, x kernels.Buf, mask []int32, batch, seq int) {
	l.Attention.Forward(be, &a.Attention, x, mask, batch, seq)
	l.FFN.Forward(be, &a.FFN, a.Attention.Out, batch*seq)
}
