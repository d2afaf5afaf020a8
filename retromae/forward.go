package retromae

import (
	"errors"
	"fmt"
	"math"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
)

// Ignore labels a position no loss reads (PyTorch's ignore_index).
const Ignore = -100

// ErrBatch means a Batch does not fit the model or the Acts.
var ErrBatch = errors.New("retromae: invalid batch")

// Batch is one collated batch of B right-padded sequences of L tokens,
// as FlagEmbedding's RetroMAECollator lays it out:
//
//	DecoderInputIDs  [B, L]     the original ids, [CLS] … [SEP] then padding
//	EncoderInputIDs  [B, L]     the ids after masking (80% [MASK], 10% random, 10% kept)
//	AttentionMask    [B, L]     1 for real tokens, 0 for padding
//	EncoderLabels    [B, L]     the original id where masked, Ignore elsewhere
//	DecoderVisible   [B, L, L]  1 where decoder query i may attend to key j
//	DecoderLabels    [B, L]     the original ids; Ignore at [CLS], at the last
//	                            real token ([SEP]) and at padding
type Batch struct {
	B, L            int
	DecoderInputIDs []int32
	EncoderInputIDs []int32
	AttentionMask   []int32
	EncoderLabels   []int32
	DecoderVisible  []int32
	DecoderLabels   []int32
}

// Loss is what one Forward computed: the encoder's and the decoder's
// masked-LM cross-entropies (means over their labelled positions, 0 when
// a batch has none) and their sum, the objective.
type Loss struct {
	Total, Encoder, Decoder      float64
	EncoderTokens, DecoderTokens int
}

// headActs are the tensors of one use of the masked-LM head, over the R
// labelled positions of a batch.
//
//	rows, labels  [R]     positions in [B·L] and their labels
//	X             [R, H]  the hidden states at rows
//	Pre, Act      [R, H]  X·Denseᵀ + b, GELU(Pre)
//	Mean, Rstd    [R]     the transform LayerNorm's statistics
//	Out           [R, H]  LayerNorm(Act), the input of the tied decoder
//	DOut          [R, H]  the loss's gradient with respect to Out (training)
type headActs struct {
	rows, labels                       []int32
	X, Pre, Act, Mean, Rstd, Out, DOut kernels.Buf
}

// Acts hold one Forward's tensors for batches of up to MaxBatch
// sequences of up to MaxSeq tokens (T = MaxBatch·MaxSeq), and Backward's
// working memory. One Acts serves one goroutine at a time.
//
//	Enc            the encoder's activations (bert.Activations)
//	CLS    [B, H]  the sentence vector: the encoder's last state at [CLS]
//	KV     [T, H]  key/value stream h2 = [CLS ; Embeddings(decoder ids)[1:]]
//	Query  [T, H]  query stream h1 = LayerNorm(CLS + position + token type 0)
//	Dec            the decoder layer's activations (its output: Dec.FFN.Out)
//
// With Train set (at NewActs), Forward keeps what Backward needs and also
// computes the gradient of the head's logits chunk by chunk (llm.c's
// fused classifier), so the [positions × vocabulary] logits of a whole
// batch never exist at once.
type Acts struct {
	Train bool
	// Dropout sets training-time dropout (Hidden on the embeddings and
	// each block's output, Attention on attention probabilities) in the
	// encoder, the two decoder streams and the decoder layer; masks are
	// drawn from Seed per sequence (Offset + its index) and site, as in
	// bert.Dropout. Zero: none.
	Dropout bert.Dropout
	// GradScale multiplies every gradient (1/steps when accumulating);
	// 0 means 1.
	GradScale float32

	Enc   *bert.Activations
	Dec   *bert.CrossActs
	CLS   kernels.Buf
	KV    kernels.Buf
	Query kernels.Buf

	MaxBatch, MaxSeq int
	Batch, Seq       int
	Loss             Loss

	kvEmb, kvFull      bert.EmbeddingActs // h2 before [CLS] replaces position 0 (Out is KV), cut and whole
	sum1, mean1, rstd1 kernels.Buf        // h1's LayerNorm input and statistics
	enc, dec           headActs
	logits             kernels.Buf // [chunk, V]
	dWord, dBias       kernels.Buf // the head's tied-decoder and bias gradients of this Forward
	dWordSet           bool
	chunk              int
	host               []float32 // logits on the host, for device backends
	// Backward's buffers.
	dEnc, dDec, dQuery, dKV, dCLS kernels.Buf

	positions, zeros, seqOf, clsRows []int32
	streams                          []uint64
	zeroF                            []float32
	decIDs                           []int32
	visible                          []int32
	forwarded                        bool
	be                               kernels.Backend
	arena                            kernels.Buf
}

// logitsBudget bounds one chunk of logits, in values (16 MiB of float32).
const logitsBudget = 1 << 22

// Sites of the decoder streams' embedding dropout, apart from the
// encoder's (layers 0…N) and the decoder layer's (bert's cross site).
const (
	siteStreams = (1<<12 - 2) << 8
	siteKV      = siteStreams | 0
	siteQuery   = siteStreams | 1
)

// NewActs allocates Acts for batches of up to maxBatch sequences of up to
// maxSeq tokens; train keeps what Backward needs.
func (m *Model) NewActs(maxBatch, maxSeq int, train bool) (*Acts, error) {
	c := m.Encoder.Config
	if maxBatch <= 0 || maxSeq < 2 {
		return nil, fmt.Errorf("%w: NewActs(%d sequences, %d tokens each)", ErrBatch, maxBatch, maxSeq)
	}
	T, H, V := maxBatch*maxSeq, c.HiddenSize, c.VocabSize
	enc, err := m.Encoder.NewActivations(T, maxSeq, train)
	if err != nil {
		return nil, err
	}
	dec, err := m.Params.Decoder.NewCrossActs(m.Backend, T, maxSeq)
	if err != nil {
		return nil, err
	}
	chunk := max(1, min(T, logitsBudget/V))
	head := 4*T*H + 2*T
	if train {
		head += T * H
	}
	need := maxBatch*H + 2*(2*T*H+2*T) + 2*head + chunk*V
	if train {
		need += V*H + V + 4*T*H + maxBatch*H
	}
	arena, err := m.Backend.Alloc(need)
	if err != nil {
		return nil, fmt.Errorf("retromae: allocating activations for %d tokens: %w", T, err)
	}
	off := 0
	take := func(n int) kernels.Buf {
		b := arena.Slice(off, n)
		off += n
		return b
	}
	a := &Acts{Train: train, Enc: enc, Dec: dec, MaxBatch: maxBatch, MaxSeq: maxSeq, chunk: chunk, be: m.Backend, arena: arena}
	a.CLS = take(maxBatch * H)
	a.kvFull = bert.EmbeddingActs{Sum: take(T * H), Mean: take(T), Rstd: take(T), Out: take(T * H)}
	a.KV = a.kvFull.Out
	a.sum1, a.mean1, a.rstd1, a.Query = take(T*H), take(T), take(T), take(T*H)
	for _, h := range []*headActs{&a.enc, &a.dec} {
		h.X, h.Pre, h.Act, h.Out, h.Mean, h.Rstd = take(T*H), take(T*H), take(T*H), take(T*H), take(T), take(T)
		if train {
			h.DOut = take(T * H)
		}
	}
	a.logits = take(chunk * V)
	if train {
		a.dWord, a.dBias = take(V*H), take(V)
		a.dEnc, a.dDec, a.dQuery, a.dKV, a.dCLS = take(T*H), take(T*H), take(T*H), take(T*H), take(maxBatch*H)
	}
	if off != need {
		panic(fmt.Sprintf("retromae: activation layout covers %d of %d values", off, need))
	}
	if a.logits.Host() == nil {
		a.host = make([]float32, chunk*V)
	}
	a.positions, a.zeros, a.seqOf = make([]int32, T), make([]int32, T), make([]int32, T)
	a.clsRows = make([]int32, maxBatch)
	a.zeroF = make([]float32, max(T*H, V, maxBatch*H))
	return a, nil
}

// Release returns the activations' memory to the Backend; a must not be
// used afterwards.
func (a *Acts) Release() {
	if a.be != nil {
		a.Enc.Release()
		a.Dec.Release()
		a.be.Free(a.arena)
		a.be = nil
	}
}

// shape cuts the views to batch×seq tokens and fills the index tables.
func (a *Acts) shape(c bert.Config, batch, seq int) {
	T, H := batch*seq, c.HiddenSize
	a.Batch, a.Seq = batch, seq
	f := a.kvFull
	a.kvEmb = bert.EmbeddingActs{Sum: f.Sum.Slice(0, T*H), Mean: f.Mean.Slice(0, T), Rstd: f.Rstd.Slice(0, T), Out: f.Out.Slice(0, T*H)}
	for i := range T {
		a.positions[i] = int32(i % seq)
		a.seqOf[i] = int32(i / seq)
	}
	for b := range batch {
		a.clsRows[b] = int32(b * seq)
	}
	if need := batch; cap(a.streams) < need {
		a.streams = make([]uint64, need)
	}
}

// streamKeys returns the dropout stream of each sequence at site.
func (a *Acts) streamKeys(site uint64) []uint64 {
	k := a.streams[:a.Batch]
	for b := range k {
		k[b] = uint64(a.Dropout.Offset+b)<<20 | site
	}
	return k
}

// check validates b against m and a.
func (m *Model) check(a *Acts, b *Batch) error {
	c := m.Encoder.Config
	switch {
	case a == nil || b == nil:
		return fmt.Errorf("%w: nil Acts or Batch", ErrBatch)
	case b.B <= 0 || b.L < 2 || b.B > a.MaxBatch || b.L > a.MaxSeq:
		return fmt.Errorf("%w: %d sequences of %d tokens for Acts of %d × %d", ErrBatch, b.B, b.L, a.MaxBatch, a.MaxSeq)
	}
	T := b.B * b.L
	for _, f := range []struct {
		name string
		v    []int32
		n    int
	}{
		{"DecoderInputIDs", b.DecoderInputIDs, T}, {"EncoderInputIDs", b.EncoderInputIDs, T},
		{"AttentionMask", b.AttentionMask, T}, {"EncoderLabels", b.EncoderLabels, T},
		{"DecoderVisible", b.DecoderVisible, T * b.L}, {"DecoderLabels", b.DecoderLabels, T},
	} {
		if len(f.v) != f.n {
			return fmt.Errorf("%w: %s holds %d values, want %d for %d × %d", ErrBatch, f.name, len(f.v), f.n, b.B, b.L)
		}
	}
	for _, f := range []struct {
		name string
		v    []int32
	}{{"DecoderInputIDs", b.DecoderInputIDs}, {"EncoderLabels", b.EncoderLabels}, {"DecoderLabels", b.DecoderLabels}} {
		for i, id := range f.v {
			if (id < 0 || int(id) >= c.VocabSize) && !(id == Ignore && f.name != "DecoderInputIDs") {
				return fmt.Errorf("%w: %s[%d] = %d outside the vocabulary of %d", ErrBatch, f.name, i, id, c.VocabSize)
			}
		}
	}
	return nil
}

// Forward runs RetroMAE's forward pass over b and returns its losses
// (also kept in a.Loss), following FlagEmbedding's
// RetroMAEForPretraining.forward:
//
//  1. the encoder (BertForMaskedLM) on EncoderInputIDs; the encoder loss
//     is the head's mean cross-entropy over EncoderLabels
//  2. CLS = its last hidden state at position 0
//  3. KV = [CLS ; Embeddings(DecoderInputIDs)[1:]], the encoder's own
//     embedding module (word + position + token type 0, LayerNorm) on the
//     unmasked ids
//  4. Query = LayerNorm(CLS + position + token type 0), the same module
//     with CLS as every position's input embedding
//  5. the decoder layer: queries from Query (its residual too), keys and
//     values from KV, under DecoderVisible
//  6. the decoder loss: the same head's mean cross-entropy over
//     DecoderLabels
//  7. Total = encoder + decoder
func (m *Model) Forward(a *Acts, b *Batch) (Loss, error) {
	if err := m.check(a, b); err != nil {
		return Loss{}, err
	}
	be, c := m.Backend, m.Encoder.Config
	B, L := b.B, b.L
	T, H := B*L, c.HiddenSize
	a.forwarded = false
	a.shape(c, B, L)
	drop := a.Train && (a.Dropout.Hidden > 0 || a.Dropout.Attention > 0)
	a.Enc.Dropout = bert.Dropout{}
	a.Dec.Dropout = bert.Dropout{}
	if drop {
		a.Enc.Dropout = a.Dropout
		a.Dec.Dropout = a.Dropout
	}

	// 1-2. Encoder and sentence vector.
	if err := m.Encoder.Forward(a.Enc, b.EncoderInputIDs, nil, b.AttentionMask, B, L); err != nil {
		return Loss{}, err
	}
	cls := a.CLS.Slice(0, B*H)
	be.Gather(cls, a.Enc.Hidden, a.clsRows[:B], H, 0)

	// 3. Key/value stream.
	e := &m.Encoder.Params.Embeddings
	kv := a.kvEmb.Out
	e.Forward(be, &a.kvEmb, b.DecoderInputIDs, a.zeros[:T], a.positions[:T])
	if drop && a.Dropout.Hidden > 0 {
		be.Dropout(kv, kv, a.Dropout.Hidden, a.Dropout.Seed, a.streamKeys(siteKV), L*H)
	}
	for i := range B {
		be.Gather(kv.Slice(i*L*H, H), cls, a.seqOf[i*L:i*L+1], H, 0)
	}

	// 4. Query stream.
	q, sum1 := a.Query.Slice(0, T*H), a.sum1.Slice(0, T*H)
	be.Gather(sum1, cls, a.seqOf[:T], H, 0)
	be.Gather(sum1, e.Position, a.positions[:T], H, 1)
	be.Gather(sum1, e.TokenType, a.zeros[:T], H, 1)
	e.Norm.Forward(be, q, a.mean1.Slice(0, T), a.rstd1.Slice(0, T), sum1, T)
	if drop && a.Dropout.Hidden > 0 {
		be.Dropout(q, q, a.Dropout.Hidden, a.Dropout.Seed, a.streamKeys(siteQuery), L*H)
	}

	// 5. Decoder layer.
	a.visible = append(a.visible[:0], b.DecoderVisible...)
	if err := m.Params.Decoder.ForwardCross(be, a.Dec, q, kv, a.visible, B, L); err != nil {
		return Loss{}, err
	}

	// 1, 6. The head on both sides.
	a.decIDs = append(a.decIDs[:0], b.DecoderInputIDs...)
	a.dWordSet = false
	if a.Train {
		if err := be.Upload(a.dBias, a.zeroF[:c.VocabSize]); err != nil {
			return Loss{}, err
		}
	}
	var l Loss
	var err error
	if l.Encoder, l.EncoderTokens, err = m.headForward(a, &a.enc, a.Enc.Hidden, b.EncoderLabels); err != nil {
		return Loss{}, err
	}
	if l.Decoder, l.DecoderTokens, err = m.headForward(a, &a.dec, a.Dec.FFN.Out, b.DecoderLabels); err != nil {
		return Loss{}, err
	}
	l.Total = l.Encoder + l.Decoder
	a.Loss = l
	a.forwarded = a.Train
	return l, nil
}

// headForward runs the masked-LM head over the labelled rows of hidden
// [T, H] and returns the mean cross-entropy and the number of labels. In
// training it also leaves the gradient of that mean (times GradScale)
// with respect to the head's output in h.DOut and adds the tied decoder's
// and the bias's gradients to a.dWord and a.dBias.
func (m *Model) headForward(a *Acts, h *headActs, hidden kernels.Buf, labels []int32) (float64, int, error) {
	be, c := m.Backend, m.Encoder.Config
	H, V := c.HiddenSize, c.VocabSize
	h.rows, h.labels = h.rows[:0], h.labels[:0]
	for i, l := range labels {
		if l != Ignore {
			h.rows = append(h.rows, int32(i))
			h.labels = append(h.labels, l)
		}
	}
	R := len(h.rows)
	if R == 0 {
		return 0, 0, nil
	}
	hd := &m.Params.Head
	x, pre, act, out := h.X.Slice(0, R*H), h.Pre.Slice(0, R*H), h.Act.Slice(0, R*H), h.Out.Slice(0, R*H)
	be.Gather(x, hidden, h.rows, H, 0)
	hd.Dense.Forward(be, pre, x, R)
	be.GELU(act, pre, R*H)
	hd.Norm.Forward(be, out, h.Mean.Slice(0, R), h.Rstd.Slice(0, R), act, R)

	word := m.Encoder.Params.Embeddings.Word
	scale := a.GradScale
	if scale == 0 {
		scale = 1
	}
	scale /= float32(R)
	var sum float64
	for lo := 0; lo < R; lo += a.chunk {
		n := min(a.chunk, R-lo)
		logits := a.logits.Slice(0, n*V)
		o := out.Slice(lo*H, n*H)
		be.Gemm(false, true, n, V, H, 1, o, H, word, H, 0, logits, V)
		be.AddBias(logits, hd.Bias, n, V)
		host := logits.Host()
		if host == nil {
			host = a.host[:n*V]
			if err := be.Download(host, logits); err != nil {
				return 0, 0, err
			}
		}
		sum += crossEntropy(host, h.labels[lo:lo+n], V, a.Train, scale)
		if !a.Train {
			continue
		}
		if logits.Host() == nil {
			if err := be.Upload(logits, host); err != nil {
				return 0, 0, err
			}
		}
		// logits = o·Wordᵀ + bias:  dWord += dlogitsᵀ·o,  dBias += Σ dlogits,  dOut = dlogits·Word
		beta := float32(1)
		if !a.dWordSet {
			beta, a.dWordSet = 0, true
		}
		be.Gemm(true, false, V, H, n, 1, logits, V, o, H, beta, a.dWord, H)
		be.BiasBackward(a.dBias, logits, n, V)
		be.Gemm(false, false, n, H, V, 1, logits, V, word, H, 0, h.DOut.Slice(lo*H, n*H), H)
	}
	return sum / float64(R), R, nil
}

// crossEntropy returns the summed cross-entropy of rows of logits [n, V]
// against labels and, with grad, replaces each row by the loss's
// gradient times scale: scale·(softmax(row) − onehot(label)).
func crossEntropy(logits []float32, labels []int32, V int, grad bool, scale float32) float64 {
	var sum float64
	for r, lab := range labels {
		row := logits[r*V : (r+1)*V]
		mx, xl := kernels.Max(row), row[lab]
		kernels.Softmax(row, V, nil)
		// The largest probability is exp(0)/Σexp(x−max): log-sum-exp is
		// max − log of it.
		sum += float64(mx) - math.Log(float64(kernels.Max(row))) - float64(xl)
		if grad {
			row[lab] -= 1
			kernels.Scale(scale, row)
		}
	}
	return sum
}

// Backward back-propagates the last Forward's total loss (times
// GradScale) through both heads, the decoder layer, both streams and the
// encoder, adding every parameter's gradient into g. The tied word
// embeddings, position and token-type embeddings and the embedding
// LayerNorm gather the gradients of all their uses.
func (m *Model) Backward(g *Grads, a *Acts) error {
	c := m.Encoder.Config
	switch {
	case a == nil || !a.Train:
		return fmt.Errorf("%w: Backward needs Acts made for training", ErrBatch)
	case !a.forwarded:
		return fmt.Errorf("%w: Backward before Forward", ErrBatch)
	case g == nil || g.Encoder == nil || g.Params == nil || g.Encoder.Arena.Len() != c.NumParams() || g.Params.Arena.Len() != NumParams(c):
		return fmt.Errorf("%w: gradients are not Grads of this model", ErrBatch)
	}
	a.forwarded = false
	be := m.Backend
	B, L, H, V := a.Batch, a.Seq, c.HiddenSize, c.VocabSize
	T := B * L
	ge := &g.Encoder.Embeddings
	e := &m.Encoder.Params.Embeddings
	if a.dWordSet {
		be.Add(ge.Word, ge.Word, a.dWord, V*H)
	}
	be.Add(g.Params.Head.Bias, g.Params.Head.Bias, a.dBias, V)

	// 6-5. Decoder head, then the decoder layer.
	dDec, dQ, dKV := a.dDec.Slice(0, T*H), a.dQuery.Slice(0, T*H), a.dKV.Slice(0, T*H)
	if err := m.headBackward(g, a, &a.dec, dDec); err != nil {
		return err
	}
	q, kv := a.Query.Slice(0, T*H), a.KV.Slice(0, T*H)
	if err := m.Params.Decoder.BackwardCross(be, &g.Params.Decoder, a.Dec, dQ, dKV, dDec, q, kv); err != nil {
		return err
	}

	// 3. Key/value stream: position 0 is CLS's; the rest go back
	// through dropout and the embedding module.
	dCLS := a.dCLS.Slice(0, B*H)
	be.Gather(dCLS, dKV, a.clsRows[:B], H, 0)
	for i := range B {
		if err := be.Upload(dKV.Slice(i*L*H, H), a.zeroF[:H]); err != nil {
			return err
		}
	}
	// Forward dropped the streams out when it gave the encoder dropout.
	drop := a.Enc.Dropout.Hidden > 0
	if drop {
		be.Dropout(dKV, dKV, a.Dropout.Hidden, a.Dropout.Seed, a.streamKeys(siteKV), L*H)
	}
	e.Norm.Backward(be, &ge.Norm, dKV, dKV, a.kvEmb.Sum, a.kvEmb.Mean, a.kvEmb.Rstd, T)
	be.ScatterAdd(ge.Word, dKV, a.decIDs, H)
	be.ScatterAdd(ge.TokenType, dKV, a.zeros[:T], H)
	be.ScatterAdd(ge.Position, dKV, a.positions[:T], H)

	// 4. Query stream: CLS is every position's input.
	if drop {
		be.Dropout(dQ, dQ, a.Dropout.Hidden, a.Dropout.Seed, a.streamKeys(siteQuery), L*H)
	}
	e.Norm.Backward(be, &ge.Norm, dQ, dQ, a.sum1.Slice(0, T*H), a.mean1.Slice(0, T), a.rstd1.Slice(0, T), T)
	be.ScatterAdd(ge.Position, dQ, a.positions[:T], H)
	be.ScatterAdd(ge.TokenType, dQ, a.zeros[:T], H)
	be.ScatterAdd(dCLS, dQ, a.seqOf[:T], H)

	// 1-2. Encoder head and the sentence vector, then the encoder.
	dEnc := a.dEnc.Slice(0, T*H)
	if err := m.headBackward(g, a, &a.enc, dEnc); err != nil {
		return err
	}
	be.ScatterAdd(dEnc, dCLS, a.clsRows[:B], H)
	return m.Encoder.Backward(g.Encoder, a.Enc, dEnc)
}

// headBackward continues the head's backward pass from h.DOut through
// the transform, adding its gradients to g, and sets dHidden [T, H] to
// the gradient of the hidden states the head read (0 at other rows).
func (m *Model) headBackward(g *Grads, a *Acts, h *headActs, dHidden kernels.Buf) error {
	be := m.Backend
	H := m.Encoder.Config.HiddenSize
	if err := be.Upload(dHidden, a.zeroF[:dHidden.Len()]); err != nil {
		return err
	}
	R := len(h.rows)
	if R == 0 {
		return nil
	}
	hd, gh := &m.Params.Head, &g.Params.Head
	dOut := h.DOut.Slice(0, R*H)
	// LayerNorm and GELU backward in place in DOut; dX into Act, which
	// only the LayerNorm backward still needed.
	hd.Norm.Backward(be, &gh.Norm, dOut, dOut, h.Act.Slice(0, R*H), h.Mean.Slice(0, R), h.Rstd.Slice(0, R), R)
	be.GELUBackward(dOut, dOut, h.Pre.Slice(0, R*H), R*H)
	dX := h.Act.Slice(0, R*H)
	hd.Dense.Backward(be, &gh.Dense, dX, dOut, h.X.Slice(0, R*H), R)
	be.ScatterAdd(dHidden, dX, h.rows, H)
	return nil
}
