// Package index is exact nearest-neighbour search over embedding vectors:
// every stored vector is scored against every query, so the k results are
// exactly the k best, as FAISS's IndexFlatIP finds them — the baseline any
// approximate index is judged against.
//
// # Overview
//
// An Index holds n vectors of one dimension, each with a string id:
//
//	ix, err := index.New(768, index.Cosine)
//	err = ix.Add(vectors, ids)              // n×768 float32, row-major
//	hits, err := ix.Search(query, 10)       // the 10 best, best first
//	res, err := ix.SearchBatch(ctx, queries, 10)
//	err = ix.Save("corpus.idx")             // atomic; Open maps it back
//
// Scores are inner products, or for Cosine the inner product of the
// vectors each divided by max(‖v‖, 1e-12) — sentence-transformers'
// cos_sim, so a zero vector scores 0 against everything. Cosine indexes
// normalize rows once, when they are added (their original norms are
// kept), and queries when they are searched. Results are ordered by
// descending score; exact ties go to the row added first. An L2 index
// ranks by squared Euclidean distance instead, ascending, computed as
// ‖q‖² + ‖x‖² - 2⟨q, x⟩ from the GEMM's inner products and the stored
// norms (FAISS's method; float32 rounding can blur distances between
// nearly coincident points).
//
// A search with many queries runs as a GEMM of the queries against blocks
// of the corpus with the selection fused in (the score matrix is never
// materialized); a single query is a memory-bound scan. Both use every
// core (see Threads) and are exact.
//
// # Half precision
//
// With WithFloat16 rows are stored as IEEE half-precision values,
// halving memory, file size and the bytes a scan reads. Queries stay
// float32 and every score is computed in float32 arithmetic from the
// stored halves, so the results are the exact top k of the stored
// vectors; they differ from a float32 index's only through the rounding
// of the stored values (relative 2⁻¹¹ per component, so a score moves by
// at most about 5e-4·‖q‖·‖x‖).
//
// # Files
//
// Save writes the binary format described at Save, atomically; Open maps
// the file into memory (mmap where the platform has it) so a multi-GB
// index opens without being copied, checking its checksums first. A
// truncated or damaged file fails with ErrCorrupt, a file from another
// format version with ErrVersion.
package index

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/kotodama-ai/kotodama/kernels"
)

// Errors callers can match with errors.Is; the returned errors wrap them
// with the argument, row or file at fault.
var (
	// ErrDim: a vector's length is not the index dimension.
	ErrDim = errors.New("index: dimension mismatch")
	// ErrK: k is not positive.
	ErrK = errors.New("index: k must be positive")
	// ErrNotFinite: a vector holds NaN or ±Inf (or, for a Float16 index,
	// a value beyond the half-precision range).
	ErrNotFinite = errors.New("index: vector is not finite")
	// ErrCorrupt: an index file is truncated, damaged or inconsistent.
	ErrCorrupt = errors.New("index: corrupt index file")
	// ErrVersion: an index file was written by another format version.
	ErrVersion = errors.New("index: unsupported index file version")
	// ErrClosed: the index was closed.
	ErrClosed = errors.New("index: index is closed")
)

// Metric is how a query and a stored vector are scored: higher is better
// for InnerProduct and Cosine; L2 is a distance, lower is better.
type Metric uint32

const (
	// InnerProduct scores ⟨q, x⟩.
	InnerProduct Metric = 0
	// Cosine scores ⟨q/max(‖q‖,1e-12), x/max(‖x‖,1e-12)⟩.
	Cosine Metric = 1
	// L2 ranks by squared Euclidean distance ‖q-x‖², smallest first;
	// Hit.Score is that distance.
	L2 Metric = 2
)

// String returns "ip", "cosine" or "l2".
func (m Metric) String() string {
	switch m {
	case InnerProduct:
		return "ip"
	case Cosine:
		return "cosine"
	case L2:
		return "l2"
	}
	return fmt.Sprintf("Metric(%d)", uint32(m))
}

// ParseMetric parses the names String returns ("inner_product" and "dot"
// also mean InnerProduct, "cos" Cosine, "euclidean" L2).
func ParseMetric(s string) (Metric, error) {
	switch s {
	case "ip", "inner_product", "dot":
		return InnerProduct, nil
	case "cosine", "cos":
		return Cosine, nil
	case "l2", "euclidean":
		return L2, nil
	}
	return 0, fmt.Errorf("index: unknown metric %q (want cosine, ip or l2)", s)
}

// valid reports whether m is one of the metrics.
func (m Metric) valid() bool { return m == InnerProduct || m == Cosine || m == L2 }

// DType is how stored vectors are held in memory and on disk.
type DType uint32

const (
	// Float32 stores rows as float32.
	Float32 DType = 0
	// Float16 stores rows as IEEE half precision; see the package docs.
	Float16 DType = 1
)

// String returns "f32" or "f16".
func (t DType) String() string {
	switch t {
	case Float32:
		return "f32"
	case Float16:
		return "f16"
	}
	return fmt.Sprintf("DType(%d)", uint32(t))
}

// normEps is the floor under a norm that cosine divides by, as in
// sentence-transformers (torch.nn.functional.normalize).
const normEps = 1e-12

// maxF16 is the largest finite half-precision value.
const maxF16 = 65504

// Hit is one search result.
type Hit struct {
	// ID is the id the row was added with.
	ID string
	// Row is the row number: rows are numbered from 0 in the order added.
	Row int
	// Score is the inner product, the cosine similarity, or for L2 the
	// squared Euclidean distance.
	Score float32
}

// Option configures New or Open.
type Option func(*config)

type config struct {
	dtype      DType
	threads    int
	skipVecSum bool
}

// WithFloat16 makes New store rows in half precision. Open takes the
// precision from the file and ignores it.
func WithFloat16() Option { return func(c *config) { c.dtype = Float16 } }

// WithThreads sets how many goroutines a search uses; n ≤ 0 (the default)
// means runtime.GOMAXPROCS(0) at search time.
func WithThreads(n int) Option { return func(c *config) { c.threads = n } }

// WithoutVectorChecksum makes Open skip checking the checksum of the
// stored vectors (the header, norms and ids are always checked), so a
// large index opens without reading its vectors until they are searched.
// New ignores it.
func WithoutVectorChecksum() Option { return func(c *config) { c.skipVecSum = true } }

// Index is an exact vector index. Its methods are safe for concurrent
// use; Add and Close wait for searches in flight.
type Index struct {
	mu      sync.RWMutex
	dim     int
	metric  Metric
	dtype   DType
	threads int
	n       int

	f32 []float32 // n×dim, when dtype is Float32
	f16 []uint16  // n×dim, when dtype is Float16
	// sqNorms[j] is ‖x_j‖² (float32 of the float64 sum): of the row as
	// added for Cosine, of the row as stored otherwise.
	sqNorms []float32
	// bias[j] = -‖x_j‖²/2 (from sqNorms) for L2: the search ranks by
	// ⟨q, x_j⟩ + bias[j], which orders by ascending ‖q - x_j‖².
	bias []float32
	// Row i's id is idData[idOff[i]:idOff[i+1]]; idOff has n+1 entries.
	idOff  []uint64
	idData []byte

	unmap  func() error // releases the file mapping, if any
	closed bool
}

// New returns an empty index of vectors of dimension dim scored by metric.
func New(dim int, metric Metric, opts ...Option) (*Index, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("%w: dimension %d must be positive", ErrDim, dim)
	}
	if !metric.valid() {
		return nil, fmt.Errorf("index: New: unknown metric %d", metric)
	}
	var c config
	for _, o := range opts {
		o(&c)
	}
	return &Index{dim: dim, metric: metric, dtype: c.dtype, threads: c.threads, idOff: []uint64{0}}, nil
}

// Len is the number of rows.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.n
}

// Dim is the vector dimension.
func (x *Index) Dim() int { return x.dim }

// Metric is how the index scores.
func (x *Index) Metric() Metric { return x.metric }

// DType is how the index stores rows.
func (x *Index) DType() DType { return x.dtype }

// ID returns the id of row r.
func (x *Index) ID(r int) string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return string(x.idData[x.idOff[r]:x.idOff[r+1]])
}

// Add appends the rows of vectors (row-major, a multiple of Dim long)
// with their ids; ids may be nil, which gives each row its row number as
// id. Nothing is added if any row is rejected: a length that is not a
// multiple of Dim (ErrDim), a NaN or infinite component (ErrNotFinite,
// naming the row). Ids need not be unique.
//
// Adding to an index loaded by Open first copies it into memory.
func (x *Index) Add(vectors []float32, ids []string) error {
	d := x.dim
	if len(vectors)%d != 0 {
		return fmt.Errorf("%w: Add: %d values is not a whole number of rows of dimension %d", ErrDim, len(vectors), d)
	}
	rows := len(vectors) / d
	if ids != nil && len(ids) != rows {
		return fmt.Errorf("index: Add: %d ids for %d rows", len(ids), rows)
	}
	sq := make([]float32, rows) // squared norms
	for r := range rows {
		row := vectors[r*d : (r+1)*d]
		var ss float64
		for l, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%w: Add: row %d (vectors[%d]) is %v", ErrNotFinite, r, r*d+l, v)
			}
			if x.dtype == Float16 && x.metric != Cosine && math.Abs(float64(v)) > maxF16 {
				return fmt.Errorf("%w: Add: row %d (vectors[%d]) = %v is beyond the float16 range", ErrNotFinite, r, r*d+l, v)
			}
			ss += float64(v) * float64(v)
		}
		sq[r] = float32(ss)
		if x.metric == L2 && math.IsInf(float64(sq[r]), 0) {
			return fmt.Errorf("%w: Add: row %d: its squared norm %g overflows float32", ErrNotFinite, r, ss)
		}
	}

	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return ErrClosed
	}
	// The scratch row holds a normalized row.
	var scratch []float32
	if x.metric == Cosine {
		scratch = make([]float32, d)
	}
	h := make([]uint16, d)
	for r := range rows {
		row := vectors[r*d : (r+1)*d]
		if x.metric == Cosine {
			// Divide (not multiply by the reciprocal) as torch does: a
			// row and its power-of-two multiple normalize bit-identically.
			den := max(float32(math.Sqrt(float64(sq[r]))), normEps)
			for l, v := range row {
				scratch[l] = v / den
			}
			row = scratch
		}
		if x.dtype == Float16 {
			kernels.F32ToF16(h, row)
			x.f16 = append(x.f16, h...)
			if x.metric != Cosine {
				// Keep the norm of the row as stored: L2 ranks with it.
				sq[r] = halfSqNorm(h)
			}
		} else {
			x.f32 = append(x.f32, row...)
		}
	}
	x.sqNorms = append(x.sqNorms, sq...)
	if x.metric == L2 {
		x.bias = appendBias(x.bias, sq)
	}
	for r := range rows {
		if ids != nil {
			x.idData = append(x.idData, ids[r]...)
		} else {
			x.idData = strconv.AppendInt(x.idData, int64(x.n+r), 10)
		}
		x.idOff = append(x.idOff, uint64(len(x.idData)))
	}
	x.n += rows
	return nil
}

// Grow makes room for n more rows without reallocating, so adding a
// large collection in parts copies nothing (as slices.Grow).
func (x *Index) Grow(n int) {
	if n <= 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return
	}
	if x.dtype == Float16 {
		x.f16 = slices.Grow(x.f16, n*x.dim)
	} else {
		x.f32 = slices.Grow(x.f32, n*x.dim)
	}
	x.sqNorms = slices.Grow(x.sqNorms, n)
	if x.metric == L2 {
		x.bias = slices.Grow(x.bias, n)
	}
	x.idOff = slices.Grow(x.idOff, n)
}

// Search returns the k rows scoring best against query (Dim long), best
// first (highest score; for L2 smallest distance); fewer when the index
// has fewer than k rows.
func (x *Index) Search(query []float32, k int) ([]Hit, error) {
	if len(query) != x.dim {
		return nil, fmt.Errorf("%w: query has %d values, the index dimension is %d", ErrDim, len(query), x.dim)
	}
	res, err := x.SearchBatch(context.Background(), query, k)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// SearchBatch is Search for each row of queries (row-major, a multiple of
// Dim long), spread over the index's threads. It stops early with
// ctx.Err() when ctx is done.
func (x *Index) SearchBatch(ctx context.Context, queries []float32, k int) ([][]Hit, error) {
	return x.searchBatch(ctx, queries, k, nil)
}

// topKFunc finds, for nq prepared queries q (normalized for Cosine), the
// kk best of the first n rows as kernels.TopKDot does (the GPU's search,
// gpu_cuda.go); searchBatch calls it with the read lock held.
type topKFunc func(ctx context.Context, ids []int, scores []float32, q []float32, nq, n, kk int) error

// searchBatch is SearchBatch with the top-k search done by topk, or by
// the kernels on the CPU when topk is nil.
func (x *Index) searchBatch(ctx context.Context, queries []float32, k int, topk topKFunc) ([][]Hit, error) {
	d := x.dim
	if k <= 0 {
		return nil, fmt.Errorf("%w: k = %d", ErrK, k)
	}
	if len(queries)%d != 0 {
		return nil, fmt.Errorf("%w: %d query values is not a whole number of rows of dimension %d", ErrDim, len(queries), d)
	}
	nq := len(queries) / d
	for i, v := range queries {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: query %d (queries[%d]) is %v", ErrNotFinite, i/d, i, v)
		}
	}
	q := queries
	var qq []float64 // ‖q‖² per query, for L2
	if x.metric == L2 {
		qq = make([]float64, nq)
		for i := range qq {
			for _, v := range queries[i*d : (i+1)*d] {
				qq[i] += float64(v) * float64(v)
			}
		}
	}
	if x.metric == Cosine {
		q = make([]float32, len(queries))
		for i := range nq {
			normalize(q[i*d:(i+1)*d], queries[i*d:(i+1)*d])
		}
	}

	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return nil, ErrClosed
	}
	n := x.n
	kk := min(k, max(n, 1))
	ids := make([]int, nq*kk)
	scores := make([]float32, nq*kk)
	threads := x.threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	var err error
	switch {
	case topk != nil:
		err = topk(ctx, ids, scores, q, nq, n, kk)
	case x.dtype == Float16:
		err = kernels.TopKDotF16(ctx, ids, scores, q, x.f16, x.bias, nq, n, d, kk, threads)
	default:
		err = kernels.TopKDot(ctx, ids, scores, q, x.f32, x.bias, nq, n, d, kk, threads)
	}
	if err != nil {
		return nil, err
	}
	res := make([][]Hit, nq)
	for i := range res {
		hits := make([]Hit, 0, kk)
		for j := range kk {
			r := ids[i*kk+j]
			if r < 0 {
				break
			}
			s := scores[i*kk+j]
			if x.metric == L2 {
				// ‖q‖² - 2(⟨q,x⟩ - ‖x‖²/2), never below 0.
				s = float32(max(0, qq[i]-2*float64(s)))
			}
			hits = append(hits, Hit{ID: string(x.idData[x.idOff[r]:x.idOff[r+1]]), Row: r, Score: s})
		}
		res[i] = hits
	}
	return res, nil
}

// appendBias appends -‖x‖²/2 for each squared norm, the L2 ranking term
// (exact: halving is). It depends only on the stored squared norms, so an
// index built and one opened from its file rank identically.
func appendBias(bias, sqNorms []float32) []float32 {
	for _, v := range sqNorms {
		bias = append(bias, -0.5*v)
	}
	return bias
}

// halfSqNorm is the squared norm of a half-precision row, accumulated in
// float64.
func halfSqNorm(h []uint16) float32 {
	var ss float64
	f := make([]float32, len(h))
	kernels.F16ToF32(f, h)
	for _, v := range f {
		ss += float64(v) * float64(v)
	}
	return float32(ss)
}

// normalize writes v / max(‖v‖, 1e-12) into dst, with the norm
// accumulated in float64.
func normalize(dst, v []float32) {
	var ss float64
	for _, a := range v {
		ss += float64(a) * float64(a)
	}
	den := max(float32(math.Sqrt(ss)), normEps)
	for i, a := range v {
		dst[i] = a / den
	}
}

// Close releases the index's memory mapping, if any; later calls fail
// with ErrClosed. Closing twice is not an error.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	x.closed = true
	x.f32, x.f16, x.sqNorms, x.bias, x.idOff, x.idData = nil, nil, nil, nil, nil, nil
	if x.unmap != nil {
		err := x.unmap()
		x.unmap = nil
		return err
	}
	return nil
}
