package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
)

func init() {
	registerBench(&benchmark{
		name:  "bert",
		short: "BERT encoder throughput (sequences/s) on a model directory",
		run:   runBenchBERT,
	})
}

// benchBERTResult is what `kotodama bench bert -json` prints.
type benchBERTResult struct {
	Batch   int     `json:"batch"`
	Seq     int     `json:"seq"`
	Threads int     `json:"threads"`
	Packed  bool    `json:"packed"`
	SeqPerS float64 `json:"seq_per_s"`
	MedianS float64 `json:"median_s"`
	Runs    int     `json:"runs"`
	Backend string  `json:"backend"`
	Layers  int     `json:"layers"`
	Hidden  int     `json:"hidden"`
	GFLOPS  float64 `json:"gflops"`
	// CPUS is the median processor time (user + system, all threads) of a
	// pass: on a busy machine it moves less than the wall time.
	CPUS     float64 `json:"cpu_s,omitempty"`
	LoadS    float64 `json:"load_s"`
	MaxRSSMB float64 `json:"max_rss_mb,omitempty"`
}

func runBenchBERT(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench bert", "bench bert -model DIR [-batch 32] [-seq 128] [-threads N] [-pack=false] [-device cpu|cuda] [-time 10s] [-json]")
	model := fs.String("model", "", "model `directory` (config.json + model.safetensors), e.g. the one ../shared/bench/bert-ort.sh writes")
	batch := fs.Int("batch", 32, "sequences per forward pass")
	seq := fs.Int("seq", 128, "tokens per sequence (random ids, full attention mask)")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "threads to compute on")
	pack := fs.Bool("pack", true, "pack the weights once for inference, as embed.Load does (bert.Model.Pack); false re-packs them in every product, as training does")
	minTime := fs.Duration("time", 10*time.Second, "measure for at least this long (and at least 3 passes)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	devName := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *model == "":
		fs.Usage()
		return fmt.Errorf("bench bert: -model is required")
	case *batch <= 0 || *seq <= 0 || *threads <= 0:
		return fmt.Errorf("bench bert: -batch, -seq and -threads must be positive")
	}
	runtime.GOMAXPROCS(*threads)
	pool := kernels.NewPool(*threads)
	defer pool.Close()

	dev, err := openDevice(*devName)
	if err != nil {
		return fmt.Errorf("bench bert: %w", err)
	}
	defer dev.close()
	start := time.Now()
	be := dev.cpuOr(kernels.NewCPUPool(pool))
	m, err := bert.Load(be, *model)
	if err != nil {
		return fmt.Errorf("bench bert: %w", err)
	}
	if *pack {
		m.Pack()
	}
	loadS := time.Since(start).Seconds()
	c := m.Config
	if *seq > c.MaxPositionEmbeddings {
		return fmt.Errorf("bench bert: -seq %d exceeds the model's %d positions", *seq, c.MaxPositionEmbeddings)
	}
	n := *batch * *seq
	a, err := m.NewActivations(n, *seq, false)
	if err != nil {
		return fmt.Errorf("bench bert: %w", err)
	}
	// The same ids as the ONNX Runtime peer (ort_bench.mjs): an LCG from
	// 12345, ids 5 + x mod 30000, folded into the vocabulary.
	ids, mask := make([]int32, n), make([]int32, n)
	x := int64(12345)
	for i := range ids {
		x = (x*1103515245 + 12345) % 2147483648
		ids[i] = int32((5 + x%30000) % int64(c.VocabSize))
		mask[i] = 1
	}
	var cpuTimes []float64
	pass := func() (time.Duration, error) {
		c0 := cpuSeconds()
		t0 := time.Now()
		if err := m.Forward(a, ids, nil, mask, *batch, *seq); err != nil {
			return 0, err
		}
		if err := be.Sync(); err != nil {
			return 0, err
		}
		d := time.Since(t0)
		cpuTimes = append(cpuTimes, cpuSeconds()-c0)
		return d, nil
	}
	if _, err := pass(); err != nil { // warm-up
		return fmt.Errorf("bench bert: %w", err)
	}
	var times []time.Duration
	cpuTimes = cpuTimes[:0]
	t0 := time.Now()
	for len(times) < 3 || (time.Since(t0) < *minTime && len(times) < 200) {
		if err := ctx.Err(); err != nil {
			return err
		}
		d, err := pass()
		if err != nil {
			return fmt.Errorf("bench bert: %w", err)
		}
		times = append(times, d)
	}
	slices.Sort(times)
	slices.Sort(cpuTimes)
	med := times[len(times)/2].Seconds()
	H, I, L := float64(c.HiddenSize), float64(c.IntermediateSize), float64(*seq)
	flopsPerToken := float64(c.NumHiddenLayers) * (2*(4*H*H+2*H*I) + 4*L*H)
	r := benchBERTResult{
		Batch: *batch, Seq: *seq, Threads: *threads, Packed: *pack,
		SeqPerS: float64(*batch) / med, MedianS: med, Runs: len(times),
		Backend: be.Name(), Layers: c.NumHiddenLayers, Hidden: c.HiddenSize,
		GFLOPS: flopsPerToken * float64(n) / med / 1e9, LoadS: loadS, MaxRSSMB: maxRSSMB(),
		CPUS: cpuTimes[len(cpuTimes)/2],
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(r)
	}
	weights := "packed weights"
	if !r.Packed {
		weights = "weights as stored"
	}
	fmt.Fprintf(e.stdout, "bert %d layers × %d: batch %d × seq %d on %d threads (%s, %s): %.2f seq/s, median %.3fs (%.3f CPU-s) over %d passes, %.1f GFLOP/s, peak RSS %.0f MB\n",
		r.Layers, r.Hidden, r.Batch, r.Seq, r.Threads, r.Backend, weights, r.SeqPerS, r.MedianS, r.CPUS, r.Runs, r.GFLOPS, r.MaxRSSMB)
	return nil
}
