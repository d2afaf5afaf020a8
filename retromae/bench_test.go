package retromae

import (
	"fmt"
	"testing"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/train"
)

// BenchmarkStep times one pre-training step's forward and backward pass
// (no optimizer) of a BERT with a 32000-token vocabulary, the size of the
// bundled Japanese tokenizers, on batches of full-length passages.
func BenchmarkStep(b *testing.B) {
	for _, s := range []struct{ hidden, layers, batch, seq int }{{128, 2, 16, 128}, {256, 4, 16, 128}} {
		b.Run(fmt.Sprintf("hidden=%d/layers=%d/batch=%d/seq=%d", s.hidden, s.layers, s.batch, s.seq), func(b *testing.B) {
			c := bert.Config{ModelType: "bert", VocabSize: 32000, HiddenSize: s.hidden, NumHiddenLayers: s.layers,
				NumAttentionHeads: s.hidden / 64, IntermediateSize: 4 * s.hidden, HiddenAct: "gelu", MaxPositionEmbeddings: 512,
				TypeVocabSize: 2, LayerNormEps: 1e-12, PositionEmbeddingType: "absolute"}
			enc, err := bert.New(kernels.NewCPU(), c)
			if err != nil {
				b.Fatal(err)
			}
			train.InitBERT(enc.Params, c, 0.02, 1)
			m, _ := New(enc)
			m.Init([]string{PartHead, PartDecoder}, 0.02, 1)
			d := &Data{BatchSize: s.batch, Seed: 1, Collator: Collator{EncoderRatio: 0.3, DecoderRatio: 0.5, MaskID: 4, PadID: 0, Vocab: 32000}}
			for i := range s.batch {
				p := Passage{IDs: make([]int32, s.seq), Words: make([]int32, s.seq)}
				for j := range p.IDs {
					p.IDs[j], p.Words[j] = int32(5+(i*131+j*17)%31000), int32(j/2)
				}
				p.IDs[0], p.IDs[s.seq-1], p.Words[0], p.Words[s.seq-1] = 1, 2, -1, -1
				d.Passages = append(d.Passages, p)
			}
			batch, err := d.Batch(0)
			if err != nil {
				b.Fatal(err)
			}
			a, _ := m.NewActs(s.batch, s.seq, true)
			g, _ := m.NewGrads()
			b.ResetTimer()
			for range b.N {
				if _, err := m.Forward(a, batch); err != nil {
					b.Fatal(err)
				}
				if err := m.Backward(g, a); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.batch*b.N)/b.Elapsed().Seconds(), "seq/s")
		})
	}
}
