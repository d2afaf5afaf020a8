//go:build cuda

package cuda

import (
	"context"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/kotodama-ai/kotodama/kernels"
)

// MaxK is the largest k Corpus.TopK selects on the GPU.
const MaxK = 1024

// ErrK means k is outside [1, MaxK].
var ErrK = errors.New("cuda: k outside [1, MaxK]")

// Corpus is a matrix of n vectors of dimension dim held in GPU memory,
// float32 or IEEE half precision, searched exactly by inner product: the
// GPU counterpart of kernels.TopKDot and TopKDotF16.
//
// A search multiplies a block of up to 1024 queries by a chunk of corpus
// rows at a time with one FP32 GEMM (whatever the Device's Math: search is
// exact) into a score matrix, and a selection kernel folds each query's
// row of scores into its running top k (kd_topk_select in topk.cu). Half-
// precision rows are converted to float32 chunk by chunk before their
// GEMM, so scores are float32 products of the stored values, as on the
// CPU.
type Corpus struct {
	d        *Device
	x        kernels.Buf // n×dim float32, or the n×dim halves in the first n·dim/2 values
	bias     kernels.Buf
	n, dim   int
	half     bool
	released bool
}

// NewCorpus copies x (n×dim, row-major) into GPU memory. bias, when not
// nil, holds n values added to row j's scores (kernels.TopKDot's bias: the
// L2 ranking term).
func (d *Device) NewCorpus(x []float32, n, dim int, bias []float32) (*Corpus, error) {
	if err := checkCorpus(len(x), n, dim, bias); err != nil {
		return nil, err
	}
	c := &Corpus{d: d, n: n, dim: dim}
	var err error
	if c.x, err = d.Alloc(max(n*dim, 1)); err != nil {
		return nil, err
	}
	if err := d.Upload(c.x, x[:n*dim]); err != nil {
		c.Close()
		return nil, err
	}
	return c, c.setBias(bias)
}

// NewCorpusF16 is NewCorpus for rows of IEEE half-precision values (as
// their bit patterns), kept in half precision on the GPU.
func (d *Device) NewCorpusF16(x []uint16, n, dim int, bias []float32) (*Corpus, error) {
	if err := checkCorpus(len(x), n, dim, bias); err != nil {
		return nil, err
	}
	c := &Corpus{d: d, n: n, dim: dim, half: true}
	var err error
	if c.x, err = d.Alloc(max((n*dim+1)/2, 1)); err != nil {
		return nil, err
	}
	if n*dim > 0 {
		var uerr error
		d.do(func() {
			d.uploadBytes(uint64(c.x.Device()), unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), n*dim*2))
			uerr = d.err
		})
		if uerr != nil {
			c.Close()
			return nil, uerr
		}
	}
	return c, c.setBias(bias)
}

func checkCorpus(lenX, n, dim int, bias []float32) error {
	switch {
	case n < 0 || dim <= 0:
		return fmt.Errorf("cuda: corpus of %d rows of dimension %d", n, dim)
	case lenX < n*dim:
		return fmt.Errorf("cuda: corpus of %d values for %d rows of %d", lenX, n, dim)
	case n >= math.MaxInt32:
		return fmt.Errorf("cuda: corpus of %d rows: row ids must fit 31 bits", n)
	case bias != nil && len(bias) < n:
		return fmt.Errorf("cuda: bias of %d values for %d rows", len(bias), n)
	}
	return nil
}

func (c *Corpus) setBias(bias []float32) error {
	if bias == nil || c.n == 0 {
		return nil
	}
	var err error
	if c.bias, err = c.d.Alloc(c.n); err != nil {
		c.Close()
		return err
	}
	if err := c.d.Upload(c.bias, bias[:c.n]); err != nil {
		c.Close()
		return err
	}
	return nil
}

// Len is the number of rows.
func (c *Corpus) Len() int { return c.n }

// Close frees the corpus's GPU memory; closing twice is not an error.
func (c *Corpus) Close() error {
	if c.released {
		return nil
	}
	c.released = true
	c.d.Free(c.x)
	c.d.Free(c.bias)
	return nil
}

// Search block sizes: up to searchQueries queries at a time, and corpus
// chunks of as many rows as keep the score matrix near scoreBytes.
const (
	searchQueries = 1024
	scoreBytes    = 512 << 20
)

// TopK finds, for each of the nq queries (rows of q, nq×dim), the k rows
// with the largest inner product (plus bias), best first, ties to the
// lower row, as kernels.TopKDot: query i's rows and scores go to
// ids[i·k:(i+1)·k] and scores[i·k:(i+1)·k], -1 and -Inf in slots no row
// fills (n < k, or NaN scores). k must be in [1, MaxK]. ctx is checked
// between blocks of work.
func (c *Corpus) TopK(ctx context.Context, ids []int, scores []float32, q []float32, nq, k int) error {
	switch {
	case c.released:
		return errors.New("cuda: search of a closed Corpus")
	case k < 1 || k > MaxK:
		return fmt.Errorf("%w: k = %d", ErrK, k)
	case nq < 0 || len(q) < nq*c.dim:
		return fmt.Errorf("cuda: %d query values for %d queries of %d", len(q), nq, c.dim)
	case len(ids) < nq*k || len(scores) < nq*k:
		return fmt.Errorf("cuda: results of %d ids, %d scores for %d queries × k = %d", len(ids), len(scores), nq, k)
	}
	if nq == 0 {
		return ctx.Err()
	}
	d, dim := c.d, c.dim
	K2 := 1
	for K2 < k {
		K2 <<= 1
	}
	qb := min(nq, searchQueries)
	chunk := max(256, min(c.n, scoreBytes/4/qb))
	// Device buffers for one block of queries: the queries, the score
	// matrix, the running top lists, and (half corpus) one chunk in float32.
	var bufs [5]kernels.Buf
	defer func() {
		for _, b := range bufs {
			d.Free(b)
		}
	}()
	sizes := [5]int{qb * dim, qb * chunk, qb * K2, qb * K2, 0}
	if c.half {
		sizes[4] = chunk * dim
	}
	for i, n := range sizes {
		if n == 0 {
			continue
		}
		var err error
		if bufs[i], err = d.Alloc(n); err != nil {
			return fmt.Errorf("cuda: search buffers: %w", err)
		}
	}
	qbuf, sbuf, bs, bi, conv := bufs[0], bufs[1], bufs[2], bufs[3], bufs[4]
	hostS := make([]float32, qb*K2)
	hostI := make([]int32, qb*K2)
	for q0 := 0; q0 < nq; q0 += qb {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := min(qb, nq-q0)
		if err := d.Upload(qbuf, q[q0*dim:(q0+m)*dim]); err != nil {
			return err
		}
		for lo := 0; lo < max(c.n, 1); lo += chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			cn := min(chunk, c.n-lo)
			first := 0
			if lo == 0 {
				first = 1
			}
			d.do(func() {
				if cn > 0 {
					x := ptr(c.x.Device())
					if c.half {
						x += ptr(2 * lo * dim) // halves
						d.launch1D(d.fn.halfToFloat, int64(cn)*int64(dim), ptr(conv.Device()), x, i64(cn*dim))
						x = ptr(conv.Device())
					} else {
						x += ptr(4 * lo * dim)
					}
					// S = Q·Xᵀ: m queries × cn rows, in FP32 whatever the Device's Math.
					d.gemm(false, true, m, cn, dim, 1, ptr(qbuf.Device()), dim, 0, x, dim, 0, 0, ptr(sbuf.Device()), cn, 0, 1, FP32)
				}
				var bias ptr
				if c.bias.Len() > 0 {
					bias = ptr(c.bias.Device())
				}
				d.launch(d.fn.topkSelect, [3]int{m, 1, 1}, [3]int{threads, 1, 1}, (K2+topkCand)*8,
					ptr(sbuf.Device()), i64(cn), max(cn, 0), lo, bias, ptr(bs.Device()), ptr(bi.Device()), k, K2, first)
			})
		}
		if err := d.Download(hostS[:m*K2], bs); err != nil {
			return err
		}
		// The ids are int32 bit patterns in a float32 Buf.
		if err := d.Download(unsafe.Slice((*float32)(unsafe.Pointer(&hostI[0])), m*K2), bi); err != nil {
			return err
		}
		for i := range m {
			for j := range k {
				id, s := hostI[i*K2+j], hostS[i*K2+j]
				if id == math.MaxInt32 {
					id, s = -1, float32(math.Inf(-1))
				}
				ids[(q0+i)*k+j], scores[(q0+i)*k+j] = int(id), s
			}
		}
	}
	return nil
}

// topkCand is TOPK_CAND of topk.cu, the candidate buffer's length.
const topkCand = 2048
