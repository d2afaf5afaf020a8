package pooling_test

import (
	"fmt"
	"log"

	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/pooling"
)

func Example() {
	be := kernels.NewCPU()
	p, err := pooling.New(be, pooling.Config{Dim: 2, Modes: []pooling.Mode{pooling.CLS, pooling.Mean}, IncludePrompt: true})
	if err != nil {
		log.Fatal(err)
	}
	// Two sequences of three positions; the first has one padding position.
	hidden := kernels.HostBuf([]float32{
		1, 2, 3, 4, 100, 100,
		5, 6, 7, 8, 9, 10,
	})
	mask := []int32{1, 1, 0, 1, 1, 1}
	acts, err := p.NewActs(6)
	if err != nil {
		log.Fatal(err)
	}
	out, _ := be.Alloc(2 * p.OutputDim())
	if err := p.Forward(out, acts, hidden, mask, 2, 3, 0); err != nil {
		log.Fatal(err)
	}
	v := make([]float32, out.Len())
	be.Download(v, out)
	fmt.Println("cls+mean:", v[:4], v[4:])
	pooling.Normalize(v, p.OutputDim())
	fmt.Printf("normalized: %.3f\n", v[:4])
	// Output:
	// cls+mean: [1 2 2 3] [5 6 7 8]
	// normalized: [0.236 0.471 0.471 0.707]
}
