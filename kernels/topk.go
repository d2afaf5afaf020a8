package kernels

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// This file is exact top-k search by inner product: for each query, the k
// corpus rows with the largest dot product (plus an optional per-row
// bias), best first, exact ties broken by the lower row number.
//
// Two paths compute the scores, both fused with the selection so the full
// queries × corpus score matrix is never materialized:
//
//   - few queries (the single-query case above all): a memory-bound scan.
//     Each worker streams its corpus rows once, computing the dot products
//     of a chunk of rows with every query (DotRows, SIMD) into a small
//     buffer, then offers the chunk to each query's bounded selection.
//   - many queries: a block of corpus rows times the queries is one GEMM
//     (SgemmPacked, on one goroutine) into a per-worker score buffer that
//     stays in cache; each row of that buffer is compared with every
//     query's current threshold at once (SIMD) and the few scores that
//     pass go to their query's selection. This is the method of FAISS's
//     IndexFlatIP. The queries, the GEMM's right operand, are packed once
//     per call (PackB) and read by every worker, rather than packed again
//     for each corpus block.
//
// Either way the corpus is cut into blocks that the workers take in turn;
// each worker keeps a TopK per query, and the workers' selections are
// merged at the end. Within one call every row's score is computed by the
// same sequence of floating-point operations, wherever the row sits in a
// block, so bit-identical rows get bit-identical scores and their tie is
// broken by row number as documented.

// TopK keeps the k best (score, id) pairs offered to it: the highest
// scores, and between equal scores the lower id. NaN scores are never
// kept. The zero TopK keeps nothing; call Reset first.
//
// It is a binary min-heap on "worse": the root is the pair that the next
// better candidate evicts, so a candidate is rejected with one comparison
// against Threshold, which is what makes a scan over millions of scores
// cheap (PushScores does that comparison with SIMD).
type TopK struct {
	k      int
	scores []float32
	ids    []int
}

// NewTopK returns a TopK keeping k pairs. k must be positive.
func NewTopK(k int) *TopK {
	t := &TopK{}
	t.Reset(k)
	return t
}

// Reset empties t and makes it keep k pairs.
func (t *TopK) Reset(k int) {
	if k <= 0 {
		panic(fmt.Sprintf("kernels: TopK.Reset: k = %d <= 0", k))
	}
	t.k = k
	if cap(t.scores) < k {
		t.scores = make([]float32, 0, k)
		t.ids = make([]int, 0, k)
	}
	t.scores = t.scores[:0]
	t.ids = t.ids[:0]
}

// Len is the number of pairs kept, at most k.
func (t *TopK) Len() int { return len(t.scores) }

// Threshold is the score a candidate must reach (>=) to be kept: the worst
// kept score once t holds k pairs, -Inf before. A candidate equal to the
// threshold is kept only if its id is lower than the worst kept id.
func (t *TopK) Threshold() float32 {
	if len(t.scores) < t.k {
		return float32(math.Inf(-1))
	}
	return t.scores[0]
}

// worse reports whether pair (s1, id1) ranks below (s2, id2).
func worse(s1 float32, id1 int, s2 float32, id2 int) bool {
	return s1 < s2 || (s1 == s2 && id1 > id2)
}

// Push offers one pair.
func (t *TopK) Push(score float32, id int) {
	if score != score { // NaN
		return
	}
	if n := len(t.scores); n < t.k {
		t.scores = append(t.scores, score)
		t.ids = append(t.ids, id)
		t.siftUp(n)
		return
	}
	if !worse(t.scores[0], t.ids[0], score, id) {
		return
	}
	t.scores[0], t.ids[0] = score, id
	t.siftDown(0)
}

func (t *TopK) siftUp(i int) {
	s, id := t.scores[i], t.ids[i]
	for i > 0 {
		p := (i - 1) / 2
		if !worse(s, id, t.scores[p], t.ids[p]) {
			break
		}
		t.scores[i], t.ids[i] = t.scores[p], t.ids[p]
		i = p
	}
	t.scores[i], t.ids[i] = s, id
}

func (t *TopK) siftDown(i int) {
	n := len(t.scores)
	s, id := t.scores[i], t.ids[i]
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && worse(t.scores[r], t.ids[r], t.scores[c], t.ids[c]) {
			c = r
		}
		if !worse(t.scores[c], t.ids[c], s, id) {
			break
		}
		t.scores[i], t.ids[i] = t.scores[c], t.ids[c]
		i = c
	}
	t.scores[i], t.ids[i] = s, id
}

// PushScores offers scores[j] with id base+j for every j. Most scores of a
// long scan fall below the threshold; a SIMD comparison skips them.
func (t *TopK) PushScores(scores []float32, base int) {
	t.pushScores(scores, base, firstAtLeast)
}

func (t *TopK) pushScores(scores []float32, base int, firstAtLeast func([]float32, float32) int) {
	j := 0
	for ; j < len(scores) && len(t.scores) < t.k; j++ {
		t.Push(scores[j], base+j)
	}
	for j < len(scores) {
		j += firstAtLeast(scores[j:], t.scores[0])
		if j >= len(scores) {
			return
		}
		t.Push(scores[j], base+j)
		j++
	}
}

// Merge offers every pair kept by o.
func (t *TopK) Merge(o *TopK) {
	for i, s := range o.scores {
		t.Push(s, o.ids[i])
	}
}

// Sorted writes the kept pairs best first into ids and scores (each at
// least Len long) and returns Len. t is emptied.
func (t *TopK) Sorted(ids []int, scores []float32) int {
	n := len(t.scores)
	_, _ = ids[:n], scores[:n]
	for i := n - 1; i >= 0; i-- {
		// The root is the worst kept pair: it goes last.
		ids[i], scores[i] = t.ids[0], t.scores[0]
		last := len(t.scores) - 1
		t.scores[0], t.ids[0] = t.scores[last], t.ids[last]
		t.scores, t.ids = t.scores[:last], t.ids[:last]
		if last > 0 {
			t.siftDown(0)
		}
	}
	return n
}

// DotRows computes the inner product of q with each of the len(dst) rows
// of x, row i starting at x[i*ldx]:
//
//	for i := range dst {
//		var s float32
//		for l, v := range q {
//			s += v * x[i*ldx+l]
//		}
//		dst[i] = s
//	}
//
// It runs at memory speed when x is larger than the caches. The summation
// order is the same for every row (though not the plain loop's), so
// bit-identical rows get bit-identical results.
func DotRows(dst, q, x []float32, ldx int) {
	d := len(q)
	checkRows("DotRows", len(dst), d, len(x), ldx)
	if len(dst) == 0 {
		return
	}
	dotRows(dst, q, x, ldx)
}

// DotRowsF16 is DotRows over a matrix of IEEE half-precision values (as
// their bit patterns), converted to float32 on the fly; the arithmetic is
// float32.
func DotRowsF16(dst, q []float32, x []uint16, ldx int) {
	d := len(q)
	checkRows("DotRowsF16", len(dst), d, len(x), ldx)
	if len(dst) == 0 {
		return
	}
	dotRowsF16(dst, q, x, ldx)
}

func checkRows(name string, n, d, lenX, ldx int) {
	if ldx < d {
		panic(fmt.Sprintf("kernels: %s: ldx = %d < len(q) = %d", name, ldx, d))
	}
	if need := span(n, d, ldx); lenX < need {
		panic(fmt.Sprintf("kernels: %s: len(x) = %d < %d", name, lenX, need))
	}
}

// TopKDot finds, for each of the nq queries (rows of q, nq×d), the k rows
// of the corpus x (n×d, row-major) with the largest inner product, plus
// bias[j] for row j when bias is not nil (with bias[j] = -‖x_j‖²/2 that
// is the order of ascending Euclidean distance). It writes query i's row numbers and scores best first into
// ids[i*k:(i+1)*k] and scores[i*k:(i+1)*k]; exact ties go to the lower row
// number. When fewer than k rows have a score (n < k, or NaN scores, which
// are never returned) the remaining slots hold id -1 and score -Inf.
//
// The work is spread over threads goroutines (runtime.GOMAXPROCS(0) when
// threads ≤ 0) by corpus blocks. It returns ctx.Err() if ctx is done
// before the search ends, leaving ids and scores unspecified. Sizes that
// cannot describe the problem panic, as for Sgemm.
func TopKDot(ctx context.Context, ids []int, scores []float32, q, x, bias []float32, nq, n, d, k, threads int) error {
	checkTopK("TopKDot", ids, scores, len(q), len(x), bias, nq, n, d, k)
	return topKDot(ctx, &topK, ids, scores, q, corpusF32(x), bias, nq, n, d, k, threads)
}

// TopKDotF16 is TopKDot over a corpus of IEEE half-precision values (as
// their bit patterns). Scores are exact float32 inner products of the
// float32 queries with the stored half-precision rows.
func TopKDotF16(ctx context.Context, ids []int, scores []float32, q []float32, x []uint16, bias []float32, nq, n, d, k, threads int) error {
	checkTopK("TopKDotF16", ids, scores, len(q), len(x), bias, nq, n, d, k)
	return topKDot(ctx, &topK, ids, scores, q, corpusF16(x), bias, nq, n, d, k, threads)
}

func checkTopK(name string, ids []int, scores []float32, lenQ, lenX int, bias []float32, nq, n, d, k int) {
	switch {
	case nq < 0 || n < 0 || d < 0:
		panic(fmt.Sprintf("kernels: %s: negative size nq=%d n=%d d=%d", name, nq, n, d))
	case k <= 0:
		panic(fmt.Sprintf("kernels: %s: k = %d <= 0", name, k))
	case lenQ < nq*d:
		panic(fmt.Sprintf("kernels: %s: len(q) = %d < nq*d = %d", name, lenQ, nq*d))
	case lenX < n*d:
		panic(fmt.Sprintf("kernels: %s: len(x) = %d < n*d = %d", name, lenX, n*d))
	case len(ids) < nq*k:
		panic(fmt.Sprintf("kernels: %s: len(ids) = %d < nq*k = %d", name, len(ids), nq*k))
	case len(scores) < nq*k:
		panic(fmt.Sprintf("kernels: %s: len(scores) = %d < nq*k = %d", name, len(scores), nq*k))
	case bias != nil && len(bias) < n:
		panic(fmt.Sprintf("kernels: %s: len(bias) = %d < n = %d", name, len(bias), n))
	}
}

// corpus is the stored matrix of a search: float32 or half-precision rows.
type corpus interface {
	// dotRows is DotRows over rows [lo, lo+len(dst)).
	dotRows(im *topKImpl, dst, q []float32, lo, d int)
	// f32Rows returns rows [lo, hi) as float32, converting into buf (at
	// least (hi-lo)*d long) when the rows are not float32.
	f32Rows(buf []float32, lo, hi, d int) []float32
}

type corpusF32 []float32

func (c corpusF32) dotRows(im *topKImpl, dst, q []float32, lo, d int) {
	im.dotRows(dst, q, c[lo*d:(lo+len(dst))*d], d)
}

func (c corpusF32) f32Rows(_ []float32, lo, hi, d int) []float32 {
	return c[lo*d : hi*d]
}

type corpusF16 []uint16

func (c corpusF16) dotRows(im *topKImpl, dst, q []float32, lo, d int) {
	im.dotRowsF16(dst, q, c[lo*d:(lo+len(dst))*d], d)
}

func (c corpusF16) f32Rows(buf []float32, lo, hi, d int) []float32 {
	buf = buf[:(hi-lo)*d]
	F16ToF32(buf, c[lo*d:hi*d])
	return buf
}

// Block sizes of the two paths. A scan chunk of scanRows rows (at d = 768,
// 768 KiB) stays in L2 while every query of a small batch reads it; a GEMM
// block of gemmRows corpus rows times gemmQueries queries keeps the score
// buffer (1.5 MiB) in L2 for the selection pass.
const (
	scanRows     = 256
	gemmRows     = 512
	gemmQueries  = 768
	gemmMinBatch = 8 // from this many queries on, the GEMM path is faster
)

func topKDot(ctx context.Context, im *topKImpl, ids []int, scores []float32, q []float32, x corpus, bias []float32, nq, n, d, k, threads int) error {
	if nq == 0 {
		return ctx.Err()
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	useGEMM := nq >= gemmMinBatch && d > 0
	rowsPer := scanRows
	if useGEMM {
		rowsPer = gemmRows
	}
	blocks := (n + rowsPer - 1) / rowsPer
	threads = max(1, min(threads, blocks))

	// Queries are taken gemmQueries at a time so the score buffer stays
	// small however large the batch.
	for q0 := 0; q0 < nq; q0 += gemmQueries {
		qn := min(gemmQueries, nq-q0)
		qs := q[q0*d : (q0+qn)*d]
		var qp *PackedB
		if useGEMM {
			// The GEMM's right operand is Qᵀ (d×qn), which is Q as stored
			// read transposed. Packed once here, it is shared read-only by
			// the workers: it never changes during the call.
			qp = packB(im.gemm, true, d, qn, qs, d)
		}
		workers := make([]topKWorker, threads)
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := range workers {
			wk := &workers[w]
			wk.init(im, qn, k, rowsPer, d, useGEMM, x)
			wk.bias = bias
			run := func() {
				defer wg.Done()
				for {
					if ctx.Err() != nil {
						return
					}
					b := int(next.Add(1) - 1)
					if b >= blocks {
						return
					}
					lo := b * rowsPer
					hi := min(n, lo+rowsPer)
					if useGEMM {
						wk.gemmBlock(qp, x, lo, hi, d)
					} else {
						wk.scanBlock(qs, x, lo, hi, d)
					}
				}
			}
			wg.Add(1)
			if w == threads-1 {
				run() // the calling goroutine is one of the workers
			} else {
				go run()
			}
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := 0; i < qn; i++ {
			best := &workers[0].heaps[i]
			for w := 1; w < threads; w++ {
				best.Merge(&workers[w].heaps[i])
			}
			row := (q0 + i) * k
			got := best.Sorted(ids[row:row+k], scores[row:row+k])
			for j := got; j < k; j++ {
				ids[row+j], scores[row+j] = -1, float32(math.Inf(-1))
			}
		}
	}
	return nil
}

// topKWorker is one goroutine's state: a selection per query and the
// buffers of one block.
type topKWorker struct {
	im    *topKImpl
	heaps []TopK
	bias  []float32 // added to row j's scores, or nil
	thr   []float32 // heaps[i].Threshold(), for the GEMM path's filter
	buf   []float32 // scores of one block: rows × queries
	rows  []float32 // one block converted to float32 (half-precision corpus)
}

func (w *topKWorker) init(im *topKImpl, nq, k, rows, d int, gemm bool, x corpus) {
	w.im = im
	w.heaps = make([]TopK, nq)
	for i := range w.heaps {
		w.heaps[i].Reset(k)
	}
	if gemm {
		w.thr = make([]float32, nq)
		for i := range w.thr {
			w.thr[i] = w.heaps[i].Threshold()
		}
		w.buf = make([]float32, nq*rows)
		if _, ok := x.(corpusF32); !ok {
			w.rows = make([]float32, rows*d)
		}
	} else {
		w.buf = make([]float32, rows)
	}
}

// scanBlock scores rows [lo, hi) against each query with DotRows and
// offers them; the block stays in cache across the queries.
func (w *topKWorker) scanBlock(q []float32, x corpus, lo, hi, d int) {
	s := w.buf[:hi-lo]
	for i := range w.heaps {
		x.dotRows(w.im, s, q[i*d:(i+1)*d], lo, d)
		if w.bias != nil {
			for j, b := range w.bias[lo:hi] {
				s[j] += b
			}
		}
		w.heaps[i].pushScores(s, lo, w.im.firstAtLeast)
	}
}

// gemmBlock scores rows [lo, hi) against all queries with one GEMM,
// S = X·Qᵀ (rows × queries, qp being Qᵀ packed), and offers each row's
// scores to the queries whose threshold they reach. In this orientation
// the GEMM packs the corpus rows by plain copies, the queries are packed
// already, and the threshold test runs along a row of S, one vector of
// queries at a time. SgemmPacked gives Sgemm's result bit for bit, and
// every row of S is summed in the same order wherever it sits in the
// block.
func (w *topKWorker) gemmBlock(qp *PackedB, x corpus, lo, hi, d int) {
	m := hi - lo
	nq := len(w.heaps)
	xb := x.f32Rows(w.rows, lo, hi, d)
	s := w.buf[:m*nq]
	// One goroutine per GEMM: the search is already parallel over blocks.
	serialPool.SgemmPacked(false, m, 1, xb, d, qp, 0, s, nq)
	thr := w.thr
	for r := range m {
		row := s[r*nq : (r+1)*nq]
		if w.bias != nil {
			b := w.bias[lo+r]
			for j := range row {
				row[j] += b
			}
		}
		for j := 0; ; j++ {
			j += w.im.firstAbove(row[j:], thr[j:])
			if j >= nq {
				break
			}
			h := &w.heaps[j]
			h.Push(row[j], lo+r)
			thr[j] = h.Threshold()
		}
	}
}
