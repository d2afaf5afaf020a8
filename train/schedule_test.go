package train

import (
	"math"
	"testing"
)

// The expected values are hand-computed from transformers'
// optimization.py lambdas: warm-up step/warmup, then linear
// (total-step)/(total-warmup) or cosine ½(1+cos(π·progress)).
func TestSchedule(t *testing.T) {
	cases := []struct {
		s    Schedule
		want map[int]float64
	}{
		{Schedule{LR: 2, Warmup: 4, Total: 12, Decay: Linear},
			map[int]float64{0: 0, 1: 0.5, 3: 1.5, 4: 2, 8: 1, 11: 0.25, 12: 0, 20: 0}},
		{Schedule{LR: 1, Warmup: 2, Total: 6, Decay: Cosine},
			map[int]float64{0: 0, 1: 0.5, 2: 1, 4: 0.5, 3: (1 + math.Sqrt2/2) / 2, 6: 0, 9: 0}},
		{Schedule{LR: 3, Warmup: 0, Total: 0, Decay: Constant},
			map[int]float64{0: 3, 1: 3, 1000: 3}},
		{Schedule{LR: 3, Warmup: 3, Decay: Constant},
			map[int]float64{0: 0, 1: 1, 3: 3, 99: 3}},
	}
	for _, c := range cases {
		if err := c.s.Validate(); err != nil {
			t.Fatalf("%+v: %v", c.s, err)
		}
		for step, want := range c.want {
			if got := c.s.At(step); math.Abs(got-want) > 1e-12 {
				t.Errorf("%+v: At(%d) = %v, want %v", c.s, step, got, want)
			}
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	for _, s := range []Schedule{
		{LR: -1, Decay: Constant},
		{LR: 1, Warmup: -1, Decay: Constant},
		{LR: 1, Decay: "step"},
		{LR: 1, Decay: Linear},
	} {
		if s.Validate() == nil {
			t.Errorf("%+v: no error", s)
		}
	}
}
