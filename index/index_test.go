package index

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kotodama-ai/kotodama/kernels"
)

// cosine64 is the reference cosine score in float64 with
// sentence-transformers' normalization.
func cosine64(q, x []float32) float64 {
	var qq, xx, qx float64
	for i := range q {
		qq += float64(q[i]) * float64(q[i])
		xx += float64(x[i]) * float64(x[i])
		qx += float64(q[i]) * float64(x[i])
	}
	return qx / max(math.Sqrt(qq), 1e-12) / max(math.Sqrt(xx), 1e-12)
}

func dist64(q, x []float32) float64 {
	var s float64
	for i := range q {
		d := float64(q[i]) - float64(x[i])
		s += d * d
	}
	return s
}

func ip64(q, x []float32) float64 {
	var s float64
	for i := range q {
		s += float64(q[i]) * float64(x[i])
	}
	return s
}

// corpus makes n×d test rows with the features that break search code:
// exact duplicates, power-of-two multiples (a cosine tie), zero rows and
// near-duplicates. Rows in the same ipClass score bit-identically under
// inner product, rows in the same cosClass under cosine.
func corpus(r *rand.Rand, n, d int) (x []float32, ipClass, cosClass []int) {
	x = make([]float32, n*d)
	ipClass = make([]int, n)
	cosClass = make([]int, n)
	const zero = -1
	for i := range n {
		ipClass[i], cosClass[i] = i, i
		row := x[i*d : (i+1)*d]
		src := 0
		if i > 0 {
			src = r.IntN(i)
		}
		switch {
		case i > 10 && i%17 == 0: // exact duplicate of an earlier row
			copy(row, x[src*d:(src+1)*d])
			ipClass[i], cosClass[i] = ipClass[src], cosClass[src]
		case i > 10 && i%23 == 0: // power-of-two multiple
			s := []float32{0.25, 0.5, 2, 4}[r.IntN(4)]
			for l := range row {
				row[l] = s * x[src*d+l]
			}
			cosClass[i] = cosClass[src]
			if cosClass[src] == zero {
				ipClass[i] = zero
			}
		case i%101 == 50: // zero row
			ipClass[i], cosClass[i] = zero, zero
		case i > 10 && i%13 == 0: // near-duplicate
			for l := range row {
				row[l] = x[src*d+l] + float32(r.NormFloat64())*1e-3
			}
		default:
			for l := range row {
				row[l] = float32(r.NormFloat64())
			}
		}
	}
	return x, ipClass, cosClass
}

// checkHits checks a result list against the float64 scores of every
// row: scores match their rows' float64 scores, ranks are ordered, no row
// left out scores above the last kept, and rows whose scores are equal in
// exact arithmetic (copies; multiples for cosine) tie bit-exactly and
// appear in row order.
func checkHits(t *testing.T, name string, hits []Hit, all []float64, k int, equiv func(a, b int) bool, tol float64) {
	t.Helper()
	if want := min(k, len(all)); len(hits) != want {
		t.Fatalf("%s: %d hits, want %d", name, len(hits), want)
	}
	kept := map[int]bool{}
	for j, h := range hits {
		kept[h.Row] = true
		if math.Abs(float64(h.Score)-all[h.Row]) > tol {
			t.Fatalf("%s rank %d: row %d scored %v, float64 says %v", name, j, h.Row, h.Score, all[h.Row])
		}
		if j > 0 {
			p := hits[j-1]
			if h.Score > p.Score || (h.Score == p.Score && h.Row < p.Row) {
				t.Fatalf("%s: rank %d (row %d, %v) should come before rank %d (row %d, %v)", name, j, h.Row, h.Score, j-1, p.Row, p.Score)
			}
		}
	}
	if len(hits) == 0 {
		return
	}
	last := hits[len(hits)-1]
	for i, s := range all {
		if kept[i] {
			continue
		}
		if s > float64(last.Score)+tol {
			t.Fatalf("%s: row %d (score %v) left out, last kept %v", name, i, s, last.Score)
		}
		// A row equivalent to a kept one with a higher row number must
		// have been kept in its place.
		for _, h := range hits {
			if equiv(i, h.Row) && i < h.Row {
				t.Fatalf("%s: row %d kept but its exact tie row %d (lower) left out", name, h.Row, i)
			}
		}
	}
	for _, a := range hits {
		for _, b := range hits {
			if equiv(a.Row, b.Row) && math.Float32bits(a.Score) != math.Float32bits(b.Score) {
				t.Fatalf("%s: tied rows %d and %d scored %v and %v", name, a.Row, b.Row, a.Score, b.Score)
			}
		}
	}
}

// TestSearchProperties compares every path against a float64 scan on data
// with duplicates and ties, for both metrics and both dtypes.
func TestSearchProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	ctx := context.Background()
	for _, c := range []struct{ n, d, nq, k int }{
		{1, 4, 2, 3},
		{5, 3, 1, 10},
		{700, 24, 3, 10},
		{1300, 33, 20, 15},
		{600, 768, 9, 5},
	} {
		x, ipClass, cosClass := corpus(r, c.n, c.d)
		q := make([]float32, c.nq*c.d)
		for i := range c.nq {
			src := x[r.IntN(c.n)*c.d:]
			for l := range c.d {
				q[i*c.d+l] = src[l] + float32(r.NormFloat64())*0.1
			}
		}
		for _, metric := range []Metric{Cosine, InnerProduct, L2} {
			for _, half := range []bool{false, true} {
				var opts []Option
				if half {
					opts = append(opts, WithFloat16())
				}
				ix, err := New(c.d, metric, opts...)
				if err != nil {
					t.Fatal(err)
				}
				if err := ix.Add(x[:c.n/2*c.d], nil); err != nil { // in two parts
					t.Fatal(err)
				}
				if err := ix.Add(x[c.n/2*c.d:], nil); err != nil {
					t.Fatal(err)
				}
				// The reference scores the rows as stored: for a half
				// index, the rounded normalized rows.
				stored := make([]float32, len(x))
				copy(stored, x)
				if metric == Cosine {
					for i := range c.n {
						normalize(stored[i*c.d:(i+1)*c.d], x[i*c.d:(i+1)*c.d])
					}
				}
				if half {
					h := make([]uint16, len(stored))
					kernels.F32ToF16(h, stored)
					kernels.F16ToF32(stored, h)
				}
				class := ipClass // identical rows: also an L2 tie
				if metric == Cosine {
					class = cosClass
				}
				equiv := func(a, b int) bool { return a != b && class[a] == class[b] }
				batch, err := ix.SearchBatch(ctx, q, c.k)
				if err != nil {
					t.Fatal(err)
				}
				for i := range c.nq {
					qi := q[i*c.d : (i+1)*c.d]
					all := make([]float64, c.n)
					absMax := 0.0
					qn := qi
					if metric == Cosine {
						// Stored rows are unit (or zero) already.
						qn = make([]float32, c.d)
						normalize(qn, qi)
					}
					for j := range all {
						if metric == L2 {
							// Negated, so that higher is better as checkHits
							// expects.
							all[j] = -dist64(qi, stored[j*c.d:(j+1)*c.d])
							absMax = max(absMax, ip64(qi, qi)+ip64(stored[j*c.d:(j+1)*c.d], stored[j*c.d:(j+1)*c.d]))
							continue
						}
						all[j] = ip64(qn, stored[j*c.d:(j+1)*c.d])
						absMax = max(absMax, math.Abs(all[j]))
					}
					tol := 4 * float64(c.d) * 0x1p-24 * max(absMax, 1) * 4
					neg := func(h []Hit) []Hit {
						if metric != L2 {
							return h
						}
						out := slices.Clone(h)
						for i := range out {
							out[i].Score = -out[i].Score
						}
						return out
					}
					name := fmt.Sprintf("%v n=%d d=%d %v half=%v query %d", c, c.n, c.d, metric, half, i)
					checkHits(t, name+" batch", neg(batch[i]), all, c.k, equiv, tol)
					single, err := ix.Search(qi, c.k)
					if err != nil {
						t.Fatal(err)
					}
					checkHits(t, name+" single", neg(single), all, c.k, equiv, tol)
				}
			}
		}
	}
}

func TestErrors(t *testing.T) {
	ix, err := New(4, Cosine)
	if err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	for _, c := range []struct {
		name string
		err  error
		want error
		text string
	}{
		{"add short", ix.Add(make([]float32, 6), nil), ErrDim, "dimension 4"},
		{"add NaN", ix.Add([]float32{1, 2, 3, 4, 5, 6, nan, 8}, nil), ErrNotFinite, "row 1"},
		{"add Inf", ix.Add([]float32{float32(math.Inf(1)), 0, 0, 0}, nil), ErrNotFinite, "row 0"},
		{"search dim", func() error { _, err := ix.Search(make([]float32, 3), 1); return err }(), ErrDim, "3 values"},
		{"search k", func() error { _, err := ix.Search(make([]float32, 4), 0); return err }(), ErrK, "k = 0"},
		{"batch dim", func() error { _, err := ix.SearchBatch(context.Background(), make([]float32, 7), 1); return err }(), ErrDim, ""},
		{"query NaN", func() error { _, err := ix.Search([]float32{0, nan, 0, 0}, 1); return err }(), ErrNotFinite, "query 0"},
		{"new dim", func() error { _, err := New(0, Cosine); return err }(), ErrDim, ""},
	} {
		if !errors.Is(c.err, c.want) || !strings.Contains(fmt.Sprint(c.err), c.text) {
			t.Errorf("%s: err = %v, want %v mentioning %q", c.name, c.err, c.want, c.text)
		}
	}
	if ix.Len() != 0 {
		t.Errorf("rejected Adds added %d rows", ix.Len())
	}
	h, err := New(2, InnerProduct, WithFloat16())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Add([]float32{1, 1e6}, nil); !errors.Is(err, ErrNotFinite) {
		t.Errorf("f16 out of range: err = %v, want ErrNotFinite", err)
	}
	if err := h.Add([]float32{1, 2}, []string{"a", "b"}); err == nil {
		t.Errorf("2 ids for 1 row: no error")
	}
	ix.Close()
	if _, err := ix.Search(make([]float32, 4), 1); !errors.Is(err, ErrClosed) {
		t.Errorf("search after Close: err = %v, want ErrClosed", err)
	}
	if err := ix.Add(make([]float32, 4), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("add after Close: err = %v, want ErrClosed", err)
	}
}

func TestEmptyAndSmall(t *testing.T) {
	ix, _ := New(3, InnerProduct)
	hits, err := ix.Search([]float32{1, 2, 3}, 5)
	if err != nil || len(hits) != 0 {
		t.Fatalf("empty index: %v, %v", hits, err)
	}
	ix.Add([]float32{1, 0, 0, 0, 1, 0}, []string{"a", "b"})
	hits, err = ix.Search([]float32{0, 2, 0}, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []Hit{{"b", 1, 2}, {"a", 0, 0}}
	if !slices.Equal(hits, want) {
		t.Fatalf("got %v, want %v", hits, want)
	}
}

// TestCancel checks that a long batch search stops when its context is
// cancelled.
func TestCancel(t *testing.T) {
	ix, _ := New(8, InnerProduct)
	ix.Add(make([]float32, 8*5000), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ix.SearchBatch(ctx, make([]float32, 8*50), 3); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func buildIndex(t testing.TB, metric Metric, half bool, n, d int) (*Index, []float32) {
	r := rand.New(rand.NewPCG(uint64(n), uint64(d)))
	x, _, _ := corpus(r, n, d)
	var opts []Option
	if half {
		opts = append(opts, WithFloat16())
	}
	ix, err := New(d, metric, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("文書-%d", i*7)
		if i%9 == 4 {
			ids[i] = "" // empty ids are allowed
		}
	}
	if err := ix.Add(x, ids); err != nil {
		t.Fatal(err)
	}
	return ix, x
}

func sameResults(t *testing.T, name string, a, b *Index, q []float32, k int) {
	t.Helper()
	ra, err := a.SearchBatch(context.Background(), q, k)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.SearchBatch(context.Background(), q, k)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ra {
		if !slices.Equal(ra[i], rb[i]) {
			t.Fatalf("%s query %d:\n%v\n%v", name, i, ra[i], rb[i])
		}
	}
}

// TestSaveOpen round-trips every metric and dtype through a file, opened
// by Open (mapped), OpenFS on os.DirFS (mapped) and on an in-memory FS
// (read), and checks Add on an opened index and saving over the file an
// index is mapped from.
func TestSaveOpen(t *testing.T) {
	dir := t.TempDir()
	for _, metric := range []Metric{Cosine, InnerProduct, L2} {
		for _, half := range []bool{false, true} {
			ix, x := buildIndex(t, metric, half, 333, 20)
			q := x[:5*20]
			path := filepath.Join(dir, fmt.Sprintf("%v-%v.idx", metric, half))
			if err := ix.Save(path); err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(path)
			opened, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			fromDir, err := OpenFS(os.DirFS(dir), filepath.Base(path))
			if err != nil {
				t.Fatal(err)
			}
			fromMem, err := OpenFS(fstest.MapFS{"x.idx": {Data: raw}}, "x.idx", WithoutVectorChecksum())
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("%v half=%v", metric, half)
			for _, o := range []*Index{opened, fromDir, fromMem} {
				if o.Len() != ix.Len() || o.Dim() != ix.Dim() || o.Metric() != metric || o.DType() != ix.DType() {
					t.Fatalf("%s: opened %d×%d %v %v", name, o.Len(), o.Dim(), o.Metric(), o.DType())
				}
				sameResults(t, name, ix, o, q, 7)
			}
			if !slices.Equal(opened.sqNorms, ix.sqNorms) || opened.ID(13) != ix.ID(13) {
				t.Fatalf("%s: norms or ids differ after the round trip", name)
			}
			// Saving over the mapped file leaves the mapping intact.
			if err := ix.Save(path); err != nil {
				t.Fatal(err)
			}
			sameResults(t, name+" after overwrite", ix, opened, q, 7)
			// Add copies a mapped index before growing it.
			more := x[:2*20]
			if err := opened.Add(more, []string{"x", "y"}); err != nil {
				t.Fatal(err)
			}
			if err := ix.Add(more, []string{"x", "y"}); err != nil {
				t.Fatal(err)
			}
			sameResults(t, name+" after Add", ix, opened, q, 9)
			for _, o := range []*Index{opened, fromDir, fromMem} {
				if err := o.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestOpenErrors damages a saved file in every way a file can be damaged
// and checks the error.
func TestOpenErrors(t *testing.T) {
	ix, _ := buildIndex(t, Cosine, false, 50, 8)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.idx")
	if err := ix.Save(good); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	h, err := decodeHeader(raw, int64(len(raw)), "x")
	if err != nil {
		t.Fatal(err)
	}
	flip := func(off uint64) []byte {
		b := slices.Clone(raw)
		b[off] ^= 0x10
		return b
	}
	otherVersion := slices.Clone(raw)
	otherVersion[8] = 2
	for _, c := range []struct {
		name string
		data []byte
		want error
		text string
	}{
		{"empty", nil, ErrCorrupt, "truncated"},
		{"short header", raw[:60], ErrCorrupt, "truncated"},
		{"truncated", raw[:len(raw)-3], ErrCorrupt, "truncated"},
		{"trailing", append(slices.Clone(raw), 0), ErrCorrupt, "trailing"},
		{"magic", flip(0), ErrCorrupt, "magic"},
		{"version", otherVersion, ErrVersion, "version 2"},
		{"header", flip(20), ErrCorrupt, "header checksum"},
		{"vectors", flip(h.vecOff + 17), ErrCorrupt, "vectors checksum"},
		{"norms", flip(h.normOff + 1), ErrCorrupt, "norms checksum"},
		{"ids", flip(h.idDataOff + 2), ErrCorrupt, "ids checksum"},
		{"id offsets", flip(h.idOffOff + 9), ErrCorrupt, "ids checksum"},
	} {
		p := filepath.Join(dir, c.name+".idx")
		os.WriteFile(p, c.data, 0o644)
		_, err := Open(p)
		if !errors.Is(err, c.want) || !strings.Contains(fmt.Sprint(err), c.text) || !strings.Contains(fmt.Sprint(err), p) {
			t.Errorf("%s: err = %v, want %v naming the file and %q", c.name, err, c.want, c.text)
		}
	}
	// Without the vector checksum, a damaged vector opens (by request).
	p := filepath.Join(dir, "vectors.idx")
	if _, err := Open(p, WithoutVectorChecksum()); err != nil {
		t.Errorf("WithoutVectorChecksum: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing.idx")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// fixChecksums rewrites the checksums of an index file whose header
// layout is sane, so fuzzing reaches the checks behind them.
func fixChecksums(b []byte) {
	if len(b) < headerSize {
		return
	}
	le := binary.LittleEndian
	le.PutUint32(b[124:], crc32.Checksum(b[:124], castagnoli))
	h, err := decodeHeader(b, int64(len(b)), "")
	if err != nil {
		return
	}
	h.vecSum = crc32.Checksum(b[h.vecOff:h.vecOff+uint64(h.count)*uint64(h.dim)*h.dtype.size()], castagnoli)
	h.normSum = crc32.Checksum(b[h.normOff:h.normOff+4*uint64(h.count)], castagnoli)
	h.idSum = crc32.Checksum(b[h.idOffOff:h.size], castagnoli)
	copy(b, h.encode())
}

func TestFixChecksums(t *testing.T) {
	ix, _ := buildIndex(t, InnerProduct, true, 20, 4)
	var sb strings.Builder
	ix.WriteTo(&sb)
	b := []byte(sb.String())
	b[headerSize+3] ^= 1
	if _, err := parse(aligned(b), "x", nil, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged: %v", err)
	}
	fixChecksums(b)
	if _, err := parse(aligned(b), "x", nil, nil); err != nil {
		t.Fatalf("after fixChecksums: %v", err)
	}
}

func aligned(b []byte) []byte {
	words := make([]uint64, (len(b)+7)/8)
	out := bytesOf(words)[:len(b)]
	copy(out, b)
	return out
}

// FuzzParse feeds the loader arbitrary files, raw and with their
// checksums repaired: it must return an error or an index that searches
// without panicking.
func FuzzParse(f *testing.F) {
	for _, half := range []bool{false, true} {
		ix, _ := buildIndex(f, Cosine, half, 6, 3)
		var sb strings.Builder
		ix.WriteTo(&sb)
		f.Add([]byte(sb.String()))
	}
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fix := range []bool{false, true} {
			b := aligned(data)
			if fix {
				fixChecksums(b)
			}
			x, err := parse(b, "fuzz", nil, nil)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
					t.Fatalf("error %v is neither ErrCorrupt nor ErrVersion", err)
				}
				continue
			}
			q := make([]float32, x.Dim())
			if len(q) > 1<<16 {
				continue
			}
			for i := range q {
				q[i] = float32(i%3) - 1
			}
			hits, err := x.Search(q, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				if h.Row < 0 || h.Row >= x.Len() {
					t.Fatalf("hit row %d of %d", h.Row, x.Len())
				}
			}
		}
	})
}

func TestMetricNames(t *testing.T) {
	for _, s := range []string{"cosine", "ip", "l2"} {
		m, err := ParseMetric(s)
		if err != nil || m.String() != s {
			t.Errorf("%s: %v %v", s, m, err)
		}
	}
	if _, err := ParseMetric("l3"); err == nil {
		t.Error("ParseMetric(l3): no error")
	}
}

func TestL2Small(t *testing.T) {
	for _, half := range []bool{false, true} {
		var opts []Option
		if half {
			opts = append(opts, WithFloat16())
		}
		ix, _ := New(2, L2, opts...)
		if err := ix.Add([]float32{0, 0, 3, 4, 1, 1}, nil); err != nil {
			t.Fatal(err)
		}
		hits, err := ix.Search([]float32{1, 0}, 3)
		if err != nil {
			t.Fatal(err)
		}
		want := []Hit{{"0", 0, 1}, {"2", 2, 1}, {"1", 1, 20}}
		if !slices.Equal(hits, want) {
			t.Errorf("half=%v: got %v, want %v", half, hits, want)
		}
	}
}

// TestConcurrent searches from several goroutines while rows are added
// (run with -race): every search sees a consistent index.
func TestConcurrent(t *testing.T) {
	ix, x := buildIndex(t, Cosine, false, 400, 16)
	done := make(chan struct{})
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				hits, err := ix.Search(x[g*16:(g+1)*16], 5)
				if err == nil && (len(hits) != 5 || hits[0].Score < 0.999) {
					err = fmt.Errorf("goroutine %d: %v", g, hits)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 20 {
		if err := ix.Add(x[:40*16], nil); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if ix.Len() != 400+20*40 {
		t.Fatalf("Len = %d", ix.Len())
	}
}
