package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

func geglu64(x []float64, cols int) []float64 {
	rows := len(x) / (2 * cols)
	y := make([]float64, rows*cols)
	for r := range rows {
		for c := range cols {
			a, g := x[2*r*cols+c], x[(2*r+1)*cols+c]
			y[r*cols+c] = a * 0.5 * g * (1 + math.Erf(g/math.Sqrt2))
		}
	}
	return y
}

func TestGEGLU(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const rows, cols = 5, 7
	x := rnd(r, rows*2*cols, 1.5, 0)
	out := make([]float32, rows*cols)
	GEGLU(out, to32(x), cols)
	want := geglu64(x, cols)
	if d := golden.MaxDiff(out, want); d > 1e-6 {
		t.Errorf("GEGLU: max |diff| %.3g against float64", d)
	}
}

func TestGEGLUBackwardFD(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	for _, cols := range []int{1, 3, 16} {
		const rows = 4
		x := append(rnd(r, rows*2*cols-2, 1.5, 0), 0, -4)
		w := rnd(r, rows*cols, 1, 0)
		dx := make([]float32, len(x))
		for i := range dx {
			dx[i] = float32(math.NaN()) // overwritten, not accumulated
		}
		GEGLUBackward(dx, to32(w), to32(x), cols)
		fdCheck(t, "geglu", x, dx, func(x []float64) float64 { return weighted(w, geglu64(x, cols)) })
	}
}

// TestBackendRowOps checks the CPU Backend's Softmax, SoftmaxBackward,
// GEGLU and GEGLUBackward, split across threads, against the slice
// functions on one.
func TestBackendRowOps(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	be := NewCPUPool(NewPool(3))
	for _, shape := range [][2]int{{1, 1}, {3, 5}, {1000, 37}, {257, 512}} {
		rows, cols := shape[0], shape[1]
		x := randSlice(r, rows*cols)
		want := slices.Clone(x)
		Softmax(want, cols, nil)
		got := slices.Clone(x)
		be.Softmax(HostBuf(got), rows, cols)
		if !slices.Equal(got, want) {
			t.Errorf("Softmax %dx%d differs from the slice function", rows, cols)
		}
		dy := randSlice(r, rows*cols)
		wantD := slices.Clone(dy)
		SoftmaxBackward(wantD, want, cols)
		be.SoftmaxBackward(HostBuf(dy), HostBuf(want), rows, cols)
		if !slices.Equal(dy, wantD) {
			t.Errorf("SoftmaxBackward %dx%d differs from the slice function", rows, cols)
		}

		x2 := randSlice(r, rows*2*cols)
		wantG := make([]float32, rows*cols)
		GEGLU(wantG, x2, cols)
		gotG := make([]float32, rows*cols+1)
		gotG[rows*cols] = 42 // guard
		be.GEGLU(HostBuf(gotG), HostBuf(x2), rows, cols)
		if !slices.Equal(gotG[:rows*cols], wantG) || gotG[rows*cols] != 42 {
			t.Errorf("GEGLU %dx%d differs from the slice function", rows, cols)
		}
		dout := randSlice(r, rows*cols)
		wantDX := make([]float32, rows*2*cols)
		GEGLUBackward(wantDX, dout, x2, cols)
		gotDX := make([]float32, rows*2*cols)
		be.GEGLUBackward(HostBuf(gotDX), HostBuf(dout), HostBuf(x2), rows, cols)
		if !slices.Equal(gotDX, wantDX) {
			t.Errorf("GEGLUBackward %dx%d differs from the slice function", rows, cols)
		}
	}
}
