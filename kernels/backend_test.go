package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// attentionRef is the textbook computation in float64 with the additive
// mask Hugging Face uses.
func attentionRef(qkv []float32, mask []int32, batch, seq, heads, hd int) (ctx, probs []float64) {
	hidden := heads * hd
	ctx = make([]float64, batch*seq*hidden)
	probs = make([]float64, batch*heads*seq*seq)
	for b := range batch {
		for h := range heads {
			for i := range seq {
				row := probs[((b*heads+h)*seq+i)*seq:][:seq]
				mx := math.Inf(-1)
				for j := range seq {
					var s float64
					for d := range hd {
						s += float64(qkv[(b*seq+i)*3*hidden+h*hd+d]) * float64(qkv[(b*seq+j)*3*hidden+hidden+h*hd+d])
					}
					s /= math.Sqrt(float64(hd))
					if mask[b*seq+j] == 0 {
						s += -math.MaxFloat32
					}
					row[j] = s
					mx = max(mx, s)
				}
				var sum float64
				for j := range row {
					row[j] = math.Exp(row[j] - mx)
					sum += row[j]
				}
				for j := range row {
					row[j] /= sum
					for d := range hd {
						ctx[(b*seq+i)*hidden+h*hd+d] += row[j] * float64(qkv[(b*seq+j)*3*hidden+2*hidden+h*hd+d])
					}
				}
			}
		}
	}
	return ctx, probs
}

func TestCPUAttention(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const batch, seq, heads, hd = 4, 7, 3, 5
	masks := [][]int32{
		{1, 1, 1, 1, 1, 1, 1}, // full
		{1, 1, 1, 0, 0, 0, 0}, // right padding
		{1, 0, 1, 1, 0, 1, 0}, // general
		{0, 0, 0, 0, 0, 0, 0}, // nothing to attend to
	}
	var mask []int32
	for _, m := range masks {
		mask = append(mask, m...)
	}
	qkv := randSlice(r, batch*seq*3*heads*hd)
	wantCtx, wantP := attentionRef(qkv, mask, batch, seq, heads, hd)
	cpu := NewCPU()
	for _, keep := range []bool{false, true} {
		ctx := HostBuf(randSlice(r, batch*seq*heads*hd)) // garbage: must be overwritten
		var probs Buf
		if keep {
			probs = HostBuf(randSlice(r, batch*heads*seq*seq))
		}
		cpu.Attention(ctx, probs, HostBuf(qkv), mask, batch, seq, heads, hd)
		if d := golden.MaxDiff(ctx.Host(), wantCtx); d > 1e-5 {
			t.Errorf("keep=%v: ctx max diff %g", keep, d)
		}
		if keep {
			if d := golden.MaxDiff(probs.Host(), wantP); d > 1e-6 {
				t.Errorf("probs max diff %g", d)
			}
		}
	}
}

func TestCPUMaskedMax(t *testing.T) {
	cpu := NewCPU()
	x := []float32{
		1, -5, // b0 l0
		3, -7, // b0 l1 (masked)
		-2e9, -3e9, // b1 l0
		-4e9, 8, // b1 l1
		0, 0, // b2 l0 (masked)
		0, 0, // b2 l1 (masked)
	}
	mask := []int32{1, 0, 1, 1, 0, 0}
	out := HostBuf(make([]float32, 3*3))
	cpu.MaskedMax(out, HostBuf(x), mask, 3, 2, 2, 3)
	want := []float32{1, -5, 0, -2e9, 8, 0, -1e9, -1e9, 0}
	for i, w := range want {
		if out.Host()[i] != w {
			t.Fatalf("out = %v, want %v", out.Host(), want)
		}
	}
}

func TestCPUGather(t *testing.T) {
	cpu := NewCPU()
	table := HostBuf([]float32{0, 1, 10, 11, 20, 21})
	out := HostBuf(make([]float32, 6))
	cpu.Gather(out, table, []int32{2, 0, 1}, 2, 0)
	cpu.Gather(out, table, []int32{1, 1, 1}, 2, 1)
	want := []float32{30, 32, 10, 12, 20, 22}
	for i, w := range want {
		if out.Host()[i] != w {
			t.Fatalf("out = %v, want %v", out.Host(), want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Gather with an id outside the table did not panic")
		}
	}()
	cpu.Gather(out, table, []int32{3}, 2, 0)
}
