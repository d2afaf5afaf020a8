package kernels

import "fmt"

// GEGLU is the gated GELU of GLU-variant feed-forwards (Shazeer 2020,
// "GLU Variants Improve Transformer"), in the layout NV-Embed's
// FeedForward uses: one Linear produces both halves side by side, the
// first half a is the value and the second half g the gate.

// GEGLU computes, for each row of x = [a | g] (2·cols values),
// out[r,c] = a[r,c]·GELU(g[r,c]) with the exact (erf) GELU, into rows of
// cols values. out must not overlap x.
//
//	out [rows, cols]   x [rows, 2·cols]
func GEGLU(out, x []float32, cols int) {
	rows := checkGEGLU("GEGLU", out, x, cols)
	for r := range rows {
		o, a, g := out[r*cols:(r+1)*cols], x[2*r*cols:(2*r+1)*cols], x[(2*r+1)*cols:(2*r+2)*cols]
		GELU(o, g)
		Mul(o, o, a)
	}
}

// GEGLUBackward sets dx (the layout of x) from dout, the gradient of
// GEGLU's output:
//
//	da = dout·GELU(g)   dg = dout·a·GELU'(g)
//
// dx is overwritten and must not overlap x or dout.
func GEGLUBackward(dx, dout, x []float32, cols int) {
	rows := checkGEGLU("GEGLUBackward", dout, x, cols)
	if len(dx) < len(x) {
		panic(fmt.Sprintf("kernels: GEGLUBackward: dx of %d for x of %d", len(dx), len(x)))
	}
	for r := range rows {
		d := dout[r*cols : (r+1)*cols]
		a, g := x[2*r*cols:(2*r+1)*cols], x[(2*r+1)*cols:(2*r+2)*cols]
		da, dg := dx[2*r*cols:(2*r+1)*cols], dx[(2*r+1)*cols:(2*r+2)*cols]
		GELU(da, g)
		Mul(da, da, d)
		Mul(dg, d, a)
		GELUBackward(dg, dg, g)
	}
}

// checkGEGLU returns the number of rows of x, panicking when out (or
// dout) cannot hold them.
func checkGEGLU(op string, out, x []float32, cols int) int {
	if cols <= 0 || len(x)%(2*cols) != 0 || len(out) < len(x)/2 {
		panic(fmt.Sprintf("kernels: %s: x of %d, out of %d for cols=%d", op, len(x), len(out), cols))
	}
	return len(x) / (2 * cols)
}

// GEGLU implements Backend, rows split across the pool.
func (c *CPU) GEGLU(out, x Buf, rows, cols int) {
	if rows*2*cols > x.n || rows*cols > out.n {
		panic(fmt.Sprintf("kernels: GEGLU: %d×%d over Bufs of %d (x) and %d (out)", rows, cols, x.n, out.n))
	}
	c.pool.For(rows, rowGrain(2*cols), func(lo, hi int) {
		GEGLU(out.host[lo*cols:hi*cols], x.host[2*lo*cols:2*hi*cols], cols)
	})
}

// GEGLUBackward implements Backend, rows split across the pool.
func (c *CPU) GEGLUBackward(dx, dout, x Buf, rows, cols int) {
	if rows*2*cols > x.n || rows*2*cols > dx.n || rows*cols > dout.n {
		panic(fmt.Sprintf("kernels: GEGLUBackward: %d×%d over Bufs of %d (x), %d (dx) and %d (dout)", rows, cols, x.n, dx.n, dout.n))
	}
	c.pool.For(rows, rowGrain(2*cols), func(lo, hi int) {
		GEGLUBackward(dx.host[2*lo*cols:2*hi*cols], dout.host[lo*cols:hi*cols], x.host[2*lo*cols:2*hi*cols], cols)
	})
}
