package train

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/kotodama-ai/kotodama/kernels"
)

func testParams(r *rand.Rand) []Param {
	mk := func(name string, shape ...int) Param {
		p := Param{Name: name, Shape: shape}
		w := make([]float32, p.Size())
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		p.Value = kernels.HostBuf(w)
		p.Grad = kernels.HostBuf(make([]float32, p.Size()))
		return p
	}
	return []Param{mk("dense.weight", 3, 4), mk("dense.bias", 4), mk("LayerNorm.weight", 4)}
}

func randomGrads(r *rand.Rand, ps []Param) {
	for _, p := range ps {
		for i := range p.Grad.Host() {
			p.Grad.Host()[i] = float32(r.NormFloat64())
		}
	}
}

func values(ps []Param) [][]float32 {
	var out [][]float32
	for _, p := range ps {
		out = append(out, append([]float32(nil), p.Value.Host()...))
	}
	return out
}

// TestStateRoundTrip: six steps straight equal three steps, a save, a
// fresh optimizer loading the state, and three more steps — bit for bit.
func TestStateRoundTrip(t *testing.T) {
	run := func(split bool) [][]float32 {
		r := rand.New(rand.NewPCG(9, 9))
		ps := testParams(r)
		opt, err := NewAdamW(ps)
		if err != nil {
			t.Fatal(err)
		}
		for step := 0; step < 6; step++ {
			if split && step == 3 {
				path := filepath.Join(t.TempDir(), "optimizer.safetensors")
				if err := opt.SaveState(path); err != nil {
					t.Fatal(err)
				}
				if opt, err = NewAdamW(ps); err != nil {
					t.Fatal(err)
				}
				if err := opt.LoadState(path); err != nil {
					t.Fatal(err)
				}
				if opt.Steps() != 3 {
					t.Fatalf("loaded step %d", opt.Steps())
				}
			}
			randomGrads(r, ps)
			if err := opt.Step(1e-2); err != nil {
				t.Fatal(err)
			}
		}
		return values(ps)
	}
	a, b := run(false), run(true)
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("param %d[%d]: %v uninterrupted, %v resumed", i, j, a[i][j], b[i][j])
			}
		}
	}
}

func TestLoadStateMismatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 9))
	ps := testParams(r)
	opt, _ := NewAdamW(ps)
	path := filepath.Join(t.TempDir(), "opt.safetensors")
	if err := opt.SaveState(path); err != nil {
		t.Fatal(err)
	}
	other, _ := NewAdamW(ps[:2])
	if err := other.LoadState(path); !errors.Is(err, ErrState) {
		t.Errorf("fewer params: %v", err)
	}
	wd, _ := NewAdamW(ps, WithWeightDecay(0.1))
	if err := wd.LoadState(path); !errors.Is(err, ErrState) {
		t.Errorf("other weight decay: %v", err)
	}
	reshaped := append([]Param(nil), ps...)
	reshaped[0].Shape = []int{4, 3}
	rs, _ := NewAdamW(reshaped)
	if err := rs.LoadState(path); !errors.Is(err, ErrState) {
		t.Errorf("other shape: %v", err)
	}
	if err := opt.LoadState(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file: no error")
	}
}
