package train

import (
	"context"
	"errors"
	"fmt"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/pooling"
)

// BERT trains a bert.Model with a pooling module as an Encoder: Encode
// pads the sequences of a call to their longest (right padding, type ids
// 0), runs the encoder and pools; its Tape back-propagates through both.
// Gradients accumulate in an arena laid out like the model's parameters.
// Activations are reused across calls, so a BERT is not safe for
// concurrent use.
type BERT struct {
	Model *bert.Model
	Pool  *pooling.Pooling

	grads  *bert.Params
	params []Param
	// Reusable activations: one set per kind (kept for a backward pass or
	// not), grown to the largest batch seen.
	free map[bool][]*bertActs
	io   hostIO // embeddings to and from a GPU (device.go)
}

type bertActs struct {
	enc  *bert.Activations
	pool *pooling.Acts
	ids  []int32
	mask []int32
	dHid kernels.Buf
}

// NewBERT wraps m and p, allocating the gradient arena.
func NewBERT(m *bert.Model, p *pooling.Pooling) (*BERT, error) {
	if p.Dim != m.Config.HiddenSize {
		return nil, fmt.Errorf("train: pooling over %d-wide tokens, but the model's hidden size is %d", p.Dim, m.Config.HiddenSize)
	}
	g, err := bert.NewParams(m.Backend, m.Config)
	if err != nil {
		return nil, err
	}
	e := &BERT{Model: m, Pool: p, grads: g, free: map[bool][]*bertActs{}}
	vals, gs := m.Params.Tensors(), g.Tensors()
	for i, v := range vals {
		e.params = append(e.params, Param{Name: v.Name, Shape: v.Shape, Value: v.Buf, Grad: gs[i].Buf})
	}
	return e, nil
}

// Dim implements Encoder.
func (e *BERT) Dim() int { return e.Pool.OutputDim() }

// Params implements Encoder: the model's tensors under their Hugging
// Face names, each with its gradient.
func (e *BERT) Params() []Param { return e.params }

// ErrSeq reports a sequence the model cannot encode.
var ErrSeq = errors.New("train: invalid sequence")

// Encode implements Encoder.
func (e *BERT) Encode(ctx context.Context, out []float32, seqs []Seq, mode Mode) (Tape, error) {
	n := len(seqs)
	if n == 0 {
		return nil, fmt.Errorf("%w: no sequences", ErrSeq)
	}
	if len(out) < n*e.Dim() {
		return nil, fmt.Errorf("train: %d outputs for %d sequences of %d", len(out), n, e.Dim())
	}
	L := 0
	for i, s := range seqs {
		if len(s) == 0 {
			return nil, fmt.Errorf("%w: sequence %d is empty", ErrSeq, mode.Offset+i)
		}
		L = max(L, len(s))
	}
	if L > e.Model.Config.MaxPositionEmbeddings {
		return nil, fmt.Errorf("%w: %d tokens, the model has %d positions", ErrSeq, L, e.Model.Config.MaxPositionEmbeddings)
	}
	// Dropout runs in the training forward only, which keeps per-layer
	// activations; GradCache's first pass then uses and drops them at once,
	// so memory stays bounded by one mini-batch either way.
	c := e.Model.Config
	dropout := mode.Train && (c.HiddenDropoutProb > 0 || c.AttentionProbsDropoutProb > 0)
	keep := mode.Keep || dropout
	a, err := e.acts(n*L, L, keep)
	if err != nil {
		return nil, err
	}
	a.ids, a.mask = a.ids[:0], a.mask[:0]
	for _, s := range seqs {
		for j := range L {
			if j < len(s) {
				a.ids = append(a.ids, int32(s[j]))
				a.mask = append(a.mask, 1)
			} else {
				a.ids = append(a.ids, 0)
				a.mask = append(a.mask, 0)
			}
		}
	}
	a.enc.Dropout = bert.Dropout{}
	if dropout {
		a.enc.Dropout = bert.Dropout{Hidden: float32(c.HiddenDropoutProb), Attention: float32(c.AttentionProbsDropoutProb),
			Seed: mode.Seed, Offset: mode.Offset}
	}
	if err := e.Model.Forward(a.enc, a.ids, nil, a.mask, n, L); err != nil {
		e.release(a, keep)
		return nil, err
	}
	e.io.be = e.Model.Backend
	if err := e.io.output(a.enc.Hidden.Host() != nil, out[:n*e.Dim()], func(o kernels.Buf) error {
		return e.Pool.Forward(o, a.pool, a.enc.Hidden, a.mask, n, L, 0)
	}); err != nil {
		e.release(a, keep)
		return nil, err
	}
	if !mode.Keep {
		e.release(a, keep)
		return nil, nil
	}
	return &bertTape{e: e, a: a, n: n, L: L}, nil
}

// acts returns activations for tokens tokens in sequences of up to seq:
// a free set that fits, or a new one as large as the request and every
// free set (which it replaces), so a run with varying shapes settles on
// one allocation per kind.
func (e *BERT) acts(tokens, seq int, keep bool) (*bertActs, error) {
	free := e.free[keep]
	for i, a := range free {
		if a.enc.MaxTokens >= tokens && a.enc.MaxSeq >= seq {
			e.free[keep] = append(free[:i], free[i+1:]...)
			return a, nil
		}
	}
	for _, a := range free {
		tokens, seq = max(tokens, a.enc.MaxTokens), max(seq, a.enc.MaxSeq)
	}
	e.free[keep] = nil
	enc, err := e.Model.NewActivations(tokens, seq, keep)
	if err != nil {
		return nil, err
	}
	pa, err := e.Pool.NewActs(tokens)
	if err != nil {
		return nil, err
	}
	a := &bertActs{enc: enc, pool: pa}
	if keep {
		if a.dHid, err = e.Model.Backend.Alloc(tokens * e.Model.Config.HiddenSize); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (e *BERT) release(a *bertActs, keep bool) { e.free[keep] = append(e.free[keep], a) }

type bertTape struct {
	e    *BERT
	a    *bertActs
	n, L int
	used bool
}

// Backward implements Tape.
func (t *bertTape) Backward(ctx context.Context, dOut []float32) error {
	if t.used {
		return errors.New("train: Tape used twice")
	}
	t.used = true
	defer t.e.release(t.a, true)
	e, a := t.e, t.a
	if len(dOut) < t.n*e.Dim() {
		return fmt.Errorf("train: %d output gradients for %d sequences of %d", len(dOut), t.n, e.Dim())
	}
	dh := a.dHid.Slice(0, t.n*t.L*e.Model.Config.HiddenSize)
	zeroBuf(e.Model.Backend, dh)
	if err := e.io.input(dh.Host() != nil, dOut[:t.n*e.Dim()], func(d kernels.Buf) error {
		return e.Pool.Backward(dh, a.pool, d, a.enc.Hidden, t.n, t.L)
	}); err != nil {
		return err
	}
	return e.Model.Backward(e.grads, a.enc, dh)
}
