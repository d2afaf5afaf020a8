package retromae

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/train"
)

// Data is a pre-training corpus cut into batches: batch i is a pure
// function of i and Seed, so a resumed run sees exactly the batches the
// interrupted one would have. Each epoch visits the passages in an order
// drawn from (Seed, epoch), BatchSize at a time (a last partial batch is
// dropped); the masks of batch i are drawn from (Seed, i).
type Data struct {
	Passages  []Passage
	BatchSize int
	Seed      uint64
	Collator  Collator
}

// PerEpoch is the number of batches in one pass over the passages.
func (d *Data) PerEpoch() int { return len(d.Passages) / max(1, d.BatchSize) }

// MaxLen is the length of the longest passage.
func (d *Data) MaxLen() int {
	n := 0
	for _, p := range d.Passages {
		n = max(n, len(p.IDs))
	}
	return n
}

// Batch collates batch i.
func (d *Data) Batch(i int) (*Batch, error) {
	per := d.PerEpoch()
	if per == 0 || i < 0 {
		return nil, fmt.Errorf("%w: batch %d of %d passages in batches of %d", ErrPassage, i, len(d.Passages), d.BatchSize)
	}
	epoch, j := i/per, i%per
	order := rand.New(rand.NewPCG(d.Seed, uint64(epoch))).Perm(len(d.Passages))
	ps := make([]Passage, d.BatchSize)
	for k := range ps {
		ps[k] = d.Passages[order[j*d.BatchSize+k]]
	}
	return d.Collator.Collate(ps, d.Seed^mix(uint64(i)))
}

// mix is SplitMix64's output function, to spread batch indexes over
// seeds.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Objective is RetroMAE pre-training as a train.Objective: a train.Trainer
// with it runs the optimizer, schedule, checkpoints and resuming.
type Objective struct {
	Model *Model
	Data  *Data
	Grads *Grads
	Acts  *Acts
	// Last is the loss of the last micro-batch Backprop ran.
	Last   Loss
	params []train.Param
}

// NewObjective allocates gradients and activations for batches of Data.
func NewObjective(m *Model, d *Data) (*Objective, error) {
	if d.PerEpoch() == 0 {
		return nil, fmt.Errorf("%w: %d passages make no batch of %d", ErrPassage, len(d.Passages), d.BatchSize)
	}
	g, err := m.NewGrads()
	if err != nil {
		return nil, err
	}
	a, err := m.NewActs(d.BatchSize, d.MaxLen(), true)
	if err != nil {
		return nil, err
	}
	return &Objective{Model: m, Data: d, Grads: g, Acts: a, params: m.TrainParams(g)}, nil
}

// Params implements train.Objective: every parameter of the Model under
// its checkpoint name.
func (o *Objective) Params() []train.Param { return o.params }

// Backprop implements train.Objective: collate batch i, run Forward and
// Backward with the model's dropout probabilities when mode.Train.
func (o *Objective) Backprop(ctx context.Context, i int, mode train.Mode, gradScale float32) (float64, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	b, err := o.Data.Batch(i)
	if err != nil {
		return 0, 0, err
	}
	a, c := o.Acts, o.Model.Encoder.Config
	a.GradScale = gradScale
	a.Dropout = bert.Dropout{}
	if mode.Train {
		a.Dropout = bert.Dropout{Hidden: float32(c.HiddenDropoutProb), Attention: float32(c.AttentionProbsDropoutProb), Seed: mode.Seed, Offset: mode.Offset}
	}
	l, err := o.Model.Forward(a, b)
	if err != nil {
		return 0, 0, err
	}
	if err := o.Model.Backward(o.Grads, a); err != nil {
		return 0, 0, err
	}
	o.Last = l
	return l.Total, b.B, nil
}
