package kernels

import (
	"fmt"
	"math"
)

// AttentionDropout recomputes the attention output with dropout on the
// probabilities, ctx = dropout(P)·V, for training: the forward (Backend
// Attention) kept P in probs, and BERT drops attention probabilities
// (attention_probs_dropout_prob) before multiplying by V. The mask of
// head h of sequence b is keyed by (seed, streams[b*heads+h]) and element
// (i, j) by counter i·2¹⁶+j, so the backward pass replays it and it does
// not depend on the batch's padded length (seq < 2¹⁶). Shapes as Backend.Attention:
//
//	qkv   [batch, seq, 3, heads, headDim]
//	probs [batch, heads, seq, seq]
//	ctx   [batch, seq, heads, headDim]
func AttentionDropout(ctx, probs, qkv []float32, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64) {
	attentionDropout(Default(), ctx, probs, qkv, batch, seq, heads, headDim, p, seed, streams)
}

func attentionDropout(pool *Pool, ctx, probs, qkv []float32, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64) {
	hidden := heads * headDim
	ld := 3 * hidden
	checkAttention("AttentionDropout", ctx, probs, qkv, batch, seq, heads, headDim)
	if len(streams) < batch*heads {
		panic(fmt.Sprintf("kernels: AttentionDropout: %d streams for %d heads", len(streams), batch*heads))
	}
	pd := make([]float32, seq*seq)
	for b := range batch {
		for h := range heads {
			P := probs[(b*heads+h)*seq*seq : (b*heads+h+1)*seq*seq]
			dropoutProbs(pd, P, seq, p, seed, streams[b*heads+h])
			v := qkv[b*seq*ld+2*hidden+h*headDim:]
			pool.Sgemm(false, false, seq, headDim, seq, 1, pd, seq, v, ld, 0, ctx[b*seq*hidden+h*headDim:], hidden)
		}
	}
}

// AttentionBackward computes dqkv (overwritten, same layout as qkv) from
// dctx, the gradient of the attention output, given the probabilities P
// the forward kept and its inputs. With p > 0 the forward used
// AttentionDropout with the same (p, seed, streams); with p = 0 streams
// may be nil. Per head, with P' = dropout(P) and s = 1/√headDim:
//
//	dV = P'ᵀ·dctx
//	dP = dropout⁻¹(dctx·Vᵀ)          (the same mask, scaled)
//	dS = P ⊙ (dP − rowsum(dP ⊙ P))   (softmax backward)
//	dQ = s·dS·K,  dK = s·dSᵀ·Q
//
// Masked keys have P = 0 and so get dK = dV = 0.
func AttentionBackward(dqkv, dctx, probs, qkv []float32, mask []int32, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64) {
	attentionBackward(Default(), dqkv, dctx, probs, qkv, mask, batch, seq, heads, headDim, p, seed, streams)
}

func attentionBackward(pool *Pool, dqkv, dctx, probs, qkv []float32, mask []int32, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64) {
	hidden := heads * headDim
	ld := 3 * hidden
	checkAttention("AttentionBackward", dctx, probs, qkv, batch, seq, heads, headDim)
	if len(dqkv) < batch*seq*ld || len(mask) < batch*seq {
		panic(fmt.Sprintf("kernels: AttentionBackward: dqkv of %d, mask of %d for batch=%d seq=%d hidden=%d", len(dqkv), len(mask), batch, seq, hidden))
	}
	if p != 0 && len(streams) < batch*heads {
		panic(fmt.Sprintf("kernels: AttentionBackward: %d streams for %d heads", len(streams), batch*heads))
	}
	scale := float32(1 / math.Sqrt(float64(headDim)))
	dP := make([]float32, seq*seq)
	var pd []float32
	if p != 0 {
		pd = make([]float32, seq*seq)
	}
	for b := range batch {
		// Right padding: keys past the prefix have P = 0; leave them out of
		// the products and zero their dK, dV.
		keys := prefixLen(mask[b*seq : (b+1)*seq])
		if keys <= 0 {
			keys = seq
		}
		for h := range heads {
			base := b*seq*ld + h*headDim
			q, k, v := qkv[base:], qkv[base+hidden:], qkv[base+2*hidden:]
			dq, dk, dv := dqkv[base:], dqkv[base+hidden:], dqkv[base+2*hidden:]
			dc := dctx[b*seq*hidden+h*headDim:]
			P := probs[(b*heads+h)*seq*seq : (b*heads+h+1)*seq*seq]
			Pk := P // what multiplied V in the forward
			if p != 0 {
				dropoutProbs(pd, P, seq, p, seed, streams[b*heads+h])
				Pk = pd
			}
			// dV[keys] = P'[:, :keys]ᵀ · dctx
			pool.Sgemm(true, false, keys, headDim, seq, 1, Pk, seq, dc, hidden, 0, dv, ld)
			// dP[:, :keys] = dctx · V[:keys]ᵀ
			pool.Sgemm(false, true, seq, keys, headDim, 1, dc, hidden, v, ld, 0, dP, seq)
			for i := range seq {
				row := dP[i*seq : i*seq+keys]
				if p != 0 {
					DropoutBackwardRow(row, p, seed, streams[b*heads+h], i<<probsRowShift)
				}
				pr := P[i*seq : i*seq+keys]
				var s float32
				for j, x := range pr {
					s += x * row[j]
				}
				for j, x := range pr {
					row[j] = x * (row[j] - s)
				}
			}
			// dQ = s·dS·K,  dK[keys] = s·dSᵀ·Q
			pool.Sgemm(false, false, seq, headDim, keys, scale, dP, seq, k, ld, 0, dq, ld)
			pool.Sgemm(true, false, keys, headDim, seq, scale, dP, seq, q, ld, 0, dk, ld)
			for j := keys; j < seq; j++ {
				clear(dk[j*ld : j*ld+headDim])
				clear(dv[j*ld : j*ld+headDim])
			}
		}
	}
}

// probsRowShift places query row i of an attention-probability slab at
// counter i<<16, so element (i, j)'s mask does not depend on the padded
// length of the batch it was encoded in (GradCache pads mini-batches to
// their own longest sequence).
const probsRowShift = 16

// dropoutProbs sets out = dropout(P) row by row, P being seq×seq.
func dropoutProbs(out, P []float32, seq int, p float32, seed, stream uint64) {
	copy(out[:seq*seq], P)
	for i := range seq {
		DropoutBackwardRow(out[i*seq:(i+1)*seq], p, seed, stream, i<<probsRowShift)
	}
}

// DropoutBackwardRow applies, in place, the dropout mask of elements
// [off, off+len(x)) of slab (seed, stream) to x: x[i] is scaled by
// 1/(1−p) where element off+i survived and zeroed where it was dropped.
func DropoutBackwardRow(x []float32, p float32, seed, stream uint64, off int) {
	th := dropoutThreshold(p)
	if th == 0 {
		return
	}
	key := dropoutKey(seed, stream)
	scale := 1 / (1 - p)
	for i := range x {
		if dropoutKeep(key, off+i, th) {
			x[i] *= scale
		} else {
			x[i] = 0
		}
	}
}

func checkAttention(op string, ctx, probs, qkv []float32, batch, seq, heads, headDim int) {
	hidden := heads * headDim
	if batch < 0 || seq < 0 || heads < 0 || headDim < 0 ||
		len(qkv) < batch*seq*3*hidden || len(ctx) < batch*seq*hidden || len(probs) < batch*heads*seq*seq {
		panic(fmt.Sprintf("kernels: %s: qkv of %d, ctx of %d, probs of %d for batch=%d seq=%d heads=%d headDim=%d",
			op, len(qkv), len(ctx), len(probs), batch, seq, heads, headDim))
	}
}
