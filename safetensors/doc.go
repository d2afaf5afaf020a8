// Package safetensors reads and writes the safetensors format, the file
// Hugging Face models keep their weights in.
//
// # Overview
//
// A safetensors file is an 8-byte little-endian header length N, N bytes
// of JSON describing each tensor (dtype, shape, byte offsets into the data
// that follows) plus optional string metadata under "__metadata__", then
// the raw little-endian tensor bytes:
//
//	[N uint64][{"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},...}][data...]
//
// Open memory-maps a file (on Unix; elsewhere it reads it whole), checks
// every header entry before anything is returned — offsets inside the
// data, no two tensors overlapping, byte lengths matching dtype × shape —
// and hands out Tensors that view the mapped bytes without copying. A
// sharded checkpoint (model.safetensors.index.json naming several shard
// files) opens the same way, as one File.
//
// Tensor.Float32s converts F32, F16, BF16 and F64 data to float32, the form
// the model code computes in; Tensor.Int64s reads the integer dtypes.
//
// WriteFile writes a set of named tensors atomically (a reader or a crash
// sees the old file or the complete new one), which is how training saves
// checkpoints:
//
//	err := safetensors.WriteFile("model.safetensors", []safetensors.Tensor{
//		safetensors.Float32("embeddings.word_embeddings.weight", []int{vocab, hidden}, w),
//	}, nil)
package safetensors
