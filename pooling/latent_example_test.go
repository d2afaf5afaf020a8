package pooling_test

import (
	"fmt"
	"log"

	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/pooling"
)

// Latent-attention pooling trained by hand: one gradient step on the
// module's parameters moves the pooled vector towards a target.
func ExampleLatentAttention() {
	be := kernels.NewCPU()
	c := pooling.LatentConfig{Dim: 4, Latents: 8, Heads: 2, HeadDim: 2}
	la, err := pooling.NewLatentAttention(be, c)
	if err != nil {
		log.Fatal(err)
	}
	if err := la.Params.Init(42); err != nil { // NV-Embed's (PyTorch's) initialization
		log.Fatal(err)
	}
	// One sequence of three tokens, the last one padding; the first token
	// is an instruction, left out of the mean (IncludePrompt is false).
	hidden := kernels.HostBuf([]float32{
		0.5, -1, 2, 0,
		1, 1, -1, 0.5,
		9, 9, 9, 9,
	})
	mask := []int32{1, 1, 0}
	acts, err := la.NewActs(3)
	if err != nil {
		log.Fatal(err)
	}
	grads, err := la.NewGrads()
	if err != nil {
		log.Fatal(err)
	}
	target := []float32{1, 0, 0, 0}
	out := make([]float32, 4)
	loss := func() float64 {
		if err := la.Forward(kernels.HostBuf(out), acts, hidden, mask, 1, 3, 1); err != nil {
			log.Fatal(err)
		}
		var l float64
		for i, v := range out {
			l += 0.5 * float64(v-target[i]) * float64(v-target[i])
		}
		return l
	}
	before := loss()
	dOut := make([]float32, 4)
	for i, v := range out {
		dOut[i] = v - target[i]
	}
	dHidden := make([]float32, 12)
	if err := la.Backward(kernels.HostBuf(dHidden), grads, acts, kernels.HostBuf(dOut), hidden); err != nil {
		log.Fatal(err)
	}
	kernels.Axpy(-0.05, grads.Arena.Host(), la.Params.Arena.Host()) // plain SGD
	after := loss()
	fmt.Printf("pooled %d values; loss went down: %v\n", len(out), after < before)
	none := true
	for _, v := range dHidden[8:] {
		none = none && v == 0
	}
	fmt.Println("padding gets no gradient:", none)
	// Output:
	// pooled 4 values; loss went down: true
	// padding gets no gradient: true
}
