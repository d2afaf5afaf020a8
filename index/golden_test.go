package index

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

// tensor is one tensor of a safetensors file, decoded to float64 (ids
// included: they are small integers).
type tensor struct {
	shape []int
	data  []float64
}

// readSafetensors decodes the F32, F64 and I64 tensors of a safetensors
// file (8-byte little-endian header length, JSON header, data).
func readSafetensors(t *testing.T, path string) map[string]tensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8 {
		t.Fatalf("%s: too short", path)
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		t.Fatalf("%s: header length %d past the end", path, n)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	data := b[8+n:]
	out := map[string]tensor{}
	for name, raw := range hdr {
		if name == "__metadata__" {
			continue
		}
		var info struct {
			DType   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &info); err != nil {
			t.Fatalf("%s: %s: %v", path, name, err)
		}
		buf := data[info.Offsets[0]:info.Offsets[1]]
		var v []float64
		switch info.DType {
		case "F32":
			for i := 0; i+4 <= len(buf); i += 4 {
				v = append(v, float64(math.Float32frombits(binary.LittleEndian.Uint32(buf[i:]))))
			}
		case "F64":
			for i := 0; i+8 <= len(buf); i += 8 {
				v = append(v, math.Float64frombits(binary.LittleEndian.Uint64(buf[i:])))
			}
		case "I64":
			for i := 0; i+8 <= len(buf); i += 8 {
				v = append(v, float64(int64(binary.LittleEndian.Uint64(buf[i:]))))
			}
		default:
			t.Fatalf("%s: %s: dtype %s", path, name, info.DType)
		}
		out[name] = tensor{info.Shape, v}
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
		ts := readSafetensors(t, file)
		x, q := ts["X"], ts["Q"]
		d := x.shape[1]
		nq := q.shape[0]
		for _, metric := range []Metric{Cosine, InnerProduct} {
			prefix := map[Metric]string{Cosine: "cosine", InnerProduct: "ip"}[metric]
			wantIDs, wantScores := ts[prefix+"_ids"], ts[prefix+"_scores_f64"]
			if wantIDs.data == nil || wantScores.data == nil {
				t.Fatalf("%s: no %s_ids / %s_scores_f64", file, prefix, prefix)
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
