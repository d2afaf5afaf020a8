package retromae

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/kotodama-ai/kotodama/train"
)

// tinyData is a corpus of random passages for tinyModel's vocabulary:
// [CLS]=1 … [SEP]=2, [MASK]=3, words of one to three tokens.
func tinyData(seed uint64, n int) *Data {
	r := rand.New(rand.NewPCG(seed, 1))
	d := &Data{BatchSize: 3, Seed: seed, Collator: Collator{EncoderRatio: 0.3, DecoderRatio: 0.5, MaskID: 3, PadID: 0, Vocab: 19}}
	for range n {
		p := Passage{IDs: []int32{1}, Words: []int32{-1}}
		for w := range int32(2 + r.IntN(2)) {
			for range 1 + r.IntN(3) {
				p.IDs = append(p.IDs, int32(4+r.IntN(15)))
				p.Words = append(p.Words, w)
			}
		}
		p.IDs, p.Words = append(p.IDs, 2), append(p.Words, -1)
		d.Passages = append(d.Passages, p)
	}
	return d
}

// newTrainer builds a Trainer with the Objective over a fresh tinyModel.
func newTrainer(t *testing.T, dir string, initSeed uint64) (*train.Trainer, *Model) {
	t.Helper()
	m := tinyModel(t, initSeed)
	obj, err := NewObjective(m, tinyData(9, 11))
	if err != nil {
		t.Fatal(err)
	}
	opt, err := train.NewAdamW(obj.Params(), train.WithWeightDecay(0.01))
	if err != nil {
		t.Fatal(err)
	}
	return &train.Trainer{
		Objective: obj, Opt: opt,
		SaveModel: func(d string) error {
			return train.SaveParams(filepath.Join(d, "model.safetensors"), obj.Params(), nil, nil)
		},
		Steps: 6, Accumulate: 2, MaxNorm: 1, Seed: 5, Dropout: true,
		Schedule: train.Schedule{LR: 1e-2, Warmup: 2, Total: 6, Decay: train.Linear},
		Dir:      dir, CheckpointEvery: 2,
	}, m
}

// TestObjectiveResume trains with the Trainer, once straight through and
// once stopped after step 3 and resumed (from step 2's checkpoint) into
// a model initialized differently: the final weights must be the same
// bits, so the batches, masks and dropout are pure functions of the step
// and every parameter is checkpointed under its name.
func TestObjectiveResume(t *testing.T) {
	ctx := context.Background()
	tr, whole := newTrainer(t, t.TempDir(), 1)
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	tr, _ = newTrainer(t, dir, 1)
	stop := errors.New("killed")
	tr.OnStep = func(s train.StepInfo) error {
		if s.Step == 3 {
			return stop
		}
		return nil
	}
	if err := tr.Run(ctx); !errors.Is(err, stop) {
		t.Fatalf("interrupted run: %v", err)
	}
	tr, resumed := newTrainer(t, dir, 2)
	if err := tr.Resume(); err != nil {
		t.Fatal(err)
	}
	if tr.Step() != 2 {
		t.Fatalf("resumed at step %d, want 2", tr.Step())
	}
	if err := tr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want, got := whole.Tensors(), resumed.Tensors()
	for i, w := range want {
		for j, v := range w.Buf.Host() {
			if got[i].Buf.Host()[j] != v {
				t.Fatalf("%s[%d]: resumed %v, uninterrupted %v", w.Name, j, got[i].Buf.Host()[j], v)
			}
		}
	}
	// Training moved the weights (the check above is not vacuous).
	fresh := tinyModel(t, 1).Tensors()
	if fresh[0].Buf.Host()[40] == want[0].Buf.Host()[40] {
		t.Fatal("training changed nothing")
	}
}

func TestDataBatches(t *testing.T) {
	d := tinyData(3, 10)
	if d.PerEpoch() != 3 {
		t.Fatalf("PerEpoch %d", d.PerEpoch())
	}
	seen := map[int32]int{}
	for i := range 3 {
		b, err := d.Batch(i)
		if err != nil {
			t.Fatal(err)
		}
		for s := range b.B {
			seen[b.DecoderInputIDs[s*b.L+1]]++
		}
	}
	b1, _ := d.Batch(4)
	b2, _ := d.Batch(4)
	for i := range b1.EncoderInputIDs {
		if b1.EncoderInputIDs[i] != b2.EncoderInputIDs[i] {
			t.Fatal("Batch is not a pure function of its index")
		}
	}
	if _, err := d.Batch(-1); err == nil {
		t.Error("Batch(-1): no error")
	}
	if _, err := NewObjective(tinyModel(t, 1), tinyData(1, 2)); err == nil {
		t.Error("2 passages in batches of 3: no error")
	}
}
