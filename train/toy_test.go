package train

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/kotodama-ai/kotodama/kernels"
)

// toy is a small encoder for testing the training machinery without BERT:
// token embeddings, dropout, mean pooling, then tanh(W·x + b).
type toy struct {
	vocab, dim int
	p          float32
	emb, w, b  Param
}

func newToy(r *rand.Rand, vocab, dim int, p float32) *toy {
	mk := func(name string, shape ...int) Param {
		q := Param{Name: name, Shape: shape}
		v := make([]float32, q.Size())
		for i := range v {
			v[i] = float32(r.NormFloat64() * 0.5)
		}
		q.Value, q.Grad = kernels.HostBuf(v), kernels.HostBuf(make([]float32, q.Size()))
		return q
	}
	return &toy{vocab: vocab, dim: dim, p: p, emb: mk("emb.weight", vocab, dim), w: mk("dense.weight", dim, dim), b: mk("dense.bias", dim)}
}

func (m *toy) Dim() int        { return m.dim }
func (m *toy) Params() []Param { return []Param{m.emb, m.w, m.b} }

type toyTape struct {
	m      *toy
	seqs   []Seq
	mode   Mode
	pooled []float32 // [n, dim]
	out    []float32 // [n, dim]
}

func (m *toy) Encode(_ context.Context, out []float32, seqs []Seq, mode Mode) (Tape, error) {
	d := m.dim
	pooled := make([]float32, len(seqs)*d)
	for n, s := range seqs {
		h := make([]float32, len(s)*d)
		for t, id := range s {
			copy(h[t*d:], m.emb.Value.Host()[id*d:(id+1)*d])
		}
		if mode.Train {
			kernels.Dropout(h, h, m.p, mode.Seed, uint64(mode.Offset+n))
		}
		for t := range s {
			kernels.Axpy(1/float32(len(s)), h[t*d:(t+1)*d], pooled[n*d:(n+1)*d])
		}
	}
	kernels.Sgemm(false, true, len(seqs), d, d, 1, pooled, d, m.w.Value.Host(), d, 0, out, d)
	for n := range seqs {
		o := out[n*d : (n+1)*d]
		kernels.AddBias(o, m.b.Value.Host())
		for i, v := range o {
			o[i] = float32(math.Tanh(float64(v)))
		}
	}
	if !mode.Keep {
		return nil, nil
	}
	return &toyTape{m: m, seqs: seqs, mode: mode, pooled: pooled, out: append([]float32(nil), out...)}, nil
}

func (t *toyTape) Backward(_ context.Context, dOut []float32) error {
	m, d, n := t.m, t.m.dim, len(t.seqs)
	dz := make([]float32, n*d)
	for i, v := range dOut {
		dz[i] = v * (1 - t.out[i]*t.out[i])
	}
	kernels.Sgemm(true, false, d, d, n, 1, dz, d, t.pooled, d, 1, m.w.Grad.Host(), d)
	kernels.BiasBackward(m.b.Grad.Host(), dz)
	dpooled := make([]float32, n*d)
	kernels.Sgemm(false, false, n, d, d, 1, dz, d, m.w.Value.Host(), d, 0, dpooled, d)
	for k, s := range t.seqs {
		dh := make([]float32, len(s)*d)
		for tok := range s {
			kernels.Axpy(1/float32(len(s)), dpooled[k*d:(k+1)*d], dh[tok*d:(tok+1)*d])
		}
		if t.mode.Train {
			tmp := make([]float32, len(dh))
			kernels.DropoutBackward(tmp, dh, m.p, t.mode.Seed, uint64(t.mode.Offset+k))
			dh = tmp
		}
		for tok, id := range s {
			kernels.Axpy(1, dh[tok*d:(tok+1)*d], m.emb.Grad.Host()[id*d:(id+1)*d])
		}
	}
	return nil
}

func randomBatch(r *rand.Rand, b, negs, vocab int) Batch {
	seqs := make([]Seq, (2+negs)*b)
	for i := range seqs {
		s := make(Seq, 2+r.IntN(6))
		for j := range s {
			s[j] = r.IntN(vocab)
		}
		seqs[i] = s
	}
	return Batch{Seqs: seqs, B: b}
}
