package embed_test

import (
	"context"
	"fmt"
	"log"

	"github.com/kotodama-ai/kotodama/embed"
)

func Example() {
	// A tiny random-weight test model in sentence-transformers layout, with
	// "query" and "document" prompts.
	m, err := embed.Load("../testdata/golden/models/bert-tiny-ja")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	docs, err := m.Encode(ctx, []string{"東京は日本の首都です。", "京都には多くの寺社がある。"},
		embed.WithPromptName("document"), embed.WithNormalize())
	if err != nil {
		log.Fatal(err)
	}
	q, err := m.Encode(ctx, []string{"日本の首都は？"}, embed.WithPromptName("query"), embed.WithNormalize())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(docs), "documents of", m.Dim(), "dimensions")
	for _, d := range docs {
		var cos float32
		for i := range d {
			cos += d[i] * q[0][i]
		}
		fmt.Printf("%.2f\n", cos)
	}
	// Output:
	// 2 documents of 48 dimensions
	// 0.99
	// 0.99
}
