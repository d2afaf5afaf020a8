// Package retromae pre-trains a BERT encoder for retrieval with RetroMAE
// (Xiao et al., "RetroMAE: Pre-Training Retrieval-oriented Language
// Models Via Masked Auto-Encoder", 2022), as FlagEmbedding's
// retromae_pretrain does: no labels, only text.
//
// # Overview
//
// The encoder reads a passage with 30% of its words masked and predicts
// them (a masked-LM loss). Its [CLS] vector — the sentence embedding —
// must then carry the passage: a decoder of a single BERT layer rebuilds
// every token from it, each position seeing [CLS]-based queries, and as
// keys and values the unmasked token embeddings minus half of the words
// (a different random half per position, never itself). The decoder's
// loss is hard to lower without a good [CLS] vector, which is what
// retrieval uses; both losses are minimized together.
//
//	Collator.Collate   passages → Batch: masked encoder ids and labels,
//	                   the decoder's visibility matrix and labels
//	Model.Forward      encoder + head → encoder loss;
//	                   CLS → query stream h1 = LayerNorm(CLS + position + type)
//	                   [CLS; embeddings(ids)[1:]] → key/value stream h2
//	                   decoder layer(h1, h2, visibility) + head → decoder loss
//	Model.Backward     every gradient, the tied word embeddings gathering
//	                   all four of their uses
//
// The masked-LM head is BertForMaskedLM's (cls.predictions: dense, GELU,
// LayerNorm, then the word embeddings transposed and a bias), shared by
// both losses. Its cross-entropy is computed chunk by chunk together
// with its gradient, so the [tokens × vocabulary] logits of a batch never
// exist at once.
//
// Model.Tensors names every parameter as FlagEmbedding saves it
// (bert.*, cls.predictions.*, c_head.*); a checkpoint of a run is a
// sentence-transformers directory whose model.safetensors holds them all,
// and which BERT loaders (bert.Load, Hugging Face's BertModel) read past
// the head and decoder. Objective plugs pre-training into train.Trainer
// (AdamW, schedules, checkpoints that resume bit for bit); the CLI verb
// `kotodama pretrain` runs it on plain text.
package retromae
