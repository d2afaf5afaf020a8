package kernels

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// impls returns the top-k implementations this machine runs, skipping
// (with a reason) the ones it cannot.
func impls(t *testing.T) []*topKImpl {
	var out []*topKImpl
	for i := range topKImpls {
		im := &topKImpls[i]
		if !im.ok {
			t.Logf("%s: not available on this CPU (or disabled by KOTODAMA_CPU); skipped", im.name)
			continue
		}
		out = append(out, im)
	}
	// The implementation in use, when it is none of those: a level with
	// no top-k kernels of its own (NEON) runs the generic ones with its
	// own GEMM.
	listed := false
	for _, im := range out {
		listed = listed || im.name == topK.name && im.gemm == topK.gemm
	}
	if !listed {
		active := topK
		active.name = "generic+" + topK.gemm.name
		out = append(out, &active)
	}
	return out
}

const guard = float32(-12345.5)

// dotRef is the float64 inner product of q with row r, and Σ|q·r| for the
// error bound.
func dotRef(q, r []float32) (s, abs float64) {
	for l, v := range q {
		p := float64(v) * float64(r[l])
		s += p
		abs += math.Abs(p)
	}
	return s, abs
}

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// TestDotRows checks every implementation against float64 at lengths
// around every vector width and tail cutoff, with padded rows, guard
// values after dst, and bit-identical results for duplicate rows.
func TestDotRows(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, im := range impls(t) {
		for _, d := range []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, 48, 63, 64, 65, 100, 384, 768} {
			for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 13} {
				for _, pad := range []int{0, 3} {
					ldx := d + pad
					q := randVec(r, d)
					x := randVec(r, max(0, (n-1)*ldx+d))
					if n > 1 && d > 0 {
						copy(x[(n-1)*ldx:(n-1)*ldx+d], x[:d]) // last row = first row
					}
					dst := make([]float32, n+4)
					for i := range dst {
						dst[i] = guard
					}
					im.dotRows(dst[:n], q, x, ldx)
					h := make([]uint16, len(x))
					F32ToF16(h, x)
					dstH := make([]float32, n+4)
					for i := range dstH {
						dstH[i] = guard
					}
					im.dotRowsF16(dstH[:n], q, h, ldx)
					xh := make([]float32, len(h))
					F16ToF32(xh, h)
					for i := 0; i < n; i++ {
						for _, c := range []struct {
							name string
							got  float32
							rows []float32
						}{{"f32", dst[i], x}, {"f16", dstH[i], xh}} {
							want, abs := dotRef(q, c.rows[i*ldx:i*ldx+d])
							tol := 2*float64(d+2)*0x1p-24*abs + 1e-30
							if diff := math.Abs(float64(c.got) - want); diff > tol {
								t.Errorf("%s %s d=%d n=%d ldx=%d row %d: got %g, want %g (diff %g > %g)", im.name, c.name, d, n, ldx, i, c.got, want, diff, tol)
							}
						}
					}
					for i := n; i < len(dst); i++ {
						if dst[i] != guard || dstH[i] != guard {
							t.Fatalf("%s d=%d n=%d: wrote past dst[%d]", im.name, d, n, n)
						}
					}
					if n > 1 && (math.Float32bits(dst[0]) != math.Float32bits(dst[n-1]) || math.Float32bits(dstH[0]) != math.Float32bits(dstH[n-1])) {
						t.Errorf("%s d=%d n=%d: duplicate rows 0 and %d score %v/%v (f32) and %v/%v (f16), want bit-identical",
							im.name, d, n, n-1, dst[0], dst[n-1], dstH[0], dstH[n-1])
					}
				}
			}
		}
	}
}

func TestFirstAtLeast(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	nan := float32(math.NaN())
	for _, im := range impls(t) {
		for n := 0; n <= 70; n++ {
			for trial := 0; trial < 20; trial++ {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(r.IntN(100))
					if r.IntN(7) == 0 {
						x[i] = nan
					}
				}
				thr := float32(r.IntN(110))
				if got, want := im.firstAtLeast(x, thr), firstAtLeastGeneric(x, thr); got != want {
					t.Fatalf("%s n=%d t=%v: got %d, want %d (x=%v)", im.name, n, thr, got, want, x)
				}
			}
		}
		for n := 0; n <= 70; n++ {
			for trial := 0; trial < 20; trial++ {
				x, thr := make([]float32, n), make([]float32, n+3)
				for i := range x {
					x[i] = float32(r.IntN(100))
					thr[i] = float32(r.IntN(130))
					if r.IntN(9) == 0 {
						x[i] = nan
					}
				}
				if got, want := im.firstAbove(x, thr), firstAboveGeneric(x, thr); got != want {
					t.Fatalf("%s firstAbove n=%d: got %d, want %d (x=%v t=%v)", im.name, n, got, want, x, thr)
				}
			}
		}
		if got := im.firstAtLeast(make([]float32, 40), float32(math.Inf(-1))); got != 0 {
			t.Errorf("%s: -Inf threshold: got %d, want 0", im.name, got)
		}
	}
}

type pair struct {
	id    int
	score float64
}

// naiveTopK is the oracle: sort every row by (score desc, id asc).
func naiveTopK(scores []float64, k int) []pair {
	all := make([]pair, 0, len(scores))
	for id, s := range scores {
		if !math.IsNaN(s) {
			all = append(all, pair{id, s})
		}
	}
	slices.SortFunc(all, func(a, b pair) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return all[:min(k, len(all))]
}

func TestTopKHeap(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 300; trial++ {
		n, k := r.IntN(60), 1+r.IntN(12)
		s := make([]float64, n)
		h := NewTopK(k)
		for i := range s {
			s[i] = float64(r.IntN(8)) // many ties
			if r.IntN(20) == 0 {
				s[i] = math.NaN()
			}
			if r.IntN(20) == 0 {
				s[i] = math.Inf(-1)
			}
		}
		// Offer in a random order, in two halves merged: ties must still
		// go to the lower id.
		perm := r.Perm(n)
		h2 := NewTopK(k)
		for j, i := range perm {
			if j%2 == 0 {
				h.Push(float32(s[i]), i)
			} else {
				h2.Push(float32(s[i]), i)
			}
		}
		h.Merge(h2)
		want := naiveTopK(s, k)
		ids, sc := make([]int, k), make([]float32, k)
		got := h.Sorted(ids, sc)
		if got != len(want) {
			t.Fatalf("trial %d: kept %d, want %d", trial, got, len(want))
		}
		for i, w := range want {
			if ids[i] != w.id || float64(sc[i]) != w.score {
				t.Fatalf("trial %d rank %d: got (%d, %v), want (%d, %v)", trial, i, ids[i], sc[i], w.id, w.score)
			}
		}
	}
}

// TestTopKDotExact runs the whole search on small-integer data, where
// every inner product is exact in float32 whatever the summation order,
// so ids and scores must equal a naive scan exactly, ties included. The
// corpus has duplicate rows and many equal scores; sizes cross block and
// tile edges of both paths.
func TestTopKDotExact(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ctx := context.Background()
	for _, im := range impls(t) {
		for _, c := range []struct{ n, d, nq, k, threads int }{
			{0, 8, 3, 5, 1},
			{1, 5, 1, 3, 2},
			{7, 3, 2, 10, 1},
			{300, 17, 1, 10, 1},
			{1000, 16, 3, 7, 2},
			{scanRows*3 + 5, 33, 5, 20, 3},
			{gemmRows*2 + 3, 20, gemmMinBatch, 10, 2},
			{gemmRows + 77, 48, 40, 10, 3},
			{2000, 9, gemmQueries + 3, 4, 2},
		} {
			q := make([]float32, c.nq*c.d)
			x := make([]float32, c.n*c.d)
			for i := range q {
				q[i] = float32(r.IntN(7) - 3)
			}
			for i := range x {
				x[i] = float32(r.IntN(5)-2) * 0.5
			}
			for i := 0; i < c.n/10; i++ { // duplicate rows
				a, b := r.IntN(c.n), r.IntN(c.n)
				copy(x[b*c.d:(b+1)*c.d], x[a*c.d:(a+1)*c.d])
			}
			h := make([]uint16, len(x))
			F32ToF16(h, x) // exact: halves of small integers
			// A bias of small integers keeps every score exact.
			biasVals := make([]float32, c.n)
			for i := range biasVals {
				biasVals[i] = float32(r.IntN(5) - 2)
			}
			for variant := range 3 {
				half, bias := variant == 1, []float32(nil)
				if variant == 2 {
					bias = biasVals
				}
				ids := make([]int, c.nq*c.k)
				sc := make([]float32, c.nq*c.k)
				var corp corpus = corpusF32(x)
				if half {
					corp = corpusF16(h)
				}
				if err := topKDot(ctx, im, ids, sc, q, corp, bias, c.nq, c.n, c.d, c.k, c.threads); err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprintf("%s half=%v bias=%v n=%d d=%d nq=%d k=%d threads=%d", im.name, half, bias != nil, c.n, c.d, c.nq, c.k, c.threads)
				for qi := 0; qi < c.nq; qi++ {
					all := make([]float64, c.n)
					for i := range all {
						all[i], _ = dotRef(q[qi*c.d:(qi+1)*c.d], x[i*c.d:(i+1)*c.d])
						if bias != nil {
							all[i] += float64(bias[i])
						}
					}
					want := naiveTopK(all, c.k)
					for j := 0; j < c.k; j++ {
						gi, gs := ids[qi*c.k+j], sc[qi*c.k+j]
						if j >= len(want) {
							if gi != -1 || !math.IsInf(float64(gs), -1) {
								t.Fatalf("%s query %d rank %d: got (%d, %v), want the empty slot (-1, -Inf)", name, qi, j, gi, gs)
							}
							continue
						}
						if gi != want[j].id || float64(gs) != want[j].score {
							t.Fatalf("%s query %d rank %d: got (%d, %v), want (%d, %v)", name, qi, j, gi, gs, want[j].id, want[j].score)
						}
					}
				}
			}
		}
	}
}

// TestTopKDotRandom checks the search on random real-valued data against
// a float64 scan: each returned score matches its row's float64 score,
// ranks are in order, and no row left out scores above the last one
// returned (all within float32 rounding).
func TestTopKDotRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	ctx := context.Background()
	for _, im := range impls(t) {
		for _, c := range []struct{ n, d, nq, k int }{
			{3000, 48, 1, 10},
			{3000, 48, 40, 10},
			{1500, 100, 9, 25},
		} {
			q := randVec(r, c.nq*c.d)
			x := randVec(r, c.n*c.d)
			ids := make([]int, c.nq*c.k)
			sc := make([]float32, c.nq*c.k)
			if err := topKDot(ctx, im, ids, sc, q, corpusF32(x), nil, c.nq, c.n, c.d, c.k, 2); err != nil {
				t.Fatal(err)
			}
			for qi := 0; qi < c.nq; qi++ {
				all := make([]float64, c.n)
				tol := 0.0
				for i := range all {
					var abs float64
					all[i], abs = dotRef(q[qi*c.d:(qi+1)*c.d], x[i*c.d:(i+1)*c.d])
					tol = max(tol, 2*float64(c.d)*0x1p-24*abs)
				}
				kept := map[int]bool{}
				for j := 0; j < c.k; j++ {
					id, s := ids[qi*c.k+j], float64(sc[qi*c.k+j])
					kept[id] = true
					if math.Abs(s-all[id]) > tol {
						t.Fatalf("%s %v query %d rank %d: row %d scored %v, float64 says %v", im.name, c, qi, j, id, s, all[id])
					}
					if j > 0 && sc[qi*c.k+j] > sc[qi*c.k+j-1] {
						t.Fatalf("%s %v query %d: rank %d scores above rank %d", im.name, c, qi, j, j-1)
					}
				}
				last := float64(sc[qi*c.k+c.k-1])
				for i, s := range all {
					if !kept[i] && s > last+2*tol {
						t.Fatalf("%s %v query %d: row %d (score %v) left out, last kept %v", im.name, c, qi, i, s, last)
					}
				}
			}
		}
	}
}

func TestTopKDotCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q, x := make([]float32, 4*8), make([]float32, 100*8)
	err := TopKDot(ctx, make([]int, 4*3), make([]float32, 4*3), q, x, nil, 4, 100, 8, 3, 2)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestTopKDotPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"k=0": func() { TopKDot(context.Background(), nil, nil, nil, nil, nil, 0, 0, 4, 0, 1) },
		"short q": func() {
			TopKDot(context.Background(), make([]int, 2), make([]float32, 2), make([]float32, 3), make([]float32, 8), nil, 1, 2, 4, 2, 1)
		},
		"short ids": func() {
			TopKDot(context.Background(), make([]int, 1), make([]float32, 2), make([]float32, 4), make([]float32, 8), nil, 1, 2, 4, 2, 1)
		},
		"ldx < d": func() { DotRows(make([]float32, 2), make([]float32, 4), make([]float32, 8), 3) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func BenchmarkDotRows(b *testing.B) {
	for _, c := range []struct{ n, d int }{{4096, 768}, {1 << 18, 768}} {
		for _, half := range []bool{false, true} {
			r := rand.New(rand.NewPCG(1, 1))
			q := randVec(r, c.d)
			x := randVec(r, c.n*c.d)
			h := make([]uint16, len(x))
			F32ToF16(h, x)
			dst := make([]float32, c.n)
			name := fmt.Sprintf("n=%d/d=%d/f16=%v", c.n, c.d, half)
			b.Run(name, func(b *testing.B) {
				bytes := int64(4 * c.n * c.d)
				if half {
					bytes /= 2
				}
				b.SetBytes(bytes)
				for b.Loop() {
					if half {
						DotRowsF16(dst, q, h, c.d)
					} else {
						DotRows(dst, q, x, c.d)
					}
				}
			})
		}
	}
}

func BenchmarkTopKDot(b *testing.B) {
	for _, c := range []struct{ n, d, nq, k int }{{1 << 17, 768, 1, 10}, {1 << 15, 768, 64, 10}, {1 << 16, 768, 720, 10}} {
		r := rand.New(rand.NewPCG(1, 1))
		q := randVec(r, c.nq*c.d)
		x := randVec(r, c.n*c.d)
		ids, sc := make([]int, c.nq*c.k), make([]float32, c.nq*c.k)
		b.Run(fmt.Sprintf("n=%d/d=%d/q=%d/k=%d", c.n, c.d, c.nq, c.k), func(b *testing.B) {
			b.SetBytes(int64(4 * c.n * c.d))
			for b.Loop() {
				TopKDot(context.Background(), ids, sc, q, x, nil, c.nq, c.n, c.d, c.k, 0)
			}
			b.ReportMetric(2*float64(c.n*c.d*c.nq)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func ExampleTopKDot() {
	// Four corpus rows of dimension 2 and two queries; the two best rows
	// for each query, best first. Rows 1 and 3 are equal, so for the
	// second query they tie and the lower row comes first.
	x := []float32{
		1, 0,
		0, 1,
		0.6, 0.8,
		0, 1,
	}
	q := []float32{
		1, 0,
		0, 2,
	}
	const nq, n, d, k = 2, 4, 2, 2
	ids := make([]int, nq*k)
	scores := make([]float32, nq*k)
	if err := TopKDot(context.Background(), ids, scores, q, x, nil, nq, n, d, k, 0); err != nil {
		panic(err)
	}
	fmt.Println(ids[:k], scores[:k])
	fmt.Println(ids[k:], scores[k:])
	// Output:
	// [0 2] [1 0.6]
	// [1 3] [2 2]
}

// TestTopKDotDuplicatesTie checks, on real-valued data deep enough for
// several GEMM depth blocks, that bit-identical rows score bit-identically
// wherever they sit: full or edge register tiles, any corpus block, either
// worker. Every row is returned (k = n) so every score is seen.
func TestTopKDotDuplicatesTie(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	ctx := context.Background()
	const n, d = 3 * gemmRows / 2, 800
	x := randVec(r, n*d)
	// Row i copies row i%37 for i ≥ 37: copies land at every position
	// modulo any tile and block size.
	for i := 37; i < n; i++ {
		copy(x[i*d:(i+1)*d], x[(i%37)*d:(i%37+1)*d])
	}
	for _, im := range impls(t) {
		for _, nq := range []int{1, 3, gemmMinBatch, 45} {
			q := randVec(r, nq*d)
			ids := make([]int, nq*n)
			sc := make([]float32, nq*n)
			if err := topKDot(ctx, im, ids, sc, q, corpusF32(x), nil, nq, n, d, n, 2); err != nil {
				t.Fatal(err)
			}
			for qi := range nq {
				byRow := make([]float32, n)
				for j := range n {
					byRow[ids[qi*n+j]] = sc[qi*n+j]
				}
				for i := 37; i < n; i++ {
					if math.Float32bits(byRow[i]) != math.Float32bits(byRow[i%37]) {
						t.Fatalf("%s nq=%d query %d: row %d scores %v, its copy row %d %v", im.name, nq, qi, i, byRow[i], i%37, byRow[i%37])
					}
				}
			}
		}
	}
}

// TestTopKDotGEMMScores checks that the GEMM path scores every row with
// exactly Sgemm's arithmetic, bit for bit, whatever the thread count: the
// queries it packs once per call must give what Sgemm gives packing them
// itself. The depth spans several GEMM depth blocks and the query count
// is not a multiple of any register tile's width.
func TestTopKDotGEMMScores(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	ctx := context.Background()
	const n, d, nq = gemmRows + 77, 800, 45
	x := randVec(r, n*d)
	h := make([]uint16, n*d)
	F32ToF16(h, x)
	xh := make([]float32, n*d)
	F16ToF32(xh, h)
	q := randVec(r, nq*d)
	for _, im := range impls(t) {
		for _, half := range []bool{false, true} {
			var corp corpus = corpusF32(x)
			xs := x
			if half {
				corp, xs = corpusF16(h), xh
			}
			want := make([]float32, n*nq) // S = X·Qᵀ, n×nq
			serialPool.gemm(im.gemm, false, true, n, nq, d, 1, xs, d, q, d, 0, want, nq)
			for _, threads := range []int{1, 3} {
				ids := make([]int, nq*n)
				sc := make([]float32, nq*n)
				if err := topKDot(ctx, im, ids, sc, q, corp, nil, nq, n, d, n, threads); err != nil {
					t.Fatal(err)
				}
				for qi := range nq {
					for j := range n {
						id, s := ids[qi*n+j], sc[qi*n+j]
						if w := want[id*nq+qi]; math.Float32bits(s) != math.Float32bits(w) {
							t.Fatalf("%s half=%v threads=%d query %d: row %d scores %v, Sgemm %v", im.name, half, threads, qi, id, s, w)
						}
					}
				}
			}
		}
	}
}
