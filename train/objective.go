package train

import "context"

// Objective is a training objective of its own, for runs that are not
// the contrastive one a Trainer's Encoder, Loss and Data describe
// (RetroMAE's masked auto-encoding pre-training, say). A Trainer with an
// Objective runs it instead, with everything else unchanged: the
// optimizer, schedule, clipping, accumulation, checkpoints and resuming.
type Objective interface {
	// Params lists the trainable parameters (stable order and names).
	// A checkpoint's model.safetensors must hold each under its name,
	// which is where Resume reads them back from.
	Params() []Param
	// Backprop runs the forward and backward pass of micro-batch i, which
	// must be a pure function of i (as a Source's batches are), adding
	// the gradients of its loss times gradScale to the Params' gradients,
	// with dropout as mode says. It returns the loss and the number of
	// sequences in the micro-batch.
	Backprop(ctx context.Context, i int, mode Mode, gradScale float32) (loss float64, seqs int, err error)
}
