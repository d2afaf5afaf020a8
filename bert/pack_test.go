package bert

import (
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/kernels"
)

// TestPack: a packed model gives the unpacked one's hidden states bit for
// bit, on every fixture (whose layer widths cover both the in-place and
// the copying packing), at several batch shapes and thread counts; what
// needs the stored weights afterwards fails with ErrPacked.
func TestPack(t *testing.T) {
	for _, dir := range golden.Dirs(t, "models", "config.json") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			for _, threads := range []int{1, 3} {
				pool := kernels.NewPool(threads)
				defer pool.Close()
				be := kernels.NewCPUPool(pool)
				m, err := Load(be, dir)
				if err != nil {
					t.Fatal(err)
				}
				mp, err := Load(be, dir)
				if err != nil {
					t.Fatal(err)
				}
				mp.Pack()
				mp.Pack() // a second call does nothing
				if m.Packed() || !mp.Packed() {
					t.Fatalf("Packed() = %v, %v after Pack on the second only", m.Packed(), mp.Packed())
				}
				for _, shape := range [][2]int{{1, 3}, {2, 7}, {5, 16}} {
					batch, seq := shape[0], shape[1]
					ids, mask := make([]int32, batch*seq), make([]int32, batch*seq)
					for i := range ids {
						ids[i] = int32((i*7919 + 5) % m.Config.VocabSize)
						if i%seq <= seq/2+i/seq {
							mask[i] = 1
						}
					}
					hidden := func(m *Model) []float32 {
						a, err := m.NewActivations(batch*seq, seq, false)
						if err != nil {
							t.Fatal(err)
						}
						if err := m.Forward(a, ids, nil, mask, batch, seq); err != nil {
							t.Fatal(err)
						}
						return a.Hidden.Host()
					}
					want, got := hidden(m), hidden(mp)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("threads=%d batch=%d seq=%d: hidden[%d] packed = %v, as stored = %v", threads, batch, seq, i, got[i], want[i])
						}
					}
				}

				a, err := mp.NewActivations(4, 4, true)
				if err != nil {
					t.Fatal(err)
				}
				if err := mp.Forward(a, []int32{1, 2, 3, 4}, nil, []int32{1, 1, 1, 0}, 1, 4); err != nil {
					t.Fatal(err)
				}
				g, err := NewParams(be, mp.Config)
				if err != nil {
					t.Fatal(err)
				}
				if err := mp.Backward(g, a, a.Hidden); !errors.Is(err, ErrPacked) {
					t.Errorf("Backward after Pack: %v, want ErrPacked", err)
				}
				f, err := OpenWeights(nil, dir)
				if err != nil {
					t.Fatal(err)
				}
				if err := mp.LoadWeights(f); !errors.Is(err, ErrPacked) {
					t.Errorf("LoadWeights after Pack: %v, want ErrPacked", err)
				}
				f.Close()
				l := &mp.Params.Layers[0]
				ca, err := l.NewCrossActs(be, 4, 4)
				if err != nil {
					t.Fatal(err)
				}
				x := a.Hidden
				if err := l.ForwardCross(be, ca, x, x, make([]int32, 16), 1, 4); !errors.Is(err, ErrPacked) {
					t.Errorf("ForwardCross after Pack: %v, want ErrPacked", err)
				}
			}
		})
	}
}
