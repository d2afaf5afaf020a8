package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kotodama-ai/kotodama/internal/progress"
	"github.com/kotodama-ai/kotodama/kernels"
)

func init() {
	registerBench(&benchmark{
		name:  "gemm",
		short: "SGEMM GFLOP/s on BERT shapes (compare with ../shared/bench/sgemm-openblas.sh)",
		run:   runBenchGemm,
	})
}

// gemmShape is one product of the benchmark: C (m×n) = A (m×k) · B, with
// B stored n×k (PyTorch's weight layout) when transB.
type gemmShape struct {
	m, n, k int
	transB  bool
}

// defaultGemmShapes are the peer script's defaults.
var defaultGemmShapes = []string{"1024x1024x1024", "4096x768x768t", "4096x3072x768t", "4096x768x3072t", "128x128x64"}

// parseGemmShape reads MxNxK with an optional trailing t (B transposed),
// the syntax of sgemm-openblas.sh.
func parseGemmShape(s string) (gemmShape, error) {
	var g gemmShape
	body := s
	if strings.HasSuffix(body, "t") {
		g.transB = true
		body = strings.TrimSuffix(body, "t")
	}
	parts := strings.Split(body, "x")
	if len(parts) != 3 {
		return g, fmt.Errorf("shape %q: want MxNxK or MxNxKt", s)
	}
	dims := make([]int, 3)
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v <= 0 {
			return g, fmt.Errorf("shape %q: %q is not a positive integer", s, p)
		}
		dims[i] = v
	}
	g.m, g.n, g.k = dims[0], dims[1], dims[2]
	return g, nil
}

// gemmResult is one line of -json output; the fields match the peer's.
type gemmResult struct {
	M       int     `json:"m"`
	N       int     `json:"n"`
	K       int     `json:"k"`
	TransB  bool    `json:"transb"`
	Threads int     `json:"threads"`
	GFLOPS  float64 `json:"gflops"`
	Level   string  `json:"level"`
}

func runBenchGemm(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench gemm", "bench gemm [-threads N] [-json] [-time D] [MxNxK[t] ...]")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "threads to run each product on (the peer script's first argument)")
	asJSON := fs.Bool("json", false, `print one JSON line per shape: {"m","n","k","transb","threads","gflops","level"}`)
	minTime := fs.Duration("time", time.Second, "keep repeating each product (at least 3 times) for this long; the best run counts")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: kotodama bench gemm [-threads N] [-json] [-time D] [MxNxK[t] ...]\n\n")
		fmt.Fprintf(e.stderr, "Measures C = A·B (B given as N×K when the shape ends in t) in GFLOP/s from the\n")
		fmt.Fprintf(e.stderr, "best of repeated runs, like ../shared/bench/sgemm-openblas.sh [threads] [shapes].\n")
		fmt.Fprintf(e.stderr, "Default shapes: %s. KOTODAMA_CPU=generic|avx2|avx512 picks a lower kernel level.\n\n", strings.Join(defaultGemmShapes, " "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *threads < 1 {
		return fmt.Errorf("bench gemm: -threads %d: want at least 1", *threads)
	}
	if *minTime < 0 {
		return fmt.Errorf("bench gemm: -time %v: want a non-negative duration", *minTime)
	}
	names := fs.Args()
	if len(names) == 0 {
		names = defaultGemmShapes
	}
	shapes := make([]gemmShape, len(names))
	for i, s := range names {
		g, err := parseGemmShape(s)
		if err != nil {
			return fmt.Errorf("bench gemm: %w", err)
		}
		shapes[i] = g
	}

	info := kernels.Info()
	pool := kernels.NewPool(*threads)
	defer pool.Close()
	fmt.Fprintf(e.stderr, "kernels: %s\n", info)
	bar := progress.New(e.stderr, "bench gemm", int64(len(shapes)), "shapes")
	var results []gemmResult
	for _, s := range shapes {
		if err := ctx.Err(); err != nil {
			return err
		}
		bar.SetStatus("%dx%dx%d", s.m, s.n, s.k)
		gf := timeGemm(ctx, pool, s, *minTime)
		r := gemmResult{M: s.m, N: s.n, K: s.k, TransB: s.transB, Threads: *threads, GFLOPS: round1(gf), Level: info.Level}
		results = append(results, r)
		if *asJSON {
			line, _ := json.Marshal(r)
			fmt.Fprintf(e.stdout, "%s\n", line)
		}
		bar.Add(1)
	}
	bar.Finish()
	if !*asJSON {
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "m\tn\tk\ttransb\tthreads\tGFLOP/s\t\n")
		for _, r := range results {
			fmt.Fprintf(tw, "%d\t%d\t%d\t%v\t%d\t%.1f\t\n", r.M, r.N, r.K, r.TransB, r.Threads, r.GFLOPS)
		}
		return tw.Flush()
	}
	return nil
}

// timeGemm runs s on pool at least three times and for at least minTime,
// with the peer's operand values, and returns GFLOP/s of the fastest run.
func timeGemm(ctx context.Context, pool *kernels.Pool, s gemmShape, minTime time.Duration) float64 {
	a := make([]float32, s.m*s.k)
	b := make([]float32, s.k*s.n)
	c := make([]float32, s.m*s.n)
	for i := range a {
		a[i] = float32(i*7919%1000)/1000 - 0.5
	}
	for i := range b {
		b[i] = float32(i*104729%1000)/1000 - 0.5
	}
	ldb := s.n
	if s.transB {
		ldb = s.k
	}
	best := time.Duration(1<<63 - 1)
	start := time.Now()
	for reps := 0; reps < 3 || (time.Since(start) < minTime && reps < 1000); reps++ {
		if ctx.Err() != nil {
			break
		}
		t0 := time.Now()
		pool.Sgemm(false, s.transB, s.m, s.n, s.k, 1, a, s.k, b, ldb, 0, c, s.n)
		best = min(best, time.Since(t0))
	}
	return 2 * float64(s.m) * float64(s.n) * float64(s.k) / best.Seconds() / 1e9
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }
