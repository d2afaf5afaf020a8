package retromae_test

import (
	"fmt"
	"math"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/retromae"
	"github.com/kotodama-ai/kotodama/train"
)

// One training step's forward and backward pass. A small random BERT
// stands in for a real checkpoint, which retromae.Load would read; the
// passages would come from retromae.Tokenize.
func Example() {
	c := bert.Config{ModelType: "bert", VocabSize: 100, HiddenSize: 16, NumHiddenLayers: 2, NumAttentionHeads: 2,
		IntermediateSize: 32, HiddenAct: "gelu", MaxPositionEmbeddings: 32, TypeVocabSize: 2, LayerNormEps: 1e-12,
		PositionEmbeddingType: "absolute"}
	enc, err := bert.New(kernels.NewCPU(), c)
	if err != nil {
		panic(err)
	}
	train.InitBERT(enc.Params, c, 0.02, 1)
	m, err := retromae.New(enc)
	if err != nil {
		panic(err)
	}
	if err := m.Init([]string{retromae.PartHead, retromae.PartDecoder}, 0.02, 1); err != nil {
		panic(err)
	}

	// [CLS]=1 … [SEP]=2, every token a word of its own.
	p := retromae.Passage{IDs: []int32{1, 10, 11, 12, 13, 14, 15, 16, 17, 2}, Words: []int32{-1, 0, 1, 2, 3, 4, 5, 6, 7, -1}}
	col := retromae.Collator{EncoderRatio: 0.3, DecoderRatio: 0.5, MaskID: 3, PadID: 0, Vocab: c.VocabSize}
	b, err := col.Collate([]retromae.Passage{p, p}, 42)
	if err != nil {
		panic(err)
	}
	a, err := m.NewActs(b.B, b.L, true)
	if err != nil {
		panic(err)
	}
	l, err := m.Forward(a, b)
	if err != nil {
		panic(err)
	}
	g, err := m.NewGrads()
	if err != nil {
		panic(err)
	}
	if err := m.Backward(g, a); err != nil {
		panic(err)
	}
	// A fresh model predicts uniformly: each loss is about ln(vocabulary).
	fmt.Printf("%d encoder labels, %d decoder labels\n", l.EncoderTokens, l.DecoderTokens)
	fmt.Printf("losses near ln(100) = %.2f: %v\n", math.Log(100), math.Abs(l.Encoder-math.Log(100)) < 0.1 && math.Abs(l.Decoder-math.Log(100)) < 0.1)
	// Output:
	// 6 encoder labels, 16 decoder labels
	// losses near ln(100) = 4.61: true
}
