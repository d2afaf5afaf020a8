package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/loss"
	"github.com/kotodama-ai/kotodama/pooling"
)

// BenchmarkStep times one contrastive training step (encode 2×pairs
// sequences, InfoNCE, backward, AdamW) of a random BERT; the shapes are
// ../shared/bench/train-torch.sh's tiny and small.
func BenchmarkStep(b *testing.B) {
	for _, s := range []struct {
		name                  string
		hidden, layers, heads int
		pairs, seq            int
	}{
		{"tiny", 128, 2, 2, 32, 128},
		{"small", 512, 4, 8, 32, 128},
	} {
		b.Run(fmt.Sprintf("size=%s/pairs=%d/seq=%d", s.name, s.pairs, s.seq), func(b *testing.B) {
			c := bert.Config{ModelType: "bert", VocabSize: 32768, HiddenSize: s.hidden, NumHiddenLayers: s.layers,
				NumAttentionHeads: s.heads, IntermediateSize: 4 * s.hidden, HiddenAct: "gelu", MaxPositionEmbeddings: 512,
				TypeVocabSize: 2, LayerNormEps: 1e-12, PositionEmbeddingType: "absolute"}
			m, err := bert.New(kernels.NewCPU(), c)
			if err != nil {
				b.Fatal(err)
			}
			InitBERT(m.Params, c, 0.02, 1)
			p, _ := pooling.New(m.Backend, pooling.Config{Dim: s.hidden, Modes: []pooling.Mode{pooling.Mean}, IncludePrompt: true})
			e, _ := NewBERT(m, p)
			opt, _ := NewAdamW(e.Params())
			l, _ := loss.NewInfoNCE()
			batch := Batch{B: s.pairs}
			r := rand.New(rand.NewPCG(1, 1))
			for range 2 * s.pairs {
				seq := make(Seq, s.seq)
				for j := range seq {
					seq[j] = 5 + r.IntN(30000)
				}
				batch.Seqs = append(batch.Seqs, seq)
			}
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				ZeroGrad(e.Params())
				if _, err := Backprop(ctx, e, l, batch, Mode{}, 0, 1); err != nil {
					b.Fatal(err)
				}
				if err := opt.Step(1e-5); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.pairs*b.N)/b.Elapsed().Seconds(), "pairs/s")
		})
	}
}
