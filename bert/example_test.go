package bert_test

import (
	"fmt"
	"log"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
)

func Example() {
	be := kernels.NewCPU()
	m, err := bert.Load(be, "../testdata/golden/models/bert-tiny-en")
	if err != nil {
		log.Fatal(err)
	}
	// Two right-padded sequences: [CLS] hello world [SEP] and [CLS] hi [SEP] [PAD].
	ids := []int32{101, 7592, 2088, 102, 101, 7632, 102, 0}
	mask := []int32{1, 1, 1, 1, 1, 1, 1, 0}
	a, err := m.NewActivations(len(ids), 4, false)
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Forward(a, ids, nil, mask, 2, 4); err != nil {
		log.Fatal(err)
	}
	h := make([]float32, a.Hidden.Len())
	be.Download(h, a.Hidden)
	fmt.Println(m.Config.NumHiddenLayers, "layers,", len(h)/m.Config.HiddenSize, "positions of", m.Config.HiddenSize)
	// Output: 2 layers, 8 positions of 32
}
