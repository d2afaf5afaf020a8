//go:build cuda

package cuda

import (
	"fmt"
	"math"

	"github.com/kotodama-ai/kotodama/kernels"
)

// Attention on the GPU. The heads of qkv [batch, seq, 3, heads, headDim]
// are interleaved within each token's row, so no single stride steps from
// one (sequence, head) to the next; each call first copies Q, K and V
// apart into [batch, heads, seq, headDim] (one elementwise kernel each),
// which makes every (sequence, head) a contiguous seq×headDim matrix and
// the products strided-batched GEMMs over all batch·heads pairs at once.
// The scores [batch·heads, seq, seq] are laid out exactly as the
// probabilities the Backend keeps. Padded keys are computed and masked
// rather than left out: they come out exactly 0, as on the CPU.

func checkAttention(op string, ctx, qkv kernels.Buf, batch, seq, heads, headDim int) (pc, pq ptr) {
	checkSizes(op, batch, seq, heads, headDim)
	hidden := heads * headDim
	T := batch * seq
	checkInt32(op, T*3*hidden, batch*heads*seq)
	return dev(op, "ctx", ctx, T*hidden), dev(op, "qkv", qkv, T*3*hidden)
}

// split copies columns off..off+heads·headDim of the [batch, seq, ld]
// matrix at in into scratch buffer sc as [batch, heads, seq, headDim];
// on the worker.
func (d *Device) split(sc int, in ptr, batch, seq, heads, headDim, ld, off int) ptr {
	n := batch * seq * heads * headDim
	out := ptr(d.scratch(sc, n))
	d.launch1D(d.fn.splitHeads, int64(n), out, in, batch, seq, heads, headDim, ld, off)
	return out
}

// merge is split's inverse, into out.
func (d *Device) merge(out, in ptr, batch, seq, heads, headDim, ld, off int) {
	d.launch1D(d.fn.mergeHeads, int64(batch*seq*heads*headDim), out, in, batch, seq, heads, headDim, ld, off)
}

// Attention implements kernels.Backend.
func (d *Device) Attention(ctx, probs, qkv kernels.Buf, mask []int32, batch, seq, heads, headDim int) {
	d.attention("Attention", ctx, probs, qkv, mask, batch, seq, heads, headDim, false)
}

// AttentionVisible is Attention under a visibility matrix
// [batch, seq, seq] instead of a key mask (kernels' AttentionVisible):
// invisible keys get probability 0, and a row with no visible key gets
// all-zero probabilities.
func (d *Device) AttentionVisible(ctx, probs, qkv kernels.Buf, visible []int32, batch, seq, heads, headDim int) {
	d.attention("AttentionVisible", ctx, probs, qkv, visible, batch, seq, heads, headDim, true)
}

func (d *Device) attention(op string, ctx, probs, qkv kernels.Buf, mask []int32, batch, seq, heads, headDim int, visible bool) {
	pc, pq := checkAttention(op, ctx, qkv, batch, seq, heads, headDim)
	T, BH, hidden := batch*seq, batch*heads, heads*headDim
	need := T
	if visible {
		need = batch * seq * seq
	}
	if len(mask) < need {
		panic(fmt.Sprintf("cuda: %s: mask of %d for batch=%d seq=%d", op, len(mask), batch, seq))
	}
	pp := opt(op, "probs", probs, BH*seq*seq)
	if batch == 0 || seq == 0 || heads == 0 || headDim == 0 {
		return
	}
	scale := float32(1 / math.Sqrt(float64(headDim)))
	d.do(func() {
		m := d.hostArrays(mask[:need])
		q := d.split(scQ, pq, batch, seq, heads, headDim, 3*hidden, 0)
		k := d.split(scK, pq, batch, seq, heads, headDim, 3*hidden, hidden)
		v := d.split(scV, pq, batch, seq, heads, headDim, 3*hidden, 2*hidden)
		s := pp
		if s == 0 {
			s = ptr(d.scratch(scS, BH*seq*seq))
		}
		sd := seq * headDim
		// S = scale·Q·Kᵀ per (sequence, head).
		d.gemm(false, true, seq, seq, headDim, scale, q, headDim, sd, k, headDim, sd, 0, s, seq, seq*seq, BH, d.math)
		if visible {
			d.launchRows(d.fn.attnVisibleSoftmax, int64(BH*seq), seq, s, ptr(m[0]), seq, heads, i64(BH*seq))
		} else {
			d.launchRows(d.fn.attnSoftmax, int64(BH*seq), seq, s, ptr(m[0]), seq, heads, i64(BH*seq))
		}
		d.endStage()
		// ctx = P·V, then back to [batch, seq, heads, headDim].
		c := ptr(d.scratch(scCtx, T*hidden))
		d.gemm(false, false, seq, headDim, seq, 1, s, seq, seq*seq, v, headDim, sd, 0, c, headDim, sd, BH, d.math)
		d.merge(pc, c, batch, seq, heads, headDim, hidden, 0)
	})
}

// AttentionDropout implements kernels.Backend: ctx = dropout(P)·V with the
// masks of kernels' AttentionDropout.
func (d *Device) AttentionDropout(ctx, probs, qkv kernels.Buf, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64) {
	const op = "AttentionDropout"
	pc, pq := checkAttention(op, ctx, qkv, batch, seq, heads, headDim)
	T, BH, hidden := batch*seq, batch*heads, heads*headDim
	pp := dev(op, "probs", probs, BH*seq*seq)
	th, scale := dropoutParams(op, p)
	if len(streams) < BH {
		panic(fmt.Sprintf("cuda: %s: %d streams for %d heads", op, len(streams), BH))
	}
	if batch == 0 || seq == 0 || heads == 0 || headDim == 0 {
		return
	}
	d.do(func() {
		v := d.split(scV, pq, batch, seq, heads, headDim, 3*hidden, 2*hidden)
		pd := pp
		if th != 0 {
			st := d.hostArrays(streams[:BH])
			pd = ptr(d.scratch(scPd, BH*seq*seq))
			d.launch1D(d.fn.dropoutProbs, int64(BH)*int64(seq*seq), pd, pp, ptr(st[0]), u64(seed), u32(th), scale, seq, i64(BH))
			d.endStage()
		}
		sd := seq * headDim
		c := ptr(d.scratch(scCtx, T*hidden))
		d.gemm(false, false, seq, headDim, seq, 1, pd, seq, seq*seq, v, headDim, sd, 0, c, headDim, sd, BH, d.math)
		d.merge(pc, c, batch, seq, heads, headDim, hidden, 0)
	})
}

// AttentionBackward implements kernels.Backend, per (sequence, head) and
// with P' = dropout(P), s = 1/√headDim:
//
//	dV = P'ᵀ·dctx    dP = dctx·Vᵀ    dS = P ⊙ (drop(dP) − rowsum(drop(dP) ⊙ P))
//	dQ = s·dS·K      dK = s·dSᵀ·Q
//
// over every key: at a padded key P = 0, so its dS column and its dK and dV
// rows are exactly 0, which the CPU gets by leaving it out.
func (d *Device) AttentionBackward(dqkv, dctx, probs, qkv kernels.Buf, mask []int32, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64) {
	const op = "AttentionBackward"
	pdc, pq := checkAttention(op, dctx, qkv, batch, seq, heads, headDim)
	T, BH, hidden := batch*seq, batch*heads, heads*headDim
	pdq := dev(op, "dqkv", dqkv, T*3*hidden)
	pp := dev(op, "probs", probs, BH*seq*seq)
	if len(mask) < T {
		panic(fmt.Sprintf("cuda: %s: mask of %d for batch=%d seq=%d", op, len(mask), batch, seq))
	}
	th, scale := dropoutParams(op, p)
	if th != 0 && len(streams) < BH {
		panic(fmt.Sprintf("cuda: %s: %d streams for %d heads", op, len(streams), BH))
	}
	if batch == 0 || seq == 0 || heads == 0 || headDim == 0 {
		return
	}
	s := float32(1 / math.Sqrt(float64(headDim)))
	d.do(func() {
		q := d.split(scQ, pq, batch, seq, heads, headDim, 3*hidden, 0)
		k := d.split(scK, pq, batch, seq, heads, headDim, 3*hidden, hidden)
		v := d.split(scV, pq, batch, seq, heads, headDim, 3*hidden, 2*hidden)
		dc := d.split(scDC, pdc, batch, seq, heads, headDim, hidden, 0)
		var st ptr
		pk := pp
		if th != 0 {
			a := d.hostArrays(streams[:BH])
			st = ptr(a[0])
			pk = ptr(d.scratch(scPd, BH*seq*seq))
			d.launch1D(d.fn.dropoutProbs, int64(BH)*int64(seq*seq), pk, pp, st, u64(seed), u32(th), scale, seq, i64(BH))
		}
		sd, ss := seq*headDim, seq*seq
		dq, dk, dv := ptr(d.scratch(scDQ, T*hidden)), ptr(d.scratch(scDK, T*hidden)), ptr(d.scratch(scDV, T*hidden))
		dP := ptr(d.scratch(scS, BH*ss))
		d.gemm(true, false, seq, headDim, seq, 1, pk, seq, ss, dc, headDim, sd, 0, dv, headDim, sd, BH, d.math)
		d.gemm(false, true, seq, seq, headDim, 1, dc, headDim, sd, v, headDim, sd, 0, dP, seq, ss, BH, d.math)
		d.launchRows(d.fn.attnSoftmaxBackward, int64(BH*seq), seq, dP, pp, st, u64(seed), u32(th), scale, seq, i64(BH*seq))
		if th != 0 {
			d.endStage()
		}
		d.gemm(false, false, seq, headDim, seq, s, dP, seq, ss, k, headDim, sd, 0, dq, headDim, sd, BH, d.math)
		d.gemm(true, false, seq, headDim, seq, s, dP, seq, ss, q, headDim, sd, 0, dk, headDim, sd, BH, d.math)
		d.merge(pdq, dq, batch, seq, heads, headDim, 3*hidden, 0)
		d.merge(pdq, dk, batch, seq, heads, headDim, 3*hidden, hidden)
		d.merge(pdq, dv, batch, seq, heads, headDim, 3*hidden, 2*hidden)
	})
}
