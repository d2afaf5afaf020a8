package index_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kotodama-ai/kotodama/index"
)

func Example() {
	ix, err := index.New(3, index.Cosine)
	if err != nil {
		log.Fatal(err)
	}
	// Three documents; "b" points the same way as "a", twice as long.
	err = ix.Add([]float32{
		1, 0, 0,
		2, 0, 0,
		0, 1, 1,
	}, []string{"a", "b", "c"})
	if err != nil {
		log.Fatal(err)
	}
	hits, err := ix.Search([]float32{1, 0.5, 0.5}, 2)
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range hits {
		fmt.Printf("%s %.4f\n", h.ID, h.Score)
	}
	// Output:
	// a 0.8165
	// b 0.8165
}

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "kotodama-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "docs.idx")

	ix, _ := index.New(2, index.InnerProduct, index.WithFloat16())
	ix.Add([]float32{1, 2, 3, 4, 5, 6}, []string{"x", "y", "z"})
	if err := ix.Save(path); err != nil {
		log.Fatal(err)
	}

	opened, err := index.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer opened.Close()
	res, err := opened.SearchBatch(context.Background(), []float32{1, 0, 0, 1}, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(opened.Len(), opened.DType(), res[0][0].ID, res[1][0].ID)
	// Output:
	// 3 f16 z z
}
