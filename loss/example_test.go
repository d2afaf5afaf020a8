package loss_test

import (
	"fmt"

	"github.com/kotodama-ai/kotodama/loss"
)

// Two queries, their positives and one hard negative each, in
// sentence-transformers' layout [positives; negatives]. The gradients say
// how to move each embedding to lower the loss.
func ExampleInfoNCE_Loss() {
	const b, d = 2, 2
	anchors := []float32{
		1, 0, // query 0
		0, 1, // query 1
	}
	candidates := []float32{
		1, 0.2, // positive of query 0
		0.1, 1, // positive of query 1
		1, 1, // hard negative of query 0
		0.8, 1, // hard negative of query 1
	}
	l, err := loss.NewInfoNCE(loss.WithScale(20))
	if err != nil {
		panic(err)
	}
	da := make([]float32, len(anchors))
	dc := make([]float32, len(candidates))
	v, err := l.Loss(da, dc, anchors, candidates, b, d)
	if err != nil {
		panic(err)
	}
	fmt.Printf("loss %.4f\n", v)
	fmt.Printf("d(query 0) = [%.3f %.3f]\n", da[0], da[1])
	// Output:
	// loss 0.0109
	// d(query 0) = [0.000 0.026]
}
