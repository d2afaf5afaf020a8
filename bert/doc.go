// Package bert is the BERT encoder (Hugging Face BertModel, without the
// pooler) on a kernels.Backend: the forward pass for inference and
// training, and the backward pass beside it.
//
// # Overview
//
// Load reads a model directory (config.json and model.safetensors, F32,
// F16 or BF16, optionally sharded) into one arena of float32 parameters,
// converted once. The model is a stack of plain structs, each with its
// tensors as views into that arena and a Forward (then Backward) method
// taking outputs first:
//
//	Embeddings    word + token type + position, LayerNorm          [T, H]
//	Layer × N
//	  SelfAttention  QKV = x·Wqkvᵀ + b   (one GEMM, Wq Wk Wv stacked)  [T, 3H]
//	                 ctx = softmax(QKᵀ/√d + mask)·V, per head          [T, H]
//	                 out = LayerNorm(ctx·Woᵀ + b + x)                  [T, H]
//	  FFN            out = LayerNorm(GELU(x·Wiᵀ + b)·Woᵀ + b + x)      [T, H]
//
// where T = batch·seq tokens of right-padded sequences, H the hidden size
// and d the head size; padding masks keys only, as in Hugging Face.
//
// Activations hold one forward pass's tensors for batches up to a size
// chosen once. Inference (keep = false) shares one set of buffers between
// layers and allocates nothing per token; training (keep = true) keeps
// every layer's tensors for Model.Backward, which adds parameter
// gradients into a second Params of the same layout (Params.Tensors names
// every view as Hugging Face does, for saving).
//
// For inference only, Model.Pack has the Backend pack each linear layer's
// weight once (kernels.Backend.PackWeight: on the CPU, into the
// microkernel's layout, over the weight's own storage) rather than in every
// product; embed.Load does this. Outputs are the same bit for bit; the
// packed model cannot be trained.
//
// Model code calls only Backend methods on Bufs, with token ids and masks
// as Go slices, so the same code runs on the CPU backend and on a device
// backend.
package bert
