package train

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/kernels"
)

type adamwMeta struct {
	Hyperparameters struct {
		LR          float64 `json:"lr"`
		Betas       [2]float64
		Eps         float64
		WeightDecay float64 `json:"weight_decay"`
		Amsgrad     bool
		Maximize    bool
	}
	Shapes [][]int
	Steps  int
}

func f32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// TestGoldenAdamW replays every adamw fixture step by step and compares
// the parameters and both moments after each step.
func TestGoldenAdamW(t *testing.T) {
	for _, dir := range golden.Dirs(t, "training", "adamw.safetensors") {
		raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
		if err != nil {
			t.Fatal(err)
		}
		var meta adamwMeta
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatal(err)
		}
		h := meta.Hyperparameters
		if h.Amsgrad || h.Maximize || meta.Steps == 0 || len(meta.Shapes) == 0 {
			t.Fatalf("%s: fixture asks for what AdamW does not do: %+v", dir, meta)
		}
		ts := readFixture(t, filepath.Join(dir, "adamw.safetensors"))
		var params []Param
		for i, shape := range meta.Shapes {
			p := Param{Name: fmt.Sprintf("param%d", i), Shape: shape,
				Value: kernels.HostBuf(f32(ts[fmt.Sprintf("param%d.init", i)]))}
			p.Grad = kernels.HostBuf(make([]float32, p.Size()))
			params = append(params, p)
		}
		opt, err := NewAdamW(params, WithBetas(h.Betas[0], h.Betas[1]), WithEps(h.Eps), WithWeightDecay(h.WeightDecay))
		if err != nil {
			t.Fatal(err)
		}
		for k := 1; k <= meta.Steps; k++ {
			for i, p := range params {
				copy(p.Grad.Host(), f32(ts[fmt.Sprintf("grad%d.step%d", i, k)]))
			}
			if err := opt.Step(h.LR); err != nil {
				t.Fatal(err)
			}
			for i, p := range params {
				for _, c := range []struct {
					name string
					got  []float32
				}{
					{fmt.Sprintf("param%d.step%d", i, k), p.Value.Host()},
					{fmt.Sprintf("exp_avg%d.step%d", i, k), opt.m[i]},
					{fmt.Sprintf("exp_avg_sq%d.step%d", i, k), opt.v[i]},
				} {
					want := ts[c.name]
					if len(want) != len(c.got) {
						t.Fatalf("%s: %d values, fixture %d", c.name, len(c.got), len(want))
					}
					var worst float64
					for j, w := range want {
						d := math.Abs(float64(c.got[j]) - w)
						worst = max(worst, d/(1e-7+1e-5*math.Abs(w)))
					}
					if worst > 1 {
						t.Errorf("%s: error %.3g × tolerance (1e-7 + 1e-5·|want|)", c.name, worst)
					}
				}
			}
		}
		if opt.Steps() != meta.Steps {
			t.Errorf("Steps() = %d", opt.Steps())
		}
	}
}

func TestNoDecay(t *testing.T) {
	for name, want := range map[string]bool{
		"embeddings.word_embeddings.weight":                        false,
		"encoder.layer.0.attention.self.query.weight":              false,
		"encoder.layer.0.attention.self.query.bias":                true,
		"embeddings.LayerNorm.weight":                              true,
		"encoder.layer.3.output.LayerNorm.bias":                    true,
		"latent_attention_model.cross_attend_blocks.0.norm.weight": true,
		"model.layers.0.input_layernorm.weight":                    true,
		"model.norm.weight":                                        true,
		"model.layers.0.self_attn.q_norm.weight":                   true,
		"normalizer.weight":                                        false,
	} {
		if got := NoDecay(name); got != want {
			t.Errorf("NoDecay(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestNoDecayParamsKeepValue: with zero gradients, Adam's update is zero,
// so only decay moves a parameter; a bias must not move, a weight must
// shrink by exactly (1-lr·wd).
func TestNoDecayParamsKeepValue(t *testing.T) {
	w := Param{Name: "dense.weight", Shape: []int{2}, Value: kernels.HostBuf([]float32{1, -2}), Grad: kernels.HostBuf(make([]float32, 2))}
	b := Param{Name: "dense.bias", Shape: []int{2}, Value: kernels.HostBuf([]float32{1, -2}), Grad: kernels.HostBuf(make([]float32, 2))}
	opt, err := NewAdamW([]Param{w, b}, WithWeightDecay(0.5))
	if err != nil {
		t.Fatal(err)
	}
	if err := opt.Step(0.1); err != nil {
		t.Fatal(err)
	}
	if got := w.Value.Host(); got[0] != float32(1-0.05) || got[1] != float32(-2*(1-0.05)) {
		t.Errorf("weight after decay: %v", got)
	}
	if got := b.Value.Host(); got[0] != 1 || got[1] != -2 {
		t.Errorf("bias moved: %v", got)
	}
}

func TestAdamWErrors(t *testing.T) {
	good := Param{Name: "w", Shape: []int{2}, Value: kernels.HostBuf(make([]float32, 2)), Grad: kernels.HostBuf(make([]float32, 2))}
	for name, tc := range map[string]struct {
		params []Param
		opts   []AdamWOption
	}{
		"beta":      {[]Param{good}, []AdamWOption{WithBetas(1, 0.9)}},
		"eps":       {[]Param{good}, []AdamWOption{WithEps(-1)}},
		"decay":     {[]Param{good}, []AdamWOption{WithWeightDecay(math.NaN())}},
		"duplicate": {[]Param{good, good}, nil},
		"unnamed":   {[]Param{{Shape: []int{2}, Value: good.Value, Grad: good.Grad}}, nil},
		"shape":     {[]Param{{Name: "x", Shape: []int{3}, Value: good.Value, Grad: good.Grad}}, nil},
	} {
		if _, err := NewAdamW(tc.params, tc.opts...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	opt, _ := NewAdamW([]Param{good})
	if err := opt.Step(math.NaN()); err == nil {
		t.Error("Step(NaN): no error")
	}
}
