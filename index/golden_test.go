package index

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// tensor is one tensor of a fixture, as float64 (ids included: they are
// small integers).
type tensor struct {
	shape []int
	data  []float64
}

// readFixture reads every tensor of a safetensors fixture.
func readFixture(t *testing.T, path string) map[string]tensor {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]tensor{}
	for _, name := range f.Names() {
		ts, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float64, ts.NumElements())
		if ts.DType.IsInt() {
			ints := make([]int64, len(v))
			if err := ts.Int64s(ints); err != nil {
				t.Fatal(err)
			}
			for i, a := range ints {
				v[i] = float64(a)
			}
		} else {
			fs := make([]float32, len(v))
			if err := ts.Float32s(fs); err != nil {
				t.Fatal(err)
			}
			for i, a := range fs {
				v[i] = float64(a)
			}
		}
		out[name] = tensor{slices.Clone(ts.Shape), v}
	}
	return out
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, a := range v {
		out[i] = float32(a)
	}
	return out
}

// searchFixtures returns every search fixture: the safetensors files in
// the golden search directory and its subdirectories.
func searchFixtures(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.safetensors", filepath.Join("*", "*.safetensors")} {
		m, err := filepath.Glob(golden.Path("search", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("golden fixtures: no search fixture under %s (set %s)", golden.Path("search"), golden.Env)
	}
	return files
}

// TestGoldenSearch checks exact top-10 ids and scores (1e-5) against the
// float64 reference for cosine and inner product, through every search
// path: the batch (GEMM) path, one query at a time (scan), one and
// several threads, and an index saved and opened back.
func TestGoldenSearch(t *testing.T) {
	for _, file := range searchFixtures(t) {
		ts := readFixture(t, file)
		x, q := ts["X"], ts["Q"]
		d := x.shape[1]
		nq := q.shape[0]
		for _, metric := range []Metric{Cosine, InnerProduct} {
			prefix := map[Metric]string{Cosine: "cosine", InnerProduct: "ip"}[metric]
			wantIDs, wantScores := ts[prefix+"_ids"], ts[prefix+"_scores"]
			if wantIDs.data == nil || wantScores.data == nil {
				t.Fatalf("%s: no %s_ids / %s_scores", file, prefix, prefix)
			}
			k := wantIDs.shape[1]
			for _, threads := range []int{1, 3} {
				ix, err := New(d, metric, WithThreads(threads))
				if err != nil {
					t.Fatal(err)
				}
				if err := ix.Add(f32s(x.data), nil); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(t.TempDir(), "golden.idx")
				if err := ix.Save(path); err != nil {
					t.Fatal(err)
				}
				opened, err := Open(path, WithThreads(threads))
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range []struct {
					name string
					ix   *Index
				}{{"built", ix}, {"opened", opened}} {
					batch, err := c.ix.SearchBatch(context.Background(), f32s(q.data), k)
					if err != nil {
						t.Fatal(err)
					}
					single := make([][]Hit, nq)
					for i := range nq {
						if single[i], err = c.ix.Search(f32s(q.data[i*d:(i+1)*d]), k); err != nil {
							t.Fatal(err)
						}
					}
					for _, p := range []struct {
						path string
						res  [][]Hit
					}{{"batch", batch}, {"single", single}} {
						name := fmt.Sprintf("%s %s %s threads=%d %s", filepath.Base(file), prefix, c.name, threads, p.path)
						maxDiff := 0.0
						for i := range nq {
							if len(p.res[i]) != k {
								t.Fatalf("%s query %d: %d hits, want %d", name, i, len(p.res[i]), k)
							}
							for j, h := range p.res[i] {
								wantID := int(wantIDs.data[i*k+j])
								want := wantScores.data[i*k+j]
								diff := math.Abs(float64(h.Score) - want)
								maxDiff = max(maxDiff, diff)
								if h.Row != wantID || h.ID != fmt.Sprint(wantID) {
									t.Errorf("%s query %d rank %d: row %d (id %q, score %v), want row %d (score %v)", name, i, j, h.Row, h.ID, h.Score, wantID, want)
								}
								if diff > 1e-5*max(1, math.Abs(want)) {
									t.Errorf("%s query %d rank %d: score %v, want %v", name, i, j, h.Score, want)
								}
							}
						}
						t.Logf("%s: max |score - reference| = %.3g", name, maxDiff)
					}
				}
				opened.Close()
			}
		}
	}
}
