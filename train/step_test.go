package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kotodama-ai/kotodama/loss"
)

func grads(ps []Param) [][]float32 {
	var out [][]float32
	for _, p := range ps {
		out = append(out, append([]float32(nil), p.Grad.Host()...))
	}
	return out
}

// TestGradCacheEqualsFullBatch: for every mini-batch size, GradCache gives
// the loss and every parameter gradient of the one-shot computation, with
// dropout on (the masks must replay) and with hard negatives.
func TestGradCacheEqualsFullBatch(t *testing.T) {
	ctx := context.Background()
	for _, sym := range []bool{false, true} {
		r := rand.New(rand.NewPCG(11, 12))
		m := newToy(r, 50, 8, 0.2)
		batch := randomBatch(r, 6, 1, 50)
		opts := []loss.Option{loss.WithScale(10)}
		if sym {
			opts = append(opts, loss.Symmetric())
		}
		l, _ := loss.NewInfoNCE(opts...)
		mode := Mode{Train: true, Seed: 77}
		ZeroGrad(m.Params())
		want, err := Backprop(ctx, m, l, batch, mode, 0, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		wantG := grads(m.Params())
		for _, mb := range []int{1, 2, 5, 7, 17} {
			t.Run(fmt.Sprintf("symmetric=%v/mini=%d", sym, mb), func(t *testing.T) {
				ZeroGrad(m.Params())
				got, err := Backprop(ctx, m, l, batch, mode, mb, 0.5)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(float64(got-want)) > 1e-6*max(1, math.Abs(float64(want))) {
					t.Errorf("loss %v, full batch %v", got, want)
				}
				for i, g := range grads(m.Params()) {
					var worst, scale float64
					for j := range g {
						worst = max(worst, math.Abs(float64(g[j]-wantG[i][j])))
						scale = max(scale, math.Abs(float64(wantG[i][j])))
					}
					if worst > 1e-5*scale || scale == 0 {
						t.Errorf("%s: max diff %.3g (largest gradient %.3g)", m.Params()[i].Name, worst, scale)
					}
				}
			})
		}
	}
}

// TestDropoutMatters guards the test above: without the same masks the
// gradients would differ, so a GradCache that forgot to replay them fails.
func TestDropoutMatters(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(11, 12))
	m := newToy(r, 50, 8, 0.2)
	batch := randomBatch(r, 6, 1, 50)
	l, _ := loss.NewInfoNCE()
	a, _ := Backprop(ctx, m, l, batch, Mode{Train: true, Seed: 1}, 0, 1)
	b, _ := Backprop(ctx, m, l, batch, Mode{Train: true, Seed: 2}, 0, 1)
	if a == b {
		t.Fatalf("two dropout seeds gave the same loss %v", a)
	}
}

func TestBatchValidate(t *testing.T) {
	for _, b := range []Batch{{B: 0}, {Seqs: make([]Seq, 3), B: 2}, {Seqs: make([]Seq, 5), B: 2}} {
		if b.Validate() == nil {
			t.Errorf("%d seqs, B=%d: no error", len(b.Seqs), b.B)
		}
	}
}
