package train

import (
	"math"
	"testing"

	"github.com/kotodama-ai/kotodama/kernels"
)

func TestClipGradNorm(t *testing.T) {
	a := Param{Name: "a", Shape: []int{2}, Value: kernels.HostBuf(make([]float32, 2)), Grad: kernels.HostBuf([]float32{3, 0})}
	b := Param{Name: "b", Shape: []int{1}, Value: kernels.HostBuf(make([]float32, 1)), Grad: kernels.HostBuf([]float32{-4})}
	ps := []Param{a, b}
	if n := ClipGradNorm(ps, 10); n != 5 {
		t.Fatalf("norm %v, want 5", n)
	}
	if a.Grad.Host()[0] != 3 {
		t.Fatalf("clipped below the limit: %v", a.Grad.Host())
	}
	if n := ClipGradNorm(ps, 1); n != 5 {
		t.Fatalf("norm %v, want 5", n)
	}
	coef := float32(1 / (5 + 1e-6))
	if a.Grad.Host()[0] != 3*coef || b.Grad.Host()[0] != -4*coef {
		t.Fatalf("clipped grads %v %v", a.Grad.Host(), b.Grad.Host())
	}
	if n := GradNorm(ps); math.Abs(n-1) > 1e-6 {
		t.Fatalf("norm after clipping %v", n)
	}
	b.Grad.Host()[0] = float32(math.Inf(1))
	if n := ClipGradNorm(ps, 1); !math.IsInf(n, 1) || a.Grad.Host()[0] != 3*coef {
		t.Fatalf("non-finite norm %v changed grads", n)
	}
	ZeroGrad(ps)
	if GradNorm(ps) != 0 {
		t.Fatal("ZeroGrad left gradients")
	}
}
