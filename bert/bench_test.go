package bert

import (
	"fmt"
	"os"
	"testing"

	"github.com/kotodama-ai/kotodama/kernels"
)

// BenchmarkForward runs inference over a full batch of random ids, with
// the weights as stored (re-packed in every product) and packed once
// (Model.Pack, as embed does). It uses the model directory in
// $KOTODAMA_BENCH_MODEL (for example the BERT-base that
// ../shared/bench/bert-ort.sh writes) or the first golden fixture.
func BenchmarkForward(b *testing.B) {
	dir := os.Getenv("KOTODAMA_BENCH_MODEL")
	if dir == "" {
		dir = fixtureDir(b)
	}
	for _, packed := range []bool{false, true} {
		m, err := Load(kernels.NewCPU(), dir)
		if err != nil {
			b.Fatal(err)
		}
		if packed {
			m.Pack()
		}
		for _, shape := range [][2]int{{32, 128}, {8, 32}, {1, 16}} {
			batch, seq := shape[0], min(shape[1], m.Config.MaxPositionEmbeddings)
			b.Run(fmt.Sprintf("packed=%v/batch=%d/seq=%d", packed, batch, seq), func(b *testing.B) {
				a, err := m.NewActivations(batch*seq, seq, false)
				if err != nil {
					b.Fatal(err)
				}
				ids, mask := make([]int32, batch*seq), make([]int32, batch*seq)
				for i := range ids {
					ids[i] = int32((i*7919 + 5) % m.Config.VocabSize)
					mask[i] = 1
				}
				for b.Loop() {
					if err := m.Forward(a, ids, nil, mask, batch, seq); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "seq/s")
			})
		}
	}
}
