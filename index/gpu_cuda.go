//go:build cuda

package index

import (
	"context"
	"fmt"

	"github.com/kotodama-ai/kotodama/cuda"
)

// GPU is a copy of an Index's vectors in GPU memory (package cuda, in
// builds with -tags cuda), searched there: exact top k as the Index's own
// SearchBatch finds them, every score a float32 inner product of the
// stored values computed on the GPU (in another summation order, so scores
// may differ in their last bits). The Index still supplies the ids; it
// must not grow (Add) while the copy is used.
type GPU struct {
	x *Index
	c *cuda.Corpus
}

// ToGPU copies the index's vectors (in their stored precision) and, for
// L2, its ranking terms to dev. The vectors must fit in the GPU's memory;
// the error otherwise wraps cuda.ErrOutOfMemory.
func (x *Index) ToGPU(dev *cuda.Device) (*GPU, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return nil, ErrClosed
	}
	var c *cuda.Corpus
	var err error
	if x.dtype == Float16 {
		c, err = dev.NewCorpusF16(x.f16, x.n, x.dim, x.bias)
	} else {
		c, err = dev.NewCorpus(x.f32, x.n, x.dim, x.bias)
	}
	if err != nil {
		return nil, fmt.Errorf("index: copying %d vectors of dimension %d to the GPU: %w", x.n, x.dim, err)
	}
	return &GPU{x: x, c: c}, nil
}

// SearchBatch is Index.SearchBatch on the GPU. A k beyond cuda.MaxK is
// searched on the CPU.
func (g *GPU) SearchBatch(ctx context.Context, queries []float32, k int) ([][]Hit, error) {
	if k > cuda.MaxK {
		return g.x.SearchBatch(ctx, queries, k)
	}
	return g.x.searchBatch(ctx, queries, k, func(ctx context.Context, ids []int, scores []float32, q []float32, nq, n, kk int) error {
		if n != g.c.Len() {
			return fmt.Errorf("index: %d rows, %d of them on the GPU: the index grew after ToGPU", n, g.c.Len())
		}
		return g.c.TopK(ctx, ids, scores, q, nq, kk)
	})
}

// Search is Index.Search on the GPU.
func (g *GPU) Search(query []float32, k int) ([]Hit, error) {
	if len(query) != g.x.dim {
		return nil, fmt.Errorf("%w: query has %d values, the index dimension is %d", ErrDim, len(query), g.x.dim)
	}
	res, err := g.SearchBatch(context.Background(), query, k)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// Close frees the GPU copy; the Index stays open.
func (g *GPU) Close() error { return g.c.Close() }
