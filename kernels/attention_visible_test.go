package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

// attentionVisible64 is the textbook computation in float64 with a
// visibility matrix per sequence (invisible keys get -Inf, a row with no
// visible key attends to nothing) and, when p > 0, dropout on the probabilities
// with the masks taken from dropoutProbs itself (as attention64 does). It
// returns ctx and the probabilities before dropout.
func attentionVisible64(qkv []float64, visible []int32, batch, seq, heads, hd int, p float32, seed uint64, streams []uint64) (ctx, probs []float64) {
	hidden := heads * hd
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
			for i := range seq {
				row := probs[((b*heads+h)*seq+i)*seq:][:seq]
				vis := visible[(b*seq+i)*seq:][:seq]
				mx := math.Inf(-1)
				for j := range seq {
					if vis[j] == 0 {
						row[j] = math.Inf(-1)
						continue
					}
					var s float64
					for d := range hd {
						s += qkv[(b*seq+i)*ld+h*hd+d] * qkv[(b*seq+j)*ld+hidden+h*hd+d]
					}
					row[j] = s / math.Sqrt(float64(hd))
					mx = max(mx, row[j])
				}
				var sum float64
				for j := range row {
					row[j] = math.Exp(row[j] - mx) // NaN when nothing is visible
					sum += row[j]
				}
				for j := range row {
					if row[j] /= sum; math.IsInf(mx, -1) {
						row[j] = 0
					}
					for d := range hd {
						ctx[(b*seq+i)*hidden+h*hd+d] += row[j] * float64(keep[i*seq+j]) * qkv[(b*seq+j)*ld+2*hidden+h*hd+d]
					}
				}
			}
		}
	}
	return ctx, probs
}

// visibilityCases returns a [batch, seq, seq] matrix mixing full rows,
// holes, a row seeing only itself's neighbours and fully hidden rows.
func visibilityCases(r *rand.Rand, batch, seq int) []int32 {
	v := make([]int32, batch*seq*seq)
	for i := range v {
		if r.IntN(2) == 0 {
			v[i] = 1
		}
	}
	// Sequence 0, row 0 sees everything; row 1 nothing (padding).
	for j := range seq {
		v[j] = 1
		v[seq+j] = 0
	}
	return v
}

func TestCPUAttentionVisible(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const batch, seq, heads, hd = 3, 7, 2, 5
	visible := visibilityCases(r, batch, seq)
	qkv := randSlice(r, batch*seq*3*heads*hd)
	wantCtx, wantP := attentionVisible64(to64(qkv), visible, batch, seq, heads, hd, 0, 0, nil)
	cpu := NewCPU()
	for _, keep := range []bool{false, true} {
		ctx := HostBuf(randSlice(r, batch*seq*heads*hd)) // garbage: must be overwritten
		var probs Buf
		if keep {
			probs = HostBuf(randSlice(r, batch*heads*seq*seq))
		}
		cpu.AttentionVisible(ctx, probs, HostBuf(qkv), visible, batch, seq, heads, hd)
		if d := golden.MaxDiff(ctx.Host(), wantCtx); d > 1e-5 {
			t.Errorf("keep=%v: ctx max diff %g", keep, d)
		}
		if keep {
			if d := golden.MaxDiff(probs.Host(), wantP); d > 1e-6 {
				t.Errorf("probs max diff %g", d)
			}
			for i, v := range wantP {
				if v == 0 && probs.Host()[i] != 0 {
					t.Fatalf("probs[%d] = %g at an invisible key, want exactly 0", i, probs.Host()[i])
				}
			}
		}
	}
}

// TestAttentionVisibleIsAttention checks that rows which all see the
// key mask give what Attention gives.
func TestAttentionVisibleIsAttention(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const batch, seq, heads, hd = 2, 6, 3, 4
	mask := []int32{1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1}
	visible := make([]int32, batch*seq*seq)
	for b := range batch {
		for i := range seq {
			copy(visible[(b*seq+i)*seq:], mask[b*seq:(b+1)*seq])
		}
	}
	qkv := HostBuf(randSlice(r, batch*seq*3*heads*hd))
	cpu := NewCPU()
	want, got := HostBuf(make([]float32, batch*seq*heads*hd)), HostBuf(make([]float32, batch*seq*heads*hd))
	cpu.Attention(want, Buf{}, qkv, mask, batch, seq, heads, hd)
	cpu.AttentionVisible(got, Buf{}, qkv, visible, batch, seq, heads, hd)
	for i, w := range want.Host() {
		if d := math.Abs(float64(got.Host()[i] - w)); d > 1e-6 {
			t.Fatalf("ctx[%d] = %g, Attention gives %g", i, got.Host()[i], w)
		}
	}
}

// TestAttentionVisibleBackwardFD checks that AttentionBackward with a
// mask of all ones, given the probabilities AttentionVisible kept, is the
// gradient of AttentionVisible (with and without dropout on the
// probabilities), against float64 central differences.
func TestAttentionVisibleBackwardFD(t *testing.T) {
	const batch, seq, heads, headDim = 2, 5, 2, 3
	hidden := heads * headDim
	r := rand.New(rand.NewPCG(9, 9))
	visible := visibilityCases(r, batch, seq)
	ones := make([]int32, batch*seq)
	for i := range ones {
		ones[i] = 1
	}
	streams := []uint64{3, 4, 5, 6}
	for _, p := range []float32{0, 0.3} {
		qkv := rnd(r, batch*seq*3*hidden, 1, 0)
		w := rnd(r, batch*seq*hidden, 1, 0)
		_, probs := attentionVisible64(qkv, visible, batch, seq, heads, headDim, p, 9, streams)
		dqkv := make([]float32, len(qkv))
		for i := range dqkv {
			dqkv[i] = float32(math.NaN()) // must be overwritten
		}
		AttentionBackward(dqkv, to32(w), to32(probs), to32(qkv), ones, batch, seq, heads, headDim, p, 9, streams)
		fdCheck(t, fmt.Sprintf("dqkv p=%v", p), qkv, dqkv, func(x []float64) float64 {
			c, _ := attentionVisible64(x, visible, batch, seq, heads, headDim, p, 9, streams)
			return weighted(w, c)
		})
	}
}

func to64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
