package kernels_test

import (
	"fmt"

	"github.com/kotodama-ai/kotodama/kernels"
)

// C = A·Bᵀ with B stored as PyTorch stores a Linear layer's weight (out×in).
func ExampleSgemm() {
	a := []float32{ // 2×3 activations
		1, 2, 3,
		4, 5, 6,
	}
	w := []float32{ // 2×3 weight: 2 outputs of 3 inputs
		1, 0, 0,
		1, 1, 1,
	}
	c := make([]float32, 2*2)
	kernels.Sgemm(false, true, 2, 2, 3, 1, a, 3, w, 3, 0, c, 2)
	fmt.Println(c)
	// Output: [1 6 4 15]
}

// A Pool of one thread runs a GEMM on the calling goroutine, for use inside
// a parallel loop of your own; For splits row ranges across a pool.
func ExamplePool() {
	one := kernels.NewPool(1)
	x := []float32{1, 2, 3, 4}
	y := make([]float32, 4)
	one.Sgemm(false, false, 2, 2, 2, 1, x, 2, []float32{1, 0, 0, 1}, 2, 0, y, 2) // y = x·I

	pool := kernels.NewPool(2)
	defer pool.Close()
	rows, cols := 2, 2
	pool.For(rows, 1, func(lo, hi int) {
		kernels.Scale(10, y[lo*cols:hi*cols])
	})
	fmt.Println(y)
	// Output: [10 20 30 40]
}

func ExampleSoftmax() {
	scores := []float32{1, 2, 3, 100}
	mask := []float32{0, 0, 0, float32(-1e30)} // drop the last column (padding)
	kernels.Softmax(scores, 4, mask)
	fmt.Printf("%.4f\n", scores)
	// Output: [0.0900 0.2447 0.6652 0.0000]
}

// A weight used batch after batch is packed once; each product then skips
// packing it and gives the same result as Sgemm.
func ExamplePackB() {
	w := []float32{ // 2×3 weight, out×in
		1, 0, 0,
		1, 1, 1,
	}
	pw := kernels.PackB(true, 3, 2, w, 3)
	for _, x := range [][]float32{{1, 2, 3}, {4, 5, 6}} {
		y := make([]float32, 2)
		kernels.SgemmPacked(false, 1, 1, x, 3, pw, 0, y, 2)
		fmt.Println(y)
	}
	// Output:
	// [1 6]
	// [4 15]
}
