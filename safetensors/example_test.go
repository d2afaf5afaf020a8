package safetensors_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kotodama-ai/kotodama/safetensors"
)

func Example() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	// Save two named tensors, one stored in half precision.
	bias, err := safetensors.Float32("dense.bias", []int{3}, []float32{0.5, -1, 2}).As(safetensors.F16)
	if err != nil {
		log.Fatal(err)
	}
	err = safetensors.WriteFile(path, []safetensors.Tensor{
		safetensors.Float32("dense.weight", []int{3, 2}, []float32{1, 2, 3, 4, 5, 6}),
		bias,
	}, map[string]string{"format": "pt"})
	if err != nil {
		log.Fatal(err)
	}

	// Read them back as float32.
	f, err := safetensors.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, name := range f.Names() {
		t, _ := f.Tensor(name)
		v := make([]float32, t.NumElements())
		if err := t.Float32s(v); err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, t.DType, t.Shape, v)
	}
	// Output:
	// dense.weight F32 [3 2] [1 2 3 4 5 6]
	// dense.bias F16 [3] [0.5 -1 2]
}
