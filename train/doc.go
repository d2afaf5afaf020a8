// Package train fine-tunes embedding models: the optimizer (AdamW with
// decoupled weight decay), learning-rate schedules, gradient clipping and
// accumulation, GradCache for large contrastive batches, and checkpoints
// that resume bit for bit.
//
// # Overview
//
// A training step with this package is, in order:
//
//	ZeroGrad(params)
//	... forward, loss, backward: gradients accumulate into each Param.Grad
//	    (once per micro-batch when accumulating) ...
//	ClipGradNorm(params, 1.0)        // optional, global L2 norm
//	opt.Step(schedule.At(opt.Steps()))
//
// [Param] names a tensor with its Hugging Face name, so [NoDecay] can leave
// biases and LayerNorm weights out of weight decay by name, as the Hugging
// Face Trainer behind sentence-transformers does. [AdamW] reproduces
// torch.optim.AdamW and [Schedule] transformers' warm-up-then-decay
// schedules, so a run here and a run there with the same settings take the
// same steps.
package train
