package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/pooling"
)

// LatentBERT trains a bert.Model pooled by NV-Embed's latent attention
// (pooling.LatentAttention) as an Encoder. The latent attention always
// trains; the encoder trains with it unless Frozen, in which case its
// weights are not among Params and it runs as at inference (no dropout,
// no activations kept, no backward pass), so only the pooling learns.
//
// Sequences are padded as BERT pads them and pooled whole: Seq carries no
// prompt length, so a module whose IncludePrompt is false leaves the
// prompt out of the mean at inference (package embed) but not here;
// train such modules with IncludePrompt true, or without prefixes.
//
// The latent attention's parameters are named as in NV-Embed's
// checkpoints, pooling.LatentPrefix + their state_dict name. A LatentBERT
// is not safe for concurrent use.
type LatentBERT struct {
	Model  *bert.Model
	Latent *pooling.LatentAttention
	Frozen bool

	encGrads *bert.Params // nil when Frozen
	latGrads *pooling.LatentParams
	params   []Param
	latent   []Param // the latent attention's, with gradients
	mean     *pooling.Pooling
	// Reusable activations per kind (encoder activations kept or not).
	free map[bool][]*latentBERTActs
	io   hostIO // embeddings to and from a GPU (device.go)
}

type latentBERTActs struct {
	enc       *bert.Activations
	lat       *pooling.LatentActs
	ids, mask []int32
	dHid      kernels.Buf
}

// NewLatentBERT wraps m and la; frozen fixes m's weights.
func NewLatentBERT(m *bert.Model, la *pooling.LatentAttention, frozen bool) (*LatentBERT, error) {
	H := m.Config.HiddenSize
	if la.Dim != H {
		return nil, fmt.Errorf("train: latent attention over %d-wide tokens, but the model's hidden size is %d", la.Dim, H)
	}
	mean, err := pooling.New(m.Backend, pooling.Config{Dim: H, Modes: []pooling.Mode{pooling.Mean}, IncludePrompt: la.IncludePrompt})
	if err != nil {
		return nil, err
	}
	e := &LatentBERT{Model: m, Latent: la, Frozen: frozen, mean: mean, free: map[bool][]*latentBERTActs{}}
	if !frozen {
		if e.encGrads, err = bert.NewParams(m.Backend, m.Config); err != nil {
			return nil, err
		}
		gs := e.encGrads.Tensors()
		for i, v := range m.Params.Tensors() {
			e.params = append(e.params, Param{Name: v.Name, Shape: v.Shape, Value: v.Buf, Grad: gs[i].Buf})
		}
	}
	if e.latGrads, err = la.NewGrads(); err != nil {
		return nil, err
	}
	gs := e.latGrads.Tensors()
	for i, v := range la.Params.Tensors() {
		e.latent = append(e.latent, Param{Name: pooling.LatentPrefix + v.Name, Shape: v.Shape, Value: v.Buf, Grad: gs[i].Buf})
	}
	e.params = append(e.params, e.latent...)
	return e, nil
}

// Dim implements Encoder.
func (e *LatentBERT) Dim() int { return e.Latent.OutputDim() }

// Params implements Encoder: the encoder's tensors under their Hugging
// Face names (unless Frozen), then the latent attention's.
func (e *LatentBERT) Params() []Param { return e.params }

// Encode implements Encoder.
func (e *LatentBERT) Encode(ctx context.Context, out []float32, seqs []Seq, mode Mode) (Tape, error) {
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
	c := e.Model.Config
	if L > c.MaxPositionEmbeddings {
		return nil, fmt.Errorf("%w: %d tokens, the model has %d positions", ErrSeq, L, c.MaxPositionEmbeddings)
	}
	dropout := !e.Frozen && mode.Train && (c.HiddenDropoutProb > 0 || c.AttentionProbsDropoutProb > 0)
	keep := !e.Frozen && (mode.Keep || dropout)
	a, err := e.acts(n*L, L, keep)
	if err != nil {
		return nil, err
	}
	a.ids, a.mask = a.ids[:0], a.mask[:0]
	for _, s := range seqs {
		for j := range L {
			if j < len(s) {
				a.ids, a.mask = append(a.ids, int32(s[j])), append(a.mask, 1)
			} else {
				a.ids, a.mask = append(a.ids, 0), append(a.mask, 0)
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
		return e.Latent.Forward(o, a.lat, a.enc.Hidden, a.mask, n, L, 0)
	}); err != nil {
		e.release(a, keep)
		return nil, err
	}
	if !mode.Keep {
		e.release(a, keep)
		return nil, nil
	}
	return &latentTape{e: e, a: a, n: n, L: L, keep: keep}, nil
}

// acts returns activations for tokens tokens in sequences of up to seq,
// as BERT.acts does.
func (e *LatentBERT) acts(tokens, seq int, keep bool) (*latentBERTActs, error) {
	free := e.free[keep]
	for i, a := range free {
		if a.enc.MaxTokens >= tokens && a.enc.MaxSeq >= seq {
			e.free[keep] = append(free[:i], free[i+1:]...)
			return a, nil
		}
	}
	for _, a := range free {
		tokens, seq = max(tokens, a.enc.MaxTokens), max(seq, a.enc.MaxSeq)
		a.lat.Release()
	}
	e.free[keep] = nil
	enc, err := e.Model.NewActivations(tokens, seq, keep)
	if err != nil {
		return nil, err
	}
	lat, err := e.Latent.NewActs(tokens)
	if err != nil {
		return nil, err
	}
	a := &latentBERTActs{enc: enc, lat: lat}
	if a.dHid, err = e.Model.Backend.Alloc(tokens * e.Model.Config.HiddenSize); err != nil {
		return nil, err
	}
	return a, nil
}

func (e *LatentBERT) release(a *latentBERTActs, keep bool) { e.free[keep] = append(e.free[keep], a) }

type latentTape struct {
	e          *LatentBERT
	a          *latentBERTActs
	n, L       int
	keep, used bool
}

// Backward implements Tape.
func (t *latentTape) Backward(ctx context.Context, dOut []float32) error {
	if t.used {
		return errors.New("train: Tape used twice")
	}
	t.used = true
	defer t.e.release(t.a, t.keep)
	e, a := t.e, t.a
	if len(dOut) < t.n*e.Dim() {
		return fmt.Errorf("train: %d output gradients for %d sequences of %d", len(dOut), t.n, e.Dim())
	}
	dh := a.dHid.Slice(0, t.n*t.L*e.Model.Config.HiddenSize)
	zeroBuf(e.Model.Backend, dh)
	if err := e.io.input(dh.Host() != nil, dOut[:t.n*e.Dim()], func(d kernels.Buf) error {
		return e.Latent.Backward(dh, e.latGrads, a.lat, d, a.enc.Hidden)
	}); err != nil {
		return err
	}
	if e.Frozen {
		return nil
	}
	return e.Model.Backward(e.encGrads, a.enc, dh)
}

// SaveLatent writes e's model into the existing directory dir as Save
// writes a BERT, with the latent attention in place of the Pooling
// module: modules.json lists a pooling.LatentModuleType module at the
// Pooling's index, in folder "<idx>_LatentAttention" (config.json and
// model.safetensors, NV-Embed's names), which package embed loads. The
// top-level model.safetensors holds the latent attention's tensors too
// (under the same names), so that every Param is in it, as Trainer's
// checkpoints need.
func (md ModelDir) SaveLatent(dir string, e *LatentBERT) error {
	var ps []Param
	for _, v := range e.Model.Params.Tensors() {
		ps = append(ps, Param{Name: v.Name, Shape: v.Shape, Value: v.Buf})
	}
	ps = append(ps, e.latent...)
	if err := md.Save(dir, &BERT{Model: e.Model, Pool: e.mean, params: ps}); err != nil {
		return err
	}
	path := filepath.Join(dir, "modules.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("train: saving model: %w", err)
	}
	var ms []stModule
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("train: saving model: %s: %w", path, err)
	}
	folder := ""
	for i, m := range ms {
		switch m.Type {
		case stPooling:
			if m.Path != "" {
				if err := os.RemoveAll(filepath.Join(dir, m.Path)); err != nil {
					return fmt.Errorf("train: saving model: %w", err)
				}
			}
			ms[i].Path, ms[i].Type = fmt.Sprintf("%d_LatentAttention", m.Idx), pooling.LatentModuleType
			folder = ms[i].Path
		case pooling.LatentModuleType:
			folder = m.Path
		}
	}
	if folder == "" {
		return fmt.Errorf("train: saving model: %s has no Pooling module to replace", path)
	}
	if err := writeJSON(path, ms); err != nil {
		return err
	}
	return e.Latent.Save(filepath.Join(dir, folder))
}

// SaveLatentFinal is SaveFinal for a LatentBERT: dir is written as a
// whole, atomically.
func (md ModelDir) SaveLatentFinal(dir string, e *LatentBERT) error {
	return saveFinal(dir, func(tmp string) error { return md.SaveLatent(tmp, e) })
}
