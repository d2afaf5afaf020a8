package train

import "context"

// Seq is one tokenized input: token ids with the special tokens added.
type Seq []int

// Encoder is a model the trainer can train: it embeds sequences into
// vectors and back-propagates gradients of those vectors into its
// parameters. The bert adapter in this package implements it; any
// encoder with a forward and a backward pass can.
type Encoder interface {
	// Dim is the size of one embedding.
	Dim() int
	// Params lists the trainable parameters (stable order and names).
	Params() []Param
	// Encode writes the embeddings of seqs into out [len(seqs)·Dim()].
	// With mode.Keep it returns a Tape holding the activations Backward
	// needs; otherwise the Tape is nil and nothing is kept.
	Encode(ctx context.Context, out []float32, seqs []Seq, mode Mode) (Tape, error)
}

// Tape is what one forward pass kept for its backward pass.
type Tape interface {
	// Backward adds to the encoder's parameter gradients the gradient of
	// the loss given dOut, its gradient with respect to the embeddings
	// Encode wrote [len(seqs)·Dim()]. A Tape is used once.
	Backward(ctx context.Context, dOut []float32) error
}

// Mode says how to run a forward pass.
type Mode struct {
	// Train turns dropout on.
	Train bool
	// Seed keys this step's dropout masks.
	Seed uint64
	// Offset is the index of seqs[0] among the step's sequences. Dropout
	// masks are drawn per sequence from (Seed, Offset+i, site), so a
	// sequence gets the same masks in whatever mini-batch it is encoded,
	// which GradCache needs.
	Offset int
	// Keep records activations and returns a Tape.
	Keep bool
}
