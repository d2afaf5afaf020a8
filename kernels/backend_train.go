package kernels

import "fmt"

// The CPU Backend's training methods; the Backend interface documents
// them. They wrap the slice functions of backward.go, dropout.go and
// attention_backward.go and run them on the Default pool. Every split is
// one whose result does not depend on the number of threads — rows for
// row-wise work, columns for sums over rows — so a run's weights are the
// same bits whatever the machine's core count.

// LayerNormBackward implements Backend: dx row by row, then dgamma and
// dbeta column by column.
func (c *CPU) LayerNormBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd Buf, rows, cols int) {
	T := rows * cols
	dxh, doh, xh, g := dx.host[:T], dout.host[:T], x.host[:T], gamma.host[:cols]
	m, r := mean.host[:rows], rstd.host[:rows]
	dg, db := dgamma.host[:cols], dbeta.host[:cols]
	if cols <= 0 || rows <= 0 {
		return
	}
	// Column sums first: dx may alias dout.
	c.pool.For(cols, 8, func(lo, hi int) {
		for row := range rows {
			mu, rs := m[row], r[row]
			xr, dr := xh[row*cols+lo:row*cols+hi], doh[row*cols+lo:row*cols+hi]
			for c, v := range xr {
				dg[lo+c] += dr[c] * ((v - mu) * rs) // as LayerNormBackward rounds it
				db[lo+c] += dr[c]
			}
		}
	})
	c.pool.For(rows, rowGrain(cols), func(lo, hi int) {
		LayerNormBackward(dxh[lo*cols:hi*cols], nil, nil, doh[lo*cols:hi*cols], xh[lo*cols:hi*cols], g, m[lo:hi], r[lo:hi], cols)
	})
}

// GELUBackward implements Backend.
func (c *CPU) GELUBackward(dx, dy, x Buf, n int) {
	d, y, xs := dx.host[:n], dy.host[:n], x.host[:n]
	c.pool.For(n, elemGrain, func(lo, hi int) { GELUBackward(d[lo:hi], y[lo:hi], xs[lo:hi]) })
}

// BiasBackward implements Backend, column by column.
func (c *CPU) BiasBackward(db, dy Buf, rows, cols int) {
	d, y := db.host[:cols], dy.host[:rows*cols]
	c.pool.For(cols, 8, func(lo, hi int) {
		for r := range rows {
			Axpy(1, y[r*cols+lo:r*cols+hi], d[lo:hi])
		}
	})
}

// ScatterAdd implements Backend, column by column, so repeated ids never
// race and every table entry sums its rows in id order.
func (c *CPU) ScatterAdd(table, src Buf, ids []int32, cols int) {
	checkScatter(table.host, src.host, ids, cols)
	t, s := table.host, src.host
	c.pool.For(cols, 8, func(lo, hi int) {
		for i, id := range ids {
			Axpy(1, s[i*cols+lo:i*cols+hi], t[int(id)*cols+lo:int(id)*cols+hi])
		}
	})
}

// Dropout implements Backend, slab by slab.
func (c *CPU) Dropout(out, x Buf, p float32, seed uint64, streams []uint64, size int) {
	if len(streams)*size > x.n || len(streams)*size > out.n {
		panic(fmt.Sprintf("kernels: Dropout: %d slabs of %d over Bufs of %d and %d", len(streams), size, x.n, out.n))
	}
	c.pool.For(len(streams), rowGrain(size), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			Dropout(out.host[i*size:(i+1)*size], x.host[i*size:(i+1)*size], p, seed, streams[i])
		}
	})
}

// AttentionDropout implements Backend, sequence by sequence.
func (c *CPU) AttentionDropout(ctx, probs, qkv Buf, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64) {
	checkAttention("AttentionDropout", ctx.host, probs.host, qkv.host, batch, seq, heads, headDim)
	hidden := heads * headDim
	c.pool.For(batch, 1, func(lo, hi int) {
		attentionDropout(c.one, ctx.host[lo*seq*hidden:hi*seq*hidden], probs.host[lo*heads*seq*seq:hi*heads*seq*seq],
			qkv.host[lo*seq*3*hidden:hi*seq*3*hidden], hi-lo, seq, heads, headDim, p, seed, streams[lo*heads:hi*heads])
	})
}

// AttentionBackward implements Backend, sequence by sequence.
func (c *CPU) AttentionBackward(dqkv, dctx, probs, qkv Buf, mask []int32, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64) {
	checkAttention("AttentionBackward", dctx.host, probs.host, qkv.host, batch, seq, heads, headDim)
	hidden := heads * headDim
	c.pool.For(batch, 1, func(lo, hi int) {
		var st []uint64
		if p != 0 {
			st = streams[lo*heads : hi*heads]
		}
		attentionBackward(c.one, dqkv.host[lo*seq*3*hidden:hi*seq*3*hidden], dctx.host[lo*seq*hidden:hi*seq*hidden],
			probs.host[lo*heads*seq*seq:hi*heads*seq*seq], qkv.host[lo*seq*3*hidden:hi*seq*3*hidden],
			mask[lo*seq:hi*seq], hi-lo, seq, heads, headDim, p, seed, st)
	})
}

// MaskedMaxBackward implements Backend, sequence by sequence.
func (c *CPU) MaskedMaxBackward(dx, dout, x Buf, mask []int32, batch, seq, cols, ldOut int) {
	if x.n < batch*seq*cols || dx.n < batch*seq*cols || len(mask) < batch*seq || (batch > 0 && dout.n < (batch-1)*ldOut+cols) {
		panic(fmt.Sprintf("kernels: MaskedMaxBackward: x of %d, dx of %d, dout of %d, mask of %d for batch=%d seq=%d cols=%d ldOut=%d",
			x.n, dx.n, dout.n, len(mask), batch, seq, cols, ldOut))
	}
	c.pool.For(batch, 1, func(lo, hi int) {
		MaskedMaxBackward(dx.host[lo*seq*cols:hi*seq*cols], dout.host[lo*ldOut:], x.host[lo*seq*cols:hi*seq*cols], mask[lo*seq:hi*seq], hi-lo, seq, cols, ldOut)
	})
}
