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
type EmbeddingActs struct {
	Sum, Mean, Rstd, Out kernels.Buf
	drop                 dropSite
}

// AttentionActs are one self-attention block's tensors.
//
//	QKV       [T, 3·Hidden]              x·Wqkvᵀ + bqkv
//	Probs     [batch, heads, seq, seq]   softmax(QKᵀ/√d + mask) (kept for training only)
//	Ctx       [T, Hidden]                Probs·V, heads side by side
//	Sum       [T, Hidden]                Ctx·Woᵀ + bo + x
//	Mean,Rstd [T]                        LayerNorm statistics (training only)
//	Out       [T, Hidden]                LayerNorm(Sum)
//
// With attention dropout, Ctx is dropout(Probs)·V; with hidden dropout,
// Sum holds dropout(Ctx·Woᵀ + bo) + x.
type AttentionActs struct {
	QKV, Probs, Ctx, Sum, Mean, Rstd, Out kernels.Buf
	drop                                  dropSite
}

// FFNActs are one feed-forward block's tensors.
//
//	Pre       [T, Intermediate]  x·Wiᵀ + bi
//	Act       [T, Intermediate]  GELU(Pre)
//	Sum       [T, Hidden]        Act·Woᵀ + bo + x
//	Mean,Rstd [T]                LayerNorm statistics (training only)
//	Out       [T, Hidden]        LayerNorm(Sum): the layer's output
//
// With hidden dropout, Sum holds dropout(Act·Woᵀ + bo) + x.
type FFNActs struct {
	Pre, Act, Sum, Mean, Rstd, Out kernels.Buf
	drop                           dropSite
}

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

	// Dropout turns on training-time dropout in Forward for Activations
	// made with keep (the zero value: none, as in evaluation).
	Dropout Dropout
	// DEmbedding is, after Backward, the gradient of the loss with
	// respect to the embedding block's output (the first layer's input),
	// [Batch, Seq, Hidden].
	DEmbedding kernels.Buf

	cfg       Config
	ids       []int32 // the last Forward's inputs, for Backward
	types     []int32
	mask      []int32
	streams   []uint64 // dropout stream keys, scratch
	grad      *gradScratch
	be        kernels.Backend
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
	a.arena, a.be = arena, m.Backend
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

// Release returns the Activations' memory to the Backend; a must not be
// used afterwards.
func (a *Activations) Release() {
	if a.be != nil {
		a.be.Free(a.arena)
		a.be, a.arena = nil, kernels.Buf{}
	}
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
	// Dropout sites: only a training forward (keep) drops out.
	d := dropSite{}
	if a.Keep && (a.Dropout.Hidden > 0 || a.Dropout.Attention > 0) {
		if need := batch * max(1, c.NumAttentionHeads); cap(a.streams) < need {
			a.streams = make([]uint64, need)
		}
		d = dropSite{hidden: a.Dropout.Hidden, attn: a.Dropout.Attention, seed: a.Dropout.Seed,
			first: a.Dropout.Offset, batch: batch, seq: seq, streams: a.streams}
	}
	a.Embeddings.drop = d
	for i := range a.Layers {
		d.layer = i + 1
		a.Layers[i].Attention.drop = d
		a.Layers[i].FFN.drop = d
	}
}

// Dropout is BERT's training-time dropout: Hidden on the embedding output
// and on each block's output projection before the residual sum,
// Attention on the attention probabilities (Config's
// hidden_dropout_prob and attention_probs_dropout_prob). Masks are drawn
// per sequence from (Seed, Offset+b, site) — b the sequence's index in the
// batch, site the layer and tensor — so a sequence gets the same masks in
// whatever batch it is encoded, and Backward replays them without storing
// them.
type Dropout struct {
	Hidden, Attention float32
	Seed              uint64
	Offset            int
}

// dropSite says how one block drops out in a training forward; the zero
// value drops nothing.
type dropSite struct {
	hidden, attn float32
	seed         uint64
	first        int // index of the batch's first sequence
	batch, seq   int
	layer        int // 0 for the embeddings, l+1 for encoder layer l
	streams      []uint64
}

// Stream keys: sequence index, layer and tensor packed into 64 bits.
const (
	siteHidden = 0 // embeddings output, attention output projection
	siteFFN    = 1 // FFN output projection
	siteProbs  = 2 // attention probabilities, + head
)

// keys returns one stream key per sequence for tensor kind.
func (d *dropSite) keys(kind int) []uint64 {
	k := d.streams[:d.batch]
	for b := range k {
		k[b] = uint64(d.first+b)<<20 | uint64(d.layer)<<8 | uint64(kind)
	}
	return k
}

// headKeys returns one stream key per (sequence, head) for the
// attention probabilities, or nil without attention dropout.
func (d *dropSite) headKeys(heads int) []uint64 {
	if d.attn == 0 {
		return nil
	}
	k := d.streams[:d.batch*heads]
	for b := range d.batch {
		for h := range heads {
			k[b*heads+h] = uint64(d.first+b)<<20 | uint64(d.layer)<<8 | uint64(siteProbs+h)
		}
	}
	return k
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
	if a.Keep {
		a.ids = append(a.ids[:0], ids...)
		a.types = append(a.types[:0], typeIDs...)
		a.mask = append(a.mask[:0], mask...)
	}
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

// Backward back-propagates dHidden [Batch, Seq, Hidden], the gradient of
// a loss with respect to a.Hidden after the last Forward on a (made with
// keep), through every layer and the embeddings, adding each parameter's
// gradient into g, a Params of the same Config (NewParams): g's arena
// lines up with the model's, so g.Tensors() names the gradients. dHidden
// is only read. It replays the Forward's dropout masks.
func (m *Model) Backward(g *Params, a *Activations, dHidden kernels.Buf) error {
	c := m.Config
	T, H := a.Batch*a.Seq, c.HiddenSize
	switch {
	case m.packed:
		return fmt.Errorf("%w: Backward", ErrPacked)
	case !a.Keep || a.cfg != c:
		return fmt.Errorf("%w: Backward needs the Activations of this model made with keep", ErrInput)
	case T == 0 || len(a.ids) != T:
		return fmt.Errorf("%w: Backward before Forward", ErrInput)
	case g == nil || g.Arena.Len() != c.NumParams() || len(g.Layers) != len(m.Params.Layers):
		return fmt.Errorf("%w: gradients are not a Params of this model's Config", ErrInput)
	case dHidden.Len() < T*H:
		return fmt.Errorf("%w: dHidden holds %d values, want %d", ErrInput, dHidden.Len(), T*H)
	}
	gs, err := a.scratch(m.Backend)
	if err != nil {
		return err
	}
	be, p := m.Backend, m.Params
	dOut := dHidden.Slice(0, T*H)
	bufs := [2]kernels.Buf{gs.a.Slice(0, T*H), gs.b.Slice(0, T*H)}
	for i := len(p.Layers) - 1; i >= 0; i-- {
		x := a.Embeddings.Out
		if i > 0 {
			x = a.Layers[i-1].FFN.Out
		}
		dx := bufs[i%2]
		p.Layers[i].Backward(be, &g.Layers[i], &a.Layers[i], dx, dOut, x, a.mask, a.Batch, a.Seq, gs)
		dOut = dx
	}
	a.DEmbedding = dOut
	p.Embeddings.Backward(be, &g.Embeddings, &a.Embeddings, dOut, a.ids, a.types, a.positions[:T], gs)
	return nil
}

// gradScratch is the backward pass's working memory, made on its first
// use and sized for MaxTokens: a, b carry the gradient between layers,
// mid inside a layer, the rest inside a block.
type gradScratch struct {
	a, b, mid, sum, tmp, ctx, qkv, inter kernels.Buf
}

func (a *Activations) scratch(be kernels.Backend) (*gradScratch, error) {
	if a.grad != nil {
		return a.grad, nil
	}
	gs, err := newGradScratch(be, a.MaxTokens, a.cfg.HiddenSize, a.cfg.IntermediateSize)
	a.grad = gs
	return gs, err
}

// newGradScratch allocates backward scratch for up to T tokens of a
// model with hidden size H and intermediate size I.
func newGradScratch(be kernels.Backend, T, H, I int) (*gradScratch, error) {
	arena, err := be.Alloc(T * (9*H + I))
	if err != nil {
		return nil, fmt.Errorf("bert: allocating backward scratch for %d tokens: %w", T, err)
	}
	off := 0
	take := func(n int) kernels.Buf {
		b := arena.Slice(off, n)
		off += n
		return b
	}
	return &gradScratch{a: take(T * H), b: take(T * H), mid: take(T * H), sum: take(T * H), tmp: take(T * H),
		ctx: take(T * H), qkv: take(3 * T * H), inter: take(T * I)}, nil
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
	if a.Keep && (a.Dropout.Hidden != 0 || a.Dropout.Attention != 0) {
		d := a.Dropout
		switch {
		case !(d.Hidden >= 0 && d.Hidden < 1) || !(d.Attention >= 0 && d.Attention < 1):
			return fmt.Errorf("%w: dropout probabilities %v, %v outside [0, 1)", ErrInput, d.Hidden, d.Attention)
		case d.Offset < 0 || c.NumHiddenLayers >= 1<<12-1 || c.NumAttentionHeads > 1<<8-siteProbs:
			return fmt.Errorf("%w: dropout offset %d with %d layers and %d heads", ErrInput, d.Offset, c.NumHiddenLayers, c.NumAttentionHeads)
		}
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
	if l.packed != nil {
		be.GemmWeight(rows, 1, x, l.In, *l.packed, 0, out, l.Out)
	} else {
		be.Gemm(false, true, rows, l.Out, l.In, 1, x, l.In, l.Weight, l.In, 0, out, l.Out)
	}
	be.AddBias(out, l.Bias, rows, l.Out)
}

// Backward sets dx and adds g's gradients for out = x·Wᵀ + b:
//
//	dx [rows, l.In] = dy·W   g.Weight += dyᵀ·x   g.Bias += Σ_rows dy
//	dy [rows, l.Out]
func (l *Linear) Backward(be kernels.Backend, g *Linear, dx, dy, x kernels.Buf, rows int) {
	if l.packed != nil {
		panic("bert: Linear.Backward after Model.Pack: the weight is packed for inference")
	}
	be.Gemm(false, false, rows, l.In, l.Out, 1, dy, l.Out, l.Weight, l.In, 0, dx, l.In)
	be.Gemm(true, false, l.Out, l.In, rows, 1, dy, l.Out, x, l.In, 1, g.Weight, l.In)
	be.BiasBackward(g.Bias, dy, rows, l.Out)
}

// Forward normalizes rows of x into out, saving the statistics in mean
// and rstd when they are not empty.
//
//	out, x [rows, n.Cols]   mean, rstd [rows]
func (n *LayerNorm) Forward(be kernels.Backend, out, mean, rstd, x kernels.Buf, rows int) {
	be.LayerNorm(out, mean, rstd, x, n.Gamma, n.Beta, rows, n.Cols, n.Eps)
}

// Backward sets dx (may alias dout) and adds g's gradients, from the
// forward's input x and saved statistics.
func (n *LayerNorm) Backward(be kernels.Backend, g *LayerNorm, dx, dout, x, mean, rstd kernels.Buf, rows int) {
	be.LayerNormBackward(dx, g.Gamma, g.Beta, dout, x, n.Gamma, mean, rstd, rows, n.Cols)
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
	if d := &a.drop; d.hidden > 0 {
		be.Dropout(a.Out, a.Out, d.hidden, d.seed, d.keys(siteHidden), d.seq*H)
	}
}

// Backward adds the embedding gradients for dOut, the gradient of a.Out:
// through dropout and the LayerNorm, then scattered into the rows of the
// word, token-type and position tables the tokens used.
func (e *Embeddings) Backward(be kernels.Backend, g *Embeddings, a *EmbeddingActs, dOut kernels.Buf, ids, types, positions []int32, gs *gradScratch) {
	H, T := e.Hidden, len(ids)
	dNorm := dOut
	if d := &a.drop; d.hidden > 0 {
		dNorm = gs.tmp.Slice(0, T*H)
		be.Dropout(dNorm, dOut, d.hidden, d.seed, d.keys(siteHidden), d.seq*H)
	}
	dSum := gs.sum.Slice(0, T*H)
	e.Norm.Backward(be, &g.Norm, dSum, dNorm, a.Sum, a.Mean, a.Rstd, T)
	be.ScatterAdd(g.Word, dSum, ids, H)
	be.ScatterAdd(g.TokenType, dSum, types, H)
	be.ScatterAdd(g.Position, dSum, positions, H)
}

// Forward runs self-attention over x, [batch·seq, Hidden], into a.Out.
func (s *SelfAttention) Forward(be kernels.Backend, a *AttentionActs, x kernels.Buf, mask []int32, batch, seq int) {
	s.QKV.Forward(be, a.QKV, x, batch*seq)
	be.Attention(a.Ctx, a.Probs, a.QKV, mask, batch, seq, s.Heads, s.HeadDim)
	s.output(be, a, x, batch, seq)
}

// output finishes the block once a.Ctx holds the attention output:
// dropout on the probabilities, the output projection, dropout, the
// residual x and the LayerNorm.
func (s *SelfAttention) output(be kernels.Backend, a *AttentionActs, x kernels.Buf, batch, seq int) {
	T, H := batch*seq, s.Heads*s.HeadDim
	d := &a.drop
	if d.attn > 0 {
		be.AttentionDropout(a.Ctx, a.Probs, a.QKV, batch, seq, s.Heads, s.HeadDim, d.attn, d.seed, d.headKeys(s.Heads))
	}
	s.Out.Forward(be, a.Sum, a.Ctx, T)
	if d.hidden > 0 {
		be.Dropout(a.Sum, a.Sum, d.hidden, d.seed, d.keys(siteHidden), seq*H)
	}
	be.Add(a.Sum, a.Sum, x, T*H)
	s.Norm.Forward(be, a.Out, a.Mean, a.Rstd, a.Sum, T)
}

// Backward sets dx, the gradient of the block's input x, and adds the
// block's parameter gradients, given dOut, the gradient of a.Out:
//
//	dSum = LayerNorm⁻¹(dOut)          (the residual passes it to dx)
//	dCtx = dropout(dSum)·Wo           dQKV = attention⁻¹(dCtx)
//	dx   = dQKV·Wqkv + dSum
func (s *SelfAttention) Backward(be kernels.Backend, g *SelfAttention, a *AttentionActs, dx, dOut, x kernels.Buf, mask []int32, batch, seq int, gs *gradScratch) {
	T, H := batch*seq, s.Heads*s.HeadDim
	dSum, dQKV := s.outputBackward(be, g, a, dOut, mask, batch, seq, gs)
	s.QKV.Backward(be, &g.QKV, dx, dQKV, x, T)
	be.Add(dx, dx, dSum, T*H)
}

// outputBackward back-propagates dOut through output and the attention
// itself, adding the parameter gradients of the output projection and
// LayerNorm, and returns dSum (the gradient of the residual sum, which is
// also the residual input's share) and dQKV (of a.QKV), both in gs.
func (s *SelfAttention) outputBackward(be kernels.Backend, g *SelfAttention, a *AttentionActs, dOut kernels.Buf, mask []int32, batch, seq int, gs *gradScratch) (dSum, dQKV kernels.Buf) {
	T, H := batch*seq, s.Heads*s.HeadDim
	dSum = gs.sum.Slice(0, T*H)
	s.Norm.Backward(be, &g.Norm, dSum, dOut, a.Sum, a.Mean, a.Rstd, T)
	dProj := dSum
	d := &a.drop
	if d.hidden > 0 {
		dProj = gs.tmp.Slice(0, T*H)
		be.Dropout(dProj, dSum, d.hidden, d.seed, d.keys(siteHidden), seq*H)
	}
	dCtx := gs.ctx.Slice(0, T*H)
	s.Out.Backward(be, &g.Out, dCtx, dProj, a.Ctx, T)
	dQKV = gs.qkv.Slice(0, 3*T*H)
	be.AttentionBackward(dQKV, dCtx, a.Probs, a.QKV, mask, batch, seq, s.Heads, s.HeadDim, d.attn, d.seed, d.headKeys(s.Heads))
	return dSum, dQKV
}

// Forward runs the feed-forward block over x, [rows, Hidden], into a.Out.
func (f *FFN) Forward(be kernels.Backend, a *FFNActs, x kernels.Buf, rows int) {
	f.Inter.Forward(be, a.Pre, x, rows)
	be.GELU(a.Act, a.Pre, rows*f.Inter.Out)
	f.Out.Forward(be, a.Sum, a.Act, rows)
	if d := &a.drop; d.hidden > 0 {
		be.Dropout(a.Sum, a.Sum, d.hidden, d.seed, d.keys(siteFFN), d.seq*f.Out.Out)
	}
	be.Add(a.Sum, a.Sum, x, rows*f.Out.Out)
	f.Norm.Forward(be, a.Out, a.Mean, a.Rstd, a.Sum, rows)
}

// Backward sets dx, the gradient of the block's input x [rows, Hidden],
// and adds the block's parameter gradients, given dOut, the gradient of
// a.Out:
//
//	dSum = LayerNorm⁻¹(dOut)   dAct = dropout(dSum)·Wo
//	dPre = dAct·GELU'(Pre)     dx = dPre·Wi + dSum
func (f *FFN) Backward(be kernels.Backend, g *FFN, a *FFNActs, dx, dOut, x kernels.Buf, rows int, gs *gradScratch) {
	H, I := f.Out.Out, f.Inter.Out
	dSum := gs.sum.Slice(0, rows*H)
	f.Norm.Backward(be, &g.Norm, dSum, dOut, a.Sum, a.Mean, a.Rstd, rows)
	dProj := dSum
	if d := &a.drop; d.hidden > 0 {
		dProj = gs.tmp.Slice(0, rows*H)
		be.Dropout(dProj, dSum, d.hidden, d.seed, d.keys(siteFFN), d.seq*H)
	}
	dAct := gs.inter.Slice(0, rows*I)
	f.Out.Backward(be, &g.Out, dAct, dProj, a.Act, rows)
	be.GELUBackward(dAct, dAct, a.Pre, rows*I)
	f.Inter.Backward(be, &g.Inter, dx, dAct, x, rows)
	be.Add(dx, dx, dSum, rows*H)
}

// Forward runs one encoder layer over x, [batch·seq, Hidden], into
// a.FFN.Out.
func (l *Layer) Forward(be kernels.Backend, a *LayerActs, x kernels.Buf, mask []int32, batch, seq int) {
	l.Attention.Forward(be, &a.Attention, x, mask, batch, seq)
	l.FFN.Forward(be, &a.FFN, a.Attention.Out, batch*seq)
}

// Backward sets dx, the gradient of the layer's input x, from dOut, the
// gradient of a.FFN.Out, adding the layer's parameter gradients to g.
func (l *Layer) Backward(be kernels.Backend, g *Layer, a *LayerActs, dx, dOut, x kernels.Buf, mask []int32, batch, seq int, gs *gradScratch) {
	dMid := gs.mid.Slice(0, batch*seq*l.Attention.Heads*l.Attention.HeadDim)
	l.FFN.Backward(be, &g.FFN, &a.FFN, dMid, dOut, a.Attention.Out, batch*seq, gs)
	l.Attention.Backward(be, &g.Attention, &a.Attention, dx, dMid, x, mask, batch, seq, gs)
}
