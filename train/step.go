package train

import (
	"context"
	"fmt"

	"github.com/kotodama-ai/kotodama/loss"
)

// Batch is one contrastive batch as the loss lays it out: B anchors, their
// B positives, then blocks of B hard negatives (block j holds the j-th hard
// negative of each anchor), all in one slice:
//
//	Seqs = [anchors; positives; negatives 1; negatives 2; …]
type Batch struct {
	Seqs []Seq
	B    int
}

// Validate reports a batch that is not laid out as documented.
func (b Batch) Validate() error {
	if b.B <= 0 || len(b.Seqs) < 2*b.B || len(b.Seqs)%b.B != 0 {
		return fmt.Errorf("train: batch of %d sequences cannot hold %d anchors, %d positives and whole blocks of negatives", len(b.Seqs), b.B, b.B)
	}
	return nil
}

// Backprop runs one contrastive forward and backward pass over batch and
// adds the parameter gradients of the mean loss, times gradScale, to the
// encoder's Params (gradScale is 1/accumulation steps when accumulating).
// It returns the loss.
//
// With miniBatch ≤ 0 (or ≥ the number of sequences) every sequence is
// encoded at once with activations kept. Otherwise it runs GradCache (Gao
// et al. 2021): embed all sequences miniBatch at a time without keeping
// activations, compute the loss and its gradient with respect to every
// embedding on the full batch, then encode each mini-batch again with
// activations and the same dropout masks and back-propagate its share of
// the cached embedding gradients. Both give the same gradients up to
// float rounding, but GradCache holds the activations of one mini-batch
// at a time, so the batch size (the number of in-batch negatives) is
// bounded by time rather than memory. Dropout stays replayable because
// masks are keyed per sequence by mode.Seed (see Mode).
func Backprop(ctx context.Context, enc Encoder, l *loss.InfoNCE, batch Batch, mode Mode, miniBatch int, gradScale float32) (float32, error) {
	if err := batch.Validate(); err != nil {
		return 0, err
	}
	n, d := len(batch.Seqs), enc.Dim()
	emb := make([]float32, n*d)
	demb := make([]float32, n*d)
	b := batch.B
	mode.Offset = 0
	if miniBatch <= 0 || miniBatch >= n {
		mode.Keep = true
		tape, err := enc.Encode(ctx, emb, batch.Seqs, mode)
		if err != nil {
			return 0, err
		}
		v, err := l.Loss(demb[:b*d], demb[b*d:], emb[:b*d], emb[b*d:], b, d)
		if err != nil {
			return 0, err
		}
		scaleGrad(demb, gradScale)
		return v, tape.Backward(ctx, demb)
	}

	// GradCache pass 1: embeddings only.
	mode.Keep = false
	for lo := 0; lo < n; lo += miniBatch {
		hi := min(lo+miniBatch, n)
		mode.Offset = lo
		if _, err := enc.Encode(ctx, emb[lo*d:hi*d], batch.Seqs[lo:hi], mode); err != nil {
			return 0, err
		}
	}
	v, err := l.Loss(demb[:b*d], demb[b*d:], emb[:b*d], emb[b*d:], b, d)
	if err != nil {
		return 0, err
	}
	scaleGrad(demb, gradScale)
	// Pass 2: re-encode with activations, back-propagate cached gradients.
	mode.Keep = true
	for lo := 0; lo < n; lo += miniBatch {
		hi := min(lo+miniBatch, n)
		mode.Offset = lo
		tape, err := enc.Encode(ctx, emb[lo*d:hi*d], batch.Seqs[lo:hi], mode)
		if err != nil {
			return 0, err
		}
		if err := tape.Backward(ctx, demb[lo*d:hi*d]); err != nil {
			return 0, err
		}
	}
	return v, nil
}

func scaleGrad(x []float32, s float32) {
	if s == 1 {
		return
	}
	for i := range x {
		x[i] *= s
	}
}
