// Package train fine-tunes embedding models contrastively: the optimizer
// (AdamW with decoupled weight decay), learning-rate schedules, gradient
// clipping and accumulation, GradCache for large in-batch-negative
// batches, multi-task batching, and checkpoints that resume bit for bit.
//
// # Overview
//
// An [Encoder] embeds token sequences and returns a [Tape] that
// back-propagates the gradient of the embeddings into its [Param]s; [BERT]
// is one (a bert.Model with its pooling). [Backprop] runs one contrastive
// step over a [Batch] laid out as the loss expects ([anchors; positives;
// hard negatives…]), one-shot or, given a mini-batch size, as GradCache:
// embed everything without activations, take the loss and the embedding
// gradients on the full batch, then re-encode each mini-batch with the same
// dropout masks and back-propagate its share. Both give the same gradients;
// GradCache holds one mini-batch of activations at a time.
//
// A [Trainer] loops: for each optimizer step it zeroes the gradients,
// runs Backprop over Accumulate batches from its [Source], clips the global
// gradient norm, and calls [AdamW.Step] with the [Schedule]'s rate. It
// writes checkpoints — the model, the optimizer moments and the step —
// atomically, and [Trainer.Resume] continues a killed run to the very
// weights an uninterrupted run reaches, because the data order
// ([TaskBatches], from package data's triples) and the dropout masks are
// pure functions of the seed and the step.
//
// [Param] names a tensor with its Hugging Face name, so [NoDecay] leaves
// biases and LayerNorm weights out of weight decay by name, as the Hugging
// Face Trainer behind sentence-transformers does. AdamW reproduces
// torch.optim.AdamW and Schedule transformers' warm-up-then-decay
// schedules, so a run here and a run there with the same settings take the
// same steps. [ModelDir] saves the result in the sentence-transformers
// layout that embed.Load and sentence-transformers read.
//
// The command `kotodama train -config FILE` drives all of this from a
// configuration file.
package train
