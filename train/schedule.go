package train

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate of each optimizer step: a linear
// warm-up from 0 over Warmup steps to LR, then Decay down to 0 at Total
// steps. It computes what transformers' get_{constant,linear,cosine}_
// schedule_with_warmup compute (which sentence-transformers uses),
// including that the first step of a warm-up runs with learning rate 0.
type Schedule struct {
	LR     float64 // peak learning rate
	Warmup int     // warm-up steps
	Total  int     // total steps (linear and cosine decay reach 0 here)
	Decay  Decay
}

// Decay is the shape of the schedule after warm-up.
type Decay string

const (
	Constant Decay = "constant" // stay at LR
	Linear   Decay = "linear"   // straight down to 0 at Total
	Cosine   Decay = "cosine"   // half a cosine period down to 0 at Total
)

// Validate reports a schedule that cannot run.
func (s Schedule) Validate() error {
	switch {
	case !(s.LR >= 0) || math.IsInf(s.LR, 0):
		return fmt.Errorf("train: schedule: learning rate %v", s.LR)
	case s.Warmup < 0:
		return fmt.Errorf("train: schedule: warm-up %d is negative", s.Warmup)
	case s.Decay != Constant && s.Decay != Linear && s.Decay != Cosine:
		return fmt.Errorf("train: schedule: unknown decay %q (want constant, linear or cosine)", s.Decay)
	case s.Decay != Constant && s.Total <= 0:
		return fmt.Errorf("train: schedule: %s decay needs total steps > 0, have %d", s.Decay, s.Total)
	}
	return nil
}

// At returns the learning rate of the step taken after step earlier ones
// (step counts from 0).
func (s Schedule) At(step int) float64 {
	if step < s.Warmup {
		return s.LR * float64(step) / float64(max(1, s.Warmup))
	}
	switch s.Decay {
	case Linear:
		return s.LR * max(0, float64(s.Total-step)/float64(max(1, s.Total-s.Warmup)))
	case Cosine:
		// transformers lets the cosine rise again past Total; it stays at 0 here.
		progress := min(1, float64(step-s.Warmup)/float64(max(1, s.Total-s.Warmup)))
		return s.LR * max(0, 0.5*(1+math.Cos(math.Pi*progress)))
	}
	return s.LR
}
