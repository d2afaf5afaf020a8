package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// attention64 is a float64 transcription of masked multi-head attention
// with dropout on the probabilities (masks taken from Dropout itself, so
// the test checks the calculus, not the generator). It returns ctx and P.
func attention64(qkv []float64, mask []int32, batch, seq, heads, headDim int, p float32, seed uint64, streams []uint64) (ctx, probs []float64) {
	hidden := heads * headDim
	ld := 3 * hidden
	ctx = make([]float64, batch*seq*hidden)
	probs = make([]float64, batch*heads*seq*seq)
	ones := make([]float32, seq*seq)
	for i := range ones {
		ones[i] = 1
	}
	keep := make([]float32, seq*seq)
	for b := range batch {
		for h := range heads {
			copy(keep, ones)
			if p != 0 {
				dropoutProbs(keep, ones, seq, p, seed, streams[b*heads+h])
			}
			P := probs[(b*heads+h)*seq*seq:]
			for i := range seq {
				row := make([]float64, seq)
				mx := math.Inf(-1)
				for j := range seq {
					if mask[b*seq+j] == 0 {
						row[j] = math.Inf(-1)
						continue
					}
					var s float64
					for d := range headDim {
						s += qkv[(b*seq+i)*ld+h*headDim+d] * qkv[(b*seq+j)*ld+hidden+h*headDim+d]
					}
					row[j] = s / math.Sqrt(float64(headDim))
					mx = max(mx, row[j])
				}
				var sum float64
				for j := range row {
					row[j] = math.Exp(row[j] - mx)
					sum += row[j]
				}
				for j := range row {
					P[i*seq+j] = row[j] / sum
					for d := range headDim {
						ctx[(b*seq+i)*hidden+h*headDim+d] += P[i*seq+j] * float64(keep[i*seq+j]) * qkv[(b*seq+j)*ld+2*hidden+h*headDim+d]
					}
				}
			}
		}
	}
	return ctx, probs
}

func TestAttentionBackwardFD(t *testing.T) {
	const batch, seq, heads, headDim = 2, 5, 2, 3
	hidden := heads * headDim
	masks := map[string][]int32{
		"full":   {1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		"padded": {1, 1, 1, 0, 0, 1, 1, 1, 1, 0},
		"holes":  {1, 0, 1, 1, 0, 1, 1, 0, 1, 1},
	}
	streams := []uint64{3, 4, 5, 6}
	for name, mask := range masks {
		for _, p := range []float32{0, 0.3} {
			t.Run(fmt.Sprintf("%s/p=%v", name, p), func(t *testing.T) {
				r := rand.New(rand.NewPCG(4, 4))
				qkv := rnd(r, batch*seq*3*hidden, 1, 0)
				w := rnd(r, batch*seq*hidden, 1, 0)
				_, probs := attention64(qkv, mask, batch, seq, heads, headDim, p, 9, streams)
				dqkv := make([]float32, len(qkv))
				for i := range dqkv {
					dqkv[i] = float32(math.NaN()) // must be overwritten
				}
				AttentionBackward(dqkv, to32(w), to32(probs), to32(qkv), mask, batch, seq, heads, headDim, p, 9, streams)
				fdCheck(t, "dqkv", qkv, dqkv, func(x []float64) float64 {
					c, _ := attention64(x, mask, batch, seq, heads, headDim, p, 9, streams)
					return weighted(w, c)
				})
			})
		}
	}
}

// TestAttentionDropout checks the recomputed output against the
// float64 transcription.
func TestAttentionDropout(t *testing.T) {
	const batch, seq, heads, headDim = 2, 4, 2, 3
	hidden := heads * headDim
	mask := []int32{1, 1, 1, 0, 1, 1, 1, 1}
	streams := []uint64{1, 2, 3, 4}
	r := rand.New(rand.NewPCG(5, 5))
	qkv := rnd(r, batch*seq*3*hidden, 1, 0)
	want, probs := attention64(qkv, mask, batch, seq, heads, headDim, 0.4, 7, streams)
	got := make([]float32, len(want))
	AttentionDropout(got, to32(probs), to32(qkv), batch, seq, heads, headDim, 0.4, 7, streams)
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-5 {
			t.Fatalf("ctx[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestAttentionDropoutPaddingInvariant: a sequence's attention dropout
// mask is the same whatever length the batch is padded to.
func TestAttentionDropoutPaddingInvariant(t *testing.T) {
	short, long := make([]float32, 9), make([]float32, 25)
	ones := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = 1
		}
		return x
	}
	dropoutProbs(short, ones(9), 3, 0.5, 1, 2)
	dropoutProbs(long, ones(25), 5, 0.5, 1, 2)
	for i := range 3 {
		for j := range 3 {
			if short[i*3+j] != long[i*5+j] {
				t.Fatalf("element (%d, %d): %v padded to 3, %v padded to 5", i, j, short[i*3+j], long[i*5+j])
			}
		}
	}
}
