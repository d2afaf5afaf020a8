package kernels

import "fmt"

// Softmax implements Backend, rows split across the pool.
func (c *CPU) Softmax(x Buf, rows, cols int) {
	if rows < 0 || cols < 0 || rows*cols > x.n {
		panic(fmt.Sprintf("kernels: Softmax: %d×%d over a Buf of %d", rows, cols, x.n))
	}
	c.pool.For(rows, rowGrain(cols), func(lo, hi int) {
		Softmax(x.host[lo*cols:hi*cols], cols, nil)
	})
}

// SoftmaxBackward implements Backend, rows split across the pool.
func (c *CPU) SoftmaxBackward(dy, y Buf, rows, cols int) {
	if rows < 0 || cols < 0 || rows*cols > y.n || rows*cols > dy.n {
		panic(fmt.Sprintf("kernels: SoftmaxBackward: %d×%d over Bufs of %d (y) and %d (dy)", rows, cols, y.n, dy.n))
	}
	c.pool.For(rows, rowGrain(cols), func(lo, hi int) {
		SoftmaxBackward(dy.host[lo*cols:hi*cols], y.host[lo*cols:hi*cols], cols)
	})
}
