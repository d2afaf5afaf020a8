package pooling

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kotodama-ai/kotodama/kernels"
)

// TestBackwardFiniteDifferences checks the gradient of every mode, alone
// and all concatenated, with padding and with the prompt excluded,
// against central differences of Forward. Every mode is linear in the
// hidden states (max piecewise), so the differences are exact up to
// float32 rounding of the forward.
func TestBackwardFiniteDifferences(t *testing.T) {
	const batch, seq, dim = 3, 5, 4
	mask := []int32{1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}
	all := []Mode{CLS, Max, Mean, MeanSqrtLen, WeightedMean, LastToken}
	var configs []Config
	for _, m := range all {
		configs = append(configs, Config{Dim: dim, Modes: []Mode{m}, IncludePrompt: true})
	}
	configs = append(configs, Config{Dim: dim, Modes: all, IncludePrompt: true}, Config{Dim: dim, Modes: all, IncludePrompt: false})
	be := kernels.NewCPU()
	for _, c := range configs {
		t.Run(fmt.Sprintf("%v/prompt=%v", c.Modes, c.IncludePrompt), func(t *testing.T) {
			p, err := New(be, c)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := p.NewActs(batch * seq)
			r := rand.New(rand.NewPCG(1, 2))
			hidden := make([]float32, batch*seq*dim)
			for i := range hidden {
				hidden[i] = float32(r.NormFloat64())
			}
			R := make([]float32, batch*p.OutputDim())
			for i := range R {
				R[i] = float32(r.NormFloat64())
			}
			out := make([]float32, len(R))
			loss := func() float64 {
				if err := p.Forward(kernels.HostBuf(out), a, kernels.HostBuf(hidden), mask, batch, seq, 2); err != nil {
					t.Fatal(err)
				}
				var l float64
				for i, v := range out {
					l += float64(v) * float64(R[i])
				}
				return l
			}
			loss()
			dh := make([]float32, len(hidden))
			if err := p.Backward(kernels.HostBuf(dh), a, kernels.HostBuf(R), kernels.HostBuf(hidden), batch, seq); err != nil {
				t.Fatal(err)
			}
			for i := range hidden {
				const h = 1e-3
				old := hidden[i]
				hidden[i] = old + h
				fp := loss()
				hidden[i] = old - h
				fm := loss()
				hidden[i] = old
				num := (fp - fm) / (2 * h)
				if math.Abs(num-float64(dh[i])) > 1e-3*(1+math.Abs(num)) {
					t.Errorf("dHidden[%d] (seq %d, pos %d): backward %v, finite differences %v", i, i/(seq*dim), i/dim%seq, dh[i], num)
				}
			}
		})
	}
}

func TestBackwardErrors(t *testing.T) {
	p, _ := New(kernels.NewCPU(), Config{Dim: 2, Modes: []Mode{Mean}, IncludePrompt: true})
	a, _ := p.NewActs(4)
	if err := p.Backward(kernels.HostBuf(make([]float32, 8)), a, kernels.HostBuf(make([]float32, 4)), kernels.HostBuf(make([]float32, 8)), 2, 2); err == nil {
		t.Error("Backward before Forward: no error")
	}
}
