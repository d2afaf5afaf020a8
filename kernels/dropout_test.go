package kernels

import (
	"math"
	"testing"
)

func TestDropout(t *testing.T) {
	const n = 1 << 16
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	for _, p := range []float32{0, 0.1, 0.5} {
		out := make([]float32, n)
		Dropout(out, x, p, 42, 7)
		kept := 0
		for _, v := range out {
			switch v {
			case 0:
			case 1 / (1 - p):
				kept++
			default:
				t.Fatalf("p=%v: value %v", p, v)
			}
		}
		// Binomial(n, 1-p): 6 standard deviations.
		want := float64(n) * float64(1-p)
		if sd := math.Sqrt(float64(n) * float64(p*(1-p))); math.Abs(float64(kept)-want) > 6*sd+1e-9 {
			t.Errorf("p=%v: kept %d of %d", p, kept, n)
		}
		// Same key, same mask; backward applies it to the gradient.
		again := make([]float32, n)
		Dropout(again, x, p, 42, 7)
		dx := make([]float32, n)
		DropoutBackward(dx, x, p, 42, 7)
		for i := range out {
			if again[i] != out[i] || dx[i] != out[i] {
				t.Fatalf("p=%v: element %d: forward %v, again %v, backward %v", p, i, out[i], again[i], dx[i])
			}
		}
		if p == 0 {
			continue
		}
		// Another stream or seed gives another mask.
		for _, k := range [][2]uint64{{42, 8}, {43, 7}} {
			other := make([]float32, n)
			Dropout(other, x, p, k[0], k[1])
			same := 0
			for i := range out {
				if other[i] == out[i] {
					same++
				}
			}
			if same == n {
				t.Errorf("p=%v: key %v gives the mask of (42, 7)", p, k)
			}
		}
	}
}

func TestDropoutPrefix(t *testing.T) {
	// A slab's mask does not depend on its length: a prefix is masked alike.
	x := make([]float32, 100)
	for i := range x {
		x[i] = float32(i + 1)
	}
	a := make([]float32, 100)
	b := make([]float32, 40)
	Dropout(a, x, 0.3, 1, 2)
	Dropout(b, x[:40], 0.3, 1, 2)
	for i := range b {
		if a[i] != b[i] {
			t.Fatalf("element %d: %v vs %v", i, a[i], b[i])
		}
	}
}
