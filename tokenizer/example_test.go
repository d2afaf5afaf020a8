package tokenizer_test

import (
	"context"
	"fmt"
	"log"

	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/tokenizer"
)

// The expected outputs below are what the Rust Hugging Face tokenizers
// crate (npm tokenizers 0.23.2) returns for the same files and texts.

func Example() {
	// A model directory: tokenizer.json plus tokenizer_config.json.
	tok, err := tokenizer.Load(golden.Path("tokenizers", "deberta-v2-large-japanese"))
	if err != nil {
		log.Fatal(err)
	}
	enc, err := tok.Encode("東京タワーの高さは？")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(enc.IDs)
	fmt.Println(enc.Tokens)
	// Output:
	// [1 440 640 6261 419 1407 469 1428 11897 2]
	// [[CLS] ▁東京 タ ワー の 高 さ は ? [SEP]]
}

func ExamplePipeline_Encode_pair() {
	tok, err := tokenizer.Load(golden.Path("tokenizers", "deberta-v2-large-japanese"))
	if err != nil {
		log.Fatal(err)
	}
	// A cross-encoder input: [CLS] question [SEP] passage [SEP].
	enc, err := tok.Encode("質問", tokenizer.WithPair("文章です"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(enc.IDs, enc.TypeIDs)
	// Output: [1 1518 2 3862 993 2] [0 0 0 1 1 1]
}

func ExampleEncodeBatch() {
	tok, err := tokenizer.Load(golden.Path("tokenizers", "bert-base-uncased", "tokenizer.json"))
	if err != nil {
		log.Fatal(err)
	}
	encs, err := tokenizer.EncodeBatch(context.Background(), tok,
		[]string{"Hello, world!", "Hello"},
		tokenizer.WithMaxLength(512), tokenizer.WithPadding(tokenizer.Padding{ID: tok.PadID(), Token: "[PAD]"}))
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range encs {
		fmt.Println(e.IDs, e.AttentionMask)
	}
	// Output:
	// [101 7592 1010 2088 999 102] [1 1 1 1 1 1]
	// [101 7592 102 0 0 0] [1 1 1 0 0 0]
}

func ExamplePipeline_Decode() {
	tok, err := tokenizer.Load(golden.Path("tokenizers", "deberta-v2-large-japanese"))
	if err != nil {
		log.Fatal(err)
	}
	text, err := tok.Decode([]int{1, 6758, 5969, 2}, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(text)
	// Output: スケートボー
}
