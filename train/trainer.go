package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kotodama-ai/kotodama/loss"
)

// Source gives the batches of a run. Batch i must be a pure function of
// i (and of how the Source was built), so that a resumed run sees exactly
// the batches the interrupted one would have: the data position is then
// just the step count.
type Source interface {
	Batch(i int) (Batch, error)
}

// Trainer runs contrastive training steps over an Encoder and writes
// checkpoints from which a killed run resumes to bit-identical weights.
// Fill the fields, then call Run.
type Trainer struct {
	Encoder Encoder
	Loss    *loss.InfoNCE
	Opt     *AdamW
	Data    Source
	// Objective, when set, replaces Encoder, Loss, Data (and MiniBatch):
	// each micro-batch runs Objective.Backprop.
	Objective Objective

	// SaveModel writes the model as it is now into the empty directory
	// dir. It must store every parameter under its name in
	// dir/model.safetensors (F32), which is where resuming reads the
	// weights back from; the rest of the directory is the caller's
	// (sentence-transformers configs, tokenizer files).
	SaveModel func(dir string) error

	Steps      int      // optimizer steps in all
	Accumulate int      // micro-batches per optimizer step (0 means 1)
	MiniBatch  int      // GradCache mini-batch in sequences (0: off)
	MaxNorm    float64  // global gradient-norm clip (0: off)
	Schedule   Schedule // learning rate per step
	Seed       uint64   // keys dropout masks; the Source has its own
	Dropout    bool     // train with dropout

	// Dir holds the checkpoints (Dir/checkpoints/step-NNNNNNNN, the
	// newest named by Dir/checkpoints/latest).
	Dir string
	// CheckpointEvery writes a checkpoint every so many steps (0: only at
	// the end). Keep is how many to keep (0 means 2).
	CheckpointEvery int
	Keep            int

	// OnStep, when set, is called after every optimizer step.
	OnStep func(StepInfo) error

	step int
}

// StepInfo reports one finished optimizer step.
type StepInfo struct {
	Step     int           // steps done, 1 for the first
	Loss     float64       // mean loss over the step's micro-batches
	LR       float64       // learning rate used
	GradNorm float64       // global gradient norm before clipping
	Elapsed  time.Duration // time for this step
	Batches  int           // micro-batches in the step
	Seqs     int           // sequences encoded in the step
}

// ErrNonFinite reports a loss or gradient that became NaN or infinite;
// the step is not applied.
var ErrNonFinite = errors.New("train: non-finite loss or gradient")

// Step is the number of optimizer steps done (after Resume, those of the
// checkpoint).
func (t *Trainer) Step() int { return t.step }

func (t *Trainer) check() error {
	switch {
	case t.Opt == nil || (t.Objective == nil && (t.Encoder == nil || t.Loss == nil || t.Data == nil)):
		return errors.New("train: Trainer needs an Opt, and an Encoder, Loss and Data or an Objective")
	case t.Steps <= 0:
		return fmt.Errorf("train: Steps = %d", t.Steps)
	case t.Accumulate < 0 || t.MiniBatch < 0 || t.MaxNorm < 0 || t.CheckpointEvery < 0 || t.Keep < 0:
		return errors.New("train: negative Accumulate, MiniBatch, MaxNorm, CheckpointEvery or Keep")
	case t.Dir != "" && t.SaveModel == nil:
		return errors.New("train: checkpoints need SaveModel")
	}
	return t.Schedule.Validate()
}

// stepSeed keys the dropout masks of micro-batch m of step s.
func stepSeed(seed uint64, s, m int) uint64 {
	return mix64(seed ^ mix64(uint64(s)<<16|uint64(m)))
}

// mix64 is SplitMix64's output function.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Run trains from the current step to Steps, writing checkpoints as
// configured (always one at the end when Dir is set). It returns early
// with ctx's error when ctx is done; the last checkpoint stays valid.
func (t *Trainer) Run(ctx context.Context) error {
	if err := t.check(); err != nil {
		return err
	}
	accum := max(1, t.Accumulate)
	params := t.params()
	for t.step < t.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		ZeroGrad(params)
		var sum float64
		seqs := 0
		for m := 0; m < accum; m++ {
			mode := Mode{Train: t.Dropout, Seed: stepSeed(t.Seed, t.step, m)}
			v, n, err := t.backprop(ctx, t.step*accum+m, mode, 1/float32(accum))
			if err != nil {
				return fmt.Errorf("train: step %d: %w", t.step+1, err)
			}
			sum += v
			seqs += n
		}
		norm := GradNorm(params)
		if t.MaxNorm > 0 {
			norm = ClipGradNorm(params, t.MaxNorm)
		}
		mean := sum / float64(accum)
		if math.IsNaN(norm) || math.IsInf(norm, 0) || math.IsNaN(mean) || math.IsInf(mean, 0) {
			return fmt.Errorf("%w at step %d: loss %v, gradient norm %v", ErrNonFinite, t.step+1, mean, norm)
		}
		lr := t.Schedule.At(t.step)
		if err := t.Opt.Step(lr); err != nil {
			return err
		}
		t.step++
		if t.OnStep != nil {
			info := StepInfo{Step: t.step, Loss: mean, LR: lr, GradNorm: norm, Elapsed: time.Since(start), Batches: accum, Seqs: seqs}
			if err := t.OnStep(info); err != nil {
				return err
			}
		}
		if t.Dir != "" && (t.step == t.Steps || (t.CheckpointEvery > 0 && t.step%t.CheckpointEvery == 0)) {
			if err := t.Checkpoint(); err != nil {
				return err
			}
		}
	}
	return nil
}

// params lists what the optimizer trains: the Objective's or the
// Encoder's parameters.
func (t *Trainer) params() []Param {
	if t.Objective != nil {
		return t.Objective.Params()
	}
	return t.Encoder.Params()
}

// backprop runs micro-batch i: the Objective's, or the contrastive step
// on the Source's batch i.
func (t *Trainer) backprop(ctx context.Context, i int, mode Mode, gradScale float32) (float64, int, error) {
	if t.Objective != nil {
		return t.Objective.Backprop(ctx, i, mode, gradScale)
	}
	b, err := t.Data.Batch(i)
	if err != nil {
		return 0, 0, err
	}
	v, err := Backprop(ctx, t.Encoder, t.Loss, b, mode, t.MiniBatch, gradScale)
	return float64(v), len(b.Seqs), err
}
