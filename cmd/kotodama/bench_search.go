package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/kotodama-ai/kotodama/index"
	"github.com/kotodama-ai/kotodama/internal/progress"
)

func init() {
	registerBench(&benchmark{
		name:  "search",
		short: "exact top-k search over random vectors (the peer: ../shared/bench/topk-openblas.sh)",
		run:   benchSearch,
	})
}

// benchSearchResult is what `kotodama bench search -json` prints; the
// first fields match the peer's.
type benchSearchResult struct {
	N       int     `json:"n"`
	Dim     int     `json:"dim"`
	Queries int     `json:"queries"`
	K       int     `json:"k"`
	Threads int     `json:"threads"`
	Seconds float64 `json:"seconds"`
	QPS     float64 `json:"qps"`
	// CPUSeconds is the processor time (user + system, all threads) of
	// the search: steadier than Seconds on a machine shared with others.
	CPUSeconds float64 `json:"cpu_s,omitempty"`
	GFLOPS     float64 `json:"gflops"`
	// GBps is the corpus bytes scanned per second: the figure to hold
	// against memory bandwidth for a single query.
	GBps   float64 `json:"gb_per_s"`
	Metric string  `json:"metric"`
	DType  string  `json:"dtype"`
	Device string  `json:"device"`
}

func benchSearch(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench search", "bench search [-n 1000000] [-dim 768] [-queries 720] [-k 10] [-threads N] [-device cpu|cuda] [-repeat R] [-json]")
	n := fs.Int("n", 1000000, "corpus rows")
	dim := fs.Int("dim", 768, "vector dimension")
	nq := fs.Int("queries", 720, "queries searched in one batch (1 measures the single-query scan)")
	k := fs.Int("k", 10, "hits per query")
	threads := fs.Int("threads", 0, "search goroutines (0: one per CPU)")
	repeat := fs.Int("repeat", 1, "searches to time; the best wall and the best CPU time are reported")
	seed := fs.Uint64("seed", 1, "random seed of the data")
	metricName := fs.String("metric", "ip", "score: ip (as the peer), cosine or l2")
	f16 := fs.Bool("f16", false, "store the corpus in half precision")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	devName := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n <= 0 || *dim <= 0 || *nq <= 0 || *k <= 0 || *repeat <= 0 {
		return fmt.Errorf("bench search: -n, -dim, -queries, -k and -repeat must be positive")
	}
	metric, err := index.ParseMetric(*metricName)
	if err != nil {
		return fmt.Errorf("bench search: -metric: %w", err)
	}
	if *threads <= 0 {
		*threads = runtime.GOMAXPROCS(0)
	}
	opts := []index.Option{index.WithThreads(*threads)}
	if *f16 {
		opts = append(opts, index.WithFloat16())
	}
	ix, err := index.New(*dim, metric, opts...)
	if err != nil {
		return fmt.Errorf("bench search: %w", err)
	}
	defer ix.Close()

	// Uniform values in [-0.5, 0.5), as the peer uses, generated in
	// parallel chunks (each chunk its own seeded stream) and added a
	// chunk at a time so only the index holds the corpus.
	ix.Grow(*n)
	bar := progress.New(e.stderr, "generating", int64(*n), "rows")
	const chunk = 1 << 15
	buf := make([]float32, chunk**dim)
	for lo := 0; lo < *n; lo += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows := min(chunk, *n-lo)
		fillUniform(buf[:rows**dim], *seed, uint64(lo/chunk))
		if err := ix.Add(buf[:rows**dim], nil); err != nil {
			return fmt.Errorf("bench search: %w", err)
		}
		bar.Add(int64(rows))
	}
	bar.Finish()
	buf = nil
	queries := make([]float32, *nq**dim)
	fillUniform(queries, *seed, ^uint64(0))
	dev, err := openDevice(*devName)
	if err != nil {
		return fmt.Errorf("bench search: %w", err)
	}
	defer dev.close()
	// On a GPU the corpus is copied into its memory once, outside the timing.
	searcher, release, err := dev.searcher(ix)
	if err != nil {
		return fmt.Errorf("bench search: %w", err)
	}
	defer release()

	best, bestCPU := 0.0, 0.0
	for r := 0; r < *repeat; r++ {
		runtime.GC()
		c0, t0 := cpuSeconds(), time.Now()
		if _, err := searcher.SearchBatch(ctx, queries, *k); err != nil {
			return fmt.Errorf("bench search: %w", err)
		}
		dt, cpu := time.Since(t0).Seconds(), cpuSeconds()-c0
		if r == 0 || dt < best {
			best = dt
		}
		if r == 0 || cpu < bestCPU {
			bestCPU = cpu
		}
	}
	elem := 4
	if *f16 {
		elem = 2
	}
	res := benchSearchResult{
		N: *n, Dim: *dim, Queries: *nq, K: *k, Threads: *threads, Seconds: best, CPUSeconds: bestCPU,
		QPS:    float64(*nq) / best,
		GFLOPS: 2 * float64(*n) * float64(*dim) * float64(*nq) / best / 1e9,
		GBps:   float64(*n) * float64(*dim) * float64(elem) / best / 1e9,
		Metric: metric.String(), DType: ix.DType().String(), Device: dev.name,
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	fmt.Fprintf(e.stdout, "search n=%d dim=%d queries=%d k=%d threads=%d %s %s on %s: %.4f s (%.4f s CPU), %.1f queries/s, %.1f GFLOP/s, %.2f GB/s scanned\n",
		res.N, res.Dim, res.Queries, res.K, res.Threads, res.Metric, res.DType, res.Device, res.Seconds, res.CPUSeconds, res.QPS, res.GFLOPS, res.GBps)
	return nil
}

// fillUniform fills v with uniform values in [-0.5, 0.5) from the stream
// (seed, stream), generated in parallel.
func fillUniform(v []float32, seed, stream uint64) {
	const parts = 8 // fixed, so the data does not depend on the machine
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := len(v)*p/parts, len(v)*(p+1)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, stream*1024+uint64(p)))
			for i := lo; i < hi; i++ {
				v[i] = r.Float32() - 0.5
			}
		}()
	}
	wg.Wait()
}
