package bert

import (
	"fmt"

	"github.com/kotodama-ai/kotodama/kernels"
)

// A Layer also runs as a decoder layer whose queries and keys differ, as
// RetroMAE's enhanced decoder (FlagEmbedding's BertLayerForDecoder) uses
// one: queries from one stream x, keys and values from another stream kv,
// and a visibility matrix per sequence in place of the key mask.
//
//	Q = x·Wqᵀ + bq     K = kv·Wkᵀ + bk     V = kv·Wvᵀ + bv
//	ctx = softmax(QKᵀ/√d, visible rows)·V, per head
//	out = LayerNorm(ctx·Woᵀ + bo + x), then the FFN as in the encoder
//
// The residual of the attention block is x, the query stream.

// crossSite is the dropout site number of a layer run by ForwardCross,
// apart from the embeddings (0) and encoder layers (1…) of a Model.
const crossSite = 1<<12 - 1

// CrossActs are the tensors of a Layer run by ForwardCross over batches
// of up to MaxTokens tokens in sequences of up to MaxSeq, kept for
// BackwardCross; the views in LayerActs are cut to the last ForwardCross's
// Batch × Seq (AttentionActs.QKV holds Q of x beside K and V of kv).
type CrossActs struct {
	LayerActs
	Batch, Seq int

	// Dropout turns on training-time dropout inside the layer (hidden
	// and attention probabilities); the zero value drops nothing. Masks
	// are keyed as Activations' are, at a site of their own.
	Dropout Dropout

	MaxTokens, MaxSeq int

	heads, hidden, inter int
	full                 LayerActs
	visible, ones        []int32
	streams              []uint64
	grad                 *gradScratch
	be                   kernels.Backend
	arena                kernels.Buf
}

// NewCrossActs allocates the tensors of ForwardCross on l for up to
// maxTokens tokens in sequences of up to maxSeq.
func (l *Layer) NewCrossActs(be kernels.Backend, maxTokens, maxSeq int) (*CrossActs, error) {
	if maxSeq <= 0 || maxTokens < maxSeq {
		return nil, fmt.Errorf("%w: NewCrossActs(%d tokens, %d per sequence)", ErrInput, maxTokens, maxSeq)
	}
	heads, H, I, T := l.Attention.Heads, l.Attention.Heads*l.Attention.HeadDim, l.FFN.Inter.Out, maxTokens
	need := T*(3*H+H+H+H+I+I+H+H) + 4*T + T*heads*maxSeq
	arena, err := be.Alloc(need)
	if err != nil {
		return nil, fmt.Errorf("bert: allocating decoder-layer activations for %d tokens: %w", T, err)
	}
	off := 0
	take := func(n int) kernels.Buf {
		b := arena.Slice(off, n)
		off += n
		return b
	}
	a := &CrossActs{MaxTokens: T, MaxSeq: maxSeq, heads: heads, hidden: H, inter: I, be: be, arena: arena,
		visible: make([]int32, 0, T*maxSeq), ones: make([]int32, T)}
	a.full = LayerActs{
		Attention: AttentionActs{QKV: take(T * 3 * H), Probs: take(T * heads * maxSeq),
			Ctx: take(T * H), Sum: take(T * H), Mean: take(T), Rstd: take(T), Out: take(T * H)},
		FFN: FFNActs{Pre: take(T * I), Act: take(T * I), Sum: take(T * H), Mean: take(T), Rstd: take(T), Out: take(T * H)},
	}
	for i := range a.ones {
		a.ones[i] = 1
	}
	return a, nil
}

// Release returns the activations' memory to the Backend; a must not be
// used afterwards.
func (a *CrossActs) Release() {
	if a.be != nil {
		a.be.Free(a.arena)
		a.be, a.arena = nil, kernels.Buf{}
	}
}

// shape cuts the views to batch×seq tokens and sets the dropout sites.
func (a *CrossActs) shape(batch, seq int) {
	H, I, T := a.hidden, a.inter, batch*seq
	at, ff := a.full.Attention, a.full.FFN
	a.Batch, a.Seq = batch, seq
	a.LayerActs = LayerActs{
		Attention: AttentionActs{QKV: at.QKV.Slice(0, T*3*H), Probs: at.Probs.Slice(0, batch*a.heads*seq*seq),
			Ctx: at.Ctx.Slice(0, T*H), Sum: at.Sum.Slice(0, T*H), Mean: at.Mean.Slice(0, T), Rstd: at.Rstd.Slice(0, T), Out: at.Out.Slice(0, T*H)},
		FFN: FFNActs{Pre: ff.Pre.Slice(0, T*I), Act: ff.Act.Slice(0, T*I), Sum: ff.Sum.Slice(0, T*H),
			Mean: ff.Mean.Slice(0, T), Rstd: ff.Rstd.Slice(0, T), Out: ff.Out.Slice(0, T*H)},
	}
	d := dropSite{}
	if a.Dropout.Hidden > 0 || a.Dropout.Attention > 0 {
		if need := batch * max(1, a.heads); cap(a.streams) < need {
			a.streams = make([]uint64, need)
		}
		d = dropSite{hidden: a.Dropout.Hidden, attn: a.Dropout.Attention, seed: a.Dropout.Seed,
			first: a.Dropout.Offset, batch: batch, seq: seq, streams: a.streams, layer: crossSite}
	}
	a.Attention.drop = d
	a.FFN.drop = d
}

// ForwardCross runs l as a decoder layer, leaving its output in
// a.FFN.Out:
//
//	x, kv    [batch·seq, Hidden]   query stream (and residual), key/value stream
//	visible  [batch, seq, seq]     1 where query i may attend to key j
//	a.FFN.Out [batch·seq, Hidden]
//
// A query row with nothing visible (padding) gets a zero attention output
// (see kernels.Backend.AttentionVisible). x, kv and visible must stay
// unchanged until BackwardCross.
func (l *Layer) ForwardCross(be kernels.Backend, a *CrossActs, x, kv kernels.Buf, visible []int32, batch, seq int) error {
	H := l.Attention.Heads * l.Attention.HeadDim
	T := batch * seq
	switch {
	case l.Attention.QKV.packed != nil:
		return fmt.Errorf("%w: ForwardCross", ErrPacked)
	case a == nil || a.hidden != H || a.inter != l.FFN.Inter.Out || a.heads != l.Attention.Heads:
		return fmt.Errorf("%w: CrossActs made for another layer", ErrInput)
	case batch <= 0 || seq <= 0 || seq > a.MaxSeq || T > a.MaxTokens:
		return fmt.Errorf("%w: batch %d × seq %d for CrossActs of %d tokens / %d per sequence", ErrInput, batch, seq, a.MaxTokens, a.MaxSeq)
	case x.Len() < T*H || kv.Len() < T*H || len(visible) != T*seq:
		return fmt.Errorf("%w: streams of %d and %d values, visibility of %d for batch %d × seq %d × hidden %d", ErrInput, x.Len(), kv.Len(), len(visible), batch, seq, H)
	}
	if d := a.Dropout; !(d.Hidden >= 0 && d.Hidden < 1) || !(d.Attention >= 0 && d.Attention < 1) || d.Offset < 0 {
		return fmt.Errorf("%w: dropout %v, %v (offset %d)", ErrInput, d.Hidden, d.Attention, d.Offset)
	}
	a.shape(batch, seq)
	a.visible = append(a.visible[:0], visible...)
	s := &l.Attention
	at := &a.Attention
	// Q of x and K, V of kv side by side, as Attention lays out QKV.
	w := s.QKV.Weight
	be.Gemm(false, true, T, H, H, 1, x, H, w, H, 0, at.QKV, 3*H)
	be.Gemm(false, true, T, 2*H, H, 1, kv, H, w.Slice(H*H, 2*H*H), H, 0, at.QKV.Slice(H, 3*T*H-H), 3*H)
	be.AddBias(at.QKV, s.QKV.Bias, T, 3*H)
	be.AttentionVisible(at.Ctx, at.Probs, at.QKV, a.visible, batch, seq, s.Heads, s.HeadDim)
	s.output(be, at, x, batch, seq)
	l.FFN.Forward(be, &a.FFN, at.Out, T)
	return nil
}

// BackwardCross back-propagates dOut, the gradient of a.FFN.Out after the
// last ForwardCross on a, setting dx and dkv, the gradients of the query
// and key/value streams [Batch·Seq, Hidden], and adding the layer's
// parameter gradients to g (a Layer of the same shape). dOut is only
// read; dx and dkv must not alias it or each other.
//
//	dQKV = attention⁻¹(output⁻¹(dOut))       (the encoder's steps)
//	dx   = dQ·Wq + dSum                      dkv = [dK dV]·[Wk; Wv]
//	gWq += dQᵀ·x   g[Wk; Wv] += [dK dV]ᵀ·kv   gb += Σ_rows dQKV
func (l *Layer) BackwardCross(be kernels.Backend, g *Layer, a *CrossActs, dx, dkv, dOut, x, kv kernels.Buf) error {
	H := l.Attention.Heads * l.Attention.HeadDim
	T := a.Batch * a.Seq
	switch {
	case l.Attention.QKV.packed != nil:
		return fmt.Errorf("%w: BackwardCross", ErrPacked)
	case T == 0 || len(a.visible) != T*a.Seq:
		return fmt.Errorf("%w: BackwardCross before ForwardCross", ErrInput)
	case g == nil || g.Attention.QKV.Weight.Len() != l.Attention.QKV.Weight.Len() || g.FFN.Inter.Weight.Len() != l.FFN.Inter.Weight.Len():
		return fmt.Errorf("%w: gradients are not a Layer of this shape", ErrInput)
	case dOut.Len() < T*H || dx.Len() < T*H || dkv.Len() < T*H:
		return fmt.Errorf("%w: gradients of %d, %d, %d values, want %d", ErrInput, dOut.Len(), dx.Len(), dkv.Len(), T*H)
	}
	if a.grad == nil {
		gs, err := newGradScratch(be, a.MaxTokens, H, a.inter)
		if err != nil {
			return err
		}
		a.grad = gs
	}
	gs := a.grad
	dMid := gs.mid.Slice(0, T*H)
	l.FFN.Backward(be, &g.FFN, &a.FFN, dMid, dOut, a.Attention.Out, T, gs)
	s, gsa := &l.Attention, &g.Attention
	// Probabilities are zero wherever a key was invisible, so the
	// attention backward runs over every key.
	dSum, dQKV := s.outputBackward(be, gsa, &a.Attention, dMid, a.ones[:T], a.Batch, a.Seq, gs)
	w, gw := s.QKV.Weight, gsa.QKV.Weight
	dKV := dQKV.Slice(H, 3*T*H-H)
	be.Gemm(false, false, T, H, H, 1, dQKV, 3*H, w, H, 0, dx, H)
	be.Gemm(false, false, T, H, 2*H, 1, dKV, 3*H, w.Slice(H*H, 2*H*H), H, 0, dkv, H)
	be.Gemm(true, false, H, H, T, 1, dQKV, 3*H, x, H, 1, gw, H)
	be.Gemm(true, false, 2*H, H, T, 1, dKV, 3*H, kv, H, 1, gw.Slice(H*H, 2*H*H), H)
	be.BiasBackward(gsa.QKV.Bias, dQKV, T, 3*H)
	be.Add(dx, dx, dSum, T*H)
	return nil
}
