package kernels

import "fmt"

// The CPU Backend's training methods; the Backend interface documents
// them. They wrap the slice functions of backward.go, dropout.go and
// attention_backward.go.

// LayerNormBackward implements Backend.
func (*CPU) LayerNormBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd Buf, rows, cols int) {
	T := rows * cols
	LayerNormBackward(dx.host[:T], dgamma.host[:cols], dbeta.host[:cols], dout.host[:T], x.host[:T], gamma.host[:cols], mean.host[:rows], rstd.host[:rows], cols)
}

// GELUBackward implements Backend.
func (*CPU) GELUBackward(dx, dy, x Buf, n int) {
	GELUBackward(dx.host[:n], dy.host[:n], x.host[:n])
}

// BiasBackward implements Backend.
func (*CPU) BiasBackward(db, dy Buf, rows, cols int) {
	BiasBackward(db.host[:cols], dy.host[:rows*cols])
}

// ScatterAdd implements Backend.
func (*CPU) ScatterAdd(table, src Buf, ids []int32, cols int) {
	ScatterAdd(table.host, src.host, ids, cols)
}

// Dropout implements Backend.
func (*CPU) Dropout(out, x Buf, p float32, seed uint64, streams []uint64, size int) {
	if len(streams)*size > x.n || len(streams)*size > out.n {
		panic(fmt.Sprintf("kernels: Dropout: %d slabs of %d over Bufs of %d and %d", len(streams), size, x.n, out.n))
	}
	for i, s := range streams {
		Dropout(out.host[i*size:(i+1)*size], x.host[i*size:(i+1)*size], p, seed, s)
	}
}

// AttentionDropout implements Backend.
func (*CPU) AttentionDropout(ctx, probs, qkv Buf, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64) {
	AttentionDropout(ctx.host, probs.host, qkv.host, batch, seq, heads, headDim, p, seed, streams)
}

// AttentionBackward implements Backend.
func (*CPU) AttentionBackward(dqkv, dctx, probs, qkv Buf, mask []int32, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64) {
	AttentionBackward(dqkv.host, dctx.host, probs.host, qkv.host, mask, batch, seq, heads, headDim, p, seed, streams)
}

// MaskedMaxBackward implements Backend.
func (*CPU) MaskedMaxBackward(dx, dout, x Buf, mask []int32, batch, seq, cols, ldOut int) {
	MaskedMaxBackward(dx.host, dout.host, x.host, mask, batch, seq, cols, ldOut)
}
