//go:build cuda

package cuda_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/kotodama-ai/kotodama/cuda"
	"github.com/kotodama-ai/kotodama/embed"
)

// Encoding on a GPU: open it once, and load models onto it (embed's
// WithDevice("cuda") does the same for one model, which then owns it).
// Not run by go test: its output depends on the machine.
func Example() {
	dev, err := cuda.Open(cuda.WithMath(cuda.TF32))
	if errors.Is(err, cuda.ErrUnavailable) {
		log.Fatal("no GPU here: ", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Close()
	m, err := embed.Load("testdata/model", embed.WithBackend(dev))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	vecs, err := m.Encode(context.Background(), []string{"猫が窓辺で昼寝をしている。"}, embed.WithBatchSize(256))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(dev.Name(), len(vecs[0]))
}

// Device names, as embed.WithDevice and the CLI's -device take them.
func ExampleParseSpec() {
	for _, s := range []string{"cuda", "cuda:1", "cuda:0:tf32", "cuda:bf16", "gpu", "cuda:tf32:bf16"} {
		_, err := cuda.ParseSpec(s)
		fmt.Println(s, err == nil)
	}
	// Output:
	// cuda true
	// cuda:1 true
	// cuda:0:tf32 true
	// cuda:bf16 true
	// gpu false
	// cuda:tf32:bf16 false
}
