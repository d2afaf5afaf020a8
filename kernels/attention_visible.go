package kernels

import (
	"fmt"
	"math"
)

// AttentionVisible implements Backend. Each (sequence, head) pair is
// computed on its own, as in Attention: S = Q·Kᵀ/√d over every key, the
// invisible entries of each row set to -Inf before its softmax, then
// ctx = S·V.
func (c *CPU) AttentionVisible(ctx, probs, qkv Buf, visible []int32, batch, seq, heads, headDim int) {
	hidden := heads * headDim
	ld := 3 * hidden
	if batch < 0 || seq < 0 || heads < 0 || headDim < 0 {
		panic(fmt.Sprintf("kernels: AttentionVisible: negative size batch=%d seq=%d heads=%d headDim=%d", batch, seq, heads, headDim))
	}
	if qkv.n < batch*seq*ld || ctx.n < batch*seq*hidden || len(visible) < batch*seq*seq {
		panic(fmt.Sprintf("kernels: AttentionVisible: Bufs of %d (qkv), %d (ctx), visibility of %d for batch=%d seq=%d hidden=%d",
			qkv.n, ctx.n, len(visible), batch, seq, hidden))
	}
	keep := probs.n > 0
	if keep && probs.n < batch*heads*seq*seq {
		panic(fmt.Sprintf("kernels: AttentionVisible: probs holds %d, want %d", probs.n, batch*heads*seq*seq))
	}
	if batch == 0 || seq == 0 || heads == 0 {
		return
	}
	scale := float32(1 / math.Sqrt(float64(headDim)))
	c.pool.For(batch*heads, 1, func(lo, hi int) {
		var scratch *[]float32
		if !keep {
			scratch = c.scores(seq * seq)
			defer c.scratch.Put(scratch)
		}
		for bh := lo; bh < hi; bh++ {
			b, h := bh/heads, bh%heads
			base := b*seq*ld + h*headDim
			var s []float32
			if keep {
				s = probs.host[bh*seq*seq : (bh+1)*seq*seq]
			} else {
				s = (*scratch)[:seq*seq]
			}
			q, k, v := qkv.host[base:], qkv.host[base+hidden:], qkv.host[base+2*hidden:]
			c.one.Sgemm(false, true, seq, seq, headDim, scale, q, ld, k, ld, 0, s, seq)
			vis := visible[b*seq*seq : (b+1)*seq*seq]
			for i := range seq {
				softmaxVisible(s[i*seq:(i+1)*seq], vis[i*seq:(i+1)*seq])
			}
			c.one.Sgemm(false, false, seq, headDim, seq, 1, s, seq, v, ld, 0, ctx.host[b*seq*hidden+h*headDim:], hidden)
		}
	})
}

// softmaxVisible replaces row by its softmax over the entries where vis
// is not 0, the others becoming exactly 0; a row with nothing visible
// becomes all zeros.
func softmaxVisible(row []float32, vis []int32) {
	inf := float32(math.Inf(-1))
	for j, v := range vis {
		if v == 0 {
			row[j] = inf
		}
	}
	softmaxRow(active, row, nil) // all -Inf: zeros
}
