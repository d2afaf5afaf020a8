// Package embed turns text into embedding vectors with a
// sentence-transformers model directory, giving the vectors
// sentence-transformers' encode gives.
//
// # Overview
//
// Load reads a model directory as sentence-transformers saves it —
// modules.json (Transformer, Pooling, Normalize), the transformer's
// config.json and model.safetensors, the tokenizer files,
// sentence_bert_config.json (max_seq_length, do_lower_case),
// 1_Pooling/config.json and config_sentence_transformers.json (prompts,
// default_prompt_name) — or a plain Hugging Face directory with no
// modules.json, which is run as sentence-transformers runs one: the
// transformer followed by mean pooling, no normalization. A name such as
// "cl-nagoya/ruri-v3-30m" that is not a directory is looked up in the
// local Hugging Face cache; nothing is downloaded.
//
//	m, err := embed.Load("path/to/model")
//	...
//	defer m.Close()
//	vecs, err := m.Encode(ctx, []string{"東京は日本の首都です。"}, embed.WithPromptName("query"))
//
// Encode follows sentence-transformers' encode step by step: the prompt is
// prepended to each text, the result stripped of surrounding white space
// (Python's str.strip) and lower-cased when the model says do_lower_case,
// then tokenized with the special tokens and truncated to the maximum
// length keeping them ([CLS] … [SEP]). Texts are sorted by length and
// encoded in batches padded to their longest member; the vectors come
// back in input order. The model's Pooling and Normalize modules apply,
// then truncate_dim (Matryoshka) cuts each vector, and the normalize option
// scales the result to unit length.
//
// Besides sentence-transformers' modules, a directory may pool with
// NV-Embed's latent attention: modules.json lists a module of type
// "kotodama.models.LatentAttention" in place of Pooling, whose folder
// holds config.json and model.safetensors (see package pooling). Only
// Kotodama reads such directories.
//
// A Model is safe for concurrent use: each Encode call takes its own
// buffers from a pool kept per model, so steady-state encoding allocates
// only the returned vectors and the token ids.
package embed
