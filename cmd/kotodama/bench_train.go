package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/loss"
	"github.com/kotodama-ai/kotodama/pooling"
	"github.com/kotodama-ai/kotodama/train"
)

func init() {
	registerBench(&benchmark{
		name:  "train",
		short: "contrastive training steps (pairs/s) of a random BERT, as ../shared/bench/train-torch.sh",
		run:   runBenchTrain,
	})
}

// benchSizes are the peer's BERT shapes (../shared/bench/gen_bert.py).
var benchSizes = map[string]bert.Config{
	"base":  {HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12, IntermediateSize: 3072},
	"small": {HiddenSize: 512, NumHiddenLayers: 4, NumAttentionHeads: 8, IntermediateSize: 2048},
	"tiny":  {HiddenSize: 128, NumHiddenLayers: 2, NumAttentionHeads: 2, IntermediateSize: 512},
}

// benchTrainResult is what `kotodama bench train -json` prints; the
// fields the peer prints have its names.
type benchTrainResult struct {
	Size      string  `json:"size"`
	Batch     int     `json:"batch"`
	Seq       int     `json:"seq"`
	Threads   int     `json:"threads"`
	Steps     int     `json:"steps"`
	StepS     float64 `json:"step_s"`
	PairsPerS float64 `json:"pairs_per_s"`
	SeqPerS   float64 `json:"seq_per_s"`
	GradCache int     `json:"gradcache"`
	Dropout   bool    `json:"dropout"`
	Loss      float64 `json:"loss"`
	MaxRSSMB  float64 `json:"max_rss_mb"`
	Backend   string  `json:"backend"`
}

func runBenchTrain(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench train", "bench train [-size small] [-batch 32] [-seq 128] [-threads N] [-device cpu|cuda] [-gradcache 0] [-dropout] [-time 20s] [-json]")
	size := fs.String("size", "small", "model shape: tiny (2×128), small (4×512) or base (12×768); vocab 32768, 512 positions, random weights")
	batch := fs.Int("batch", 32, "(query, positive) pairs per step; a step encodes 2×batch sequences")
	seq := fs.Int("seq", 128, "tokens per sequence (random ids, full attention mask)")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "threads to compute on")
	mini := fs.Int("gradcache", 0, "GradCache mini-batch in sequences (0: one-shot, all activations kept)")
	dropout := fs.Bool("dropout", false, "train with BERT's dropout (0.1); the peer runs without")
	minTime := fs.Duration("time", 20*time.Second, "measure for at least this long (and at least 3 steps)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	devName := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	shape, ok := benchSizes[*size]
	switch {
	case !ok:
		return fmt.Errorf("bench train: -size %q: want tiny, small or base", *size)
	case *batch <= 0 || *seq <= 0 || *threads <= 0 || *mini < 0:
		return fmt.Errorf("bench train: -batch, -seq and -threads must be positive, -gradcache not negative")
	case *seq > 512:
		return fmt.Errorf("bench train: -seq %d exceeds 512 positions", *seq)
	}
	threadPool := kernels.NewPool(*threads)
	defer threadPool.Close()
	c := shape
	c.ModelType, c.VocabSize, c.MaxPositionEmbeddings, c.TypeVocabSize = "bert", 32768, 512, 2
	c.HiddenAct, c.LayerNormEps, c.PositionEmbeddingType = "gelu", 1e-12, "absolute"
	if *dropout {
		c.HiddenDropoutProb, c.AttentionProbsDropoutProb = 0.1, 0.1
	}
	dev, err := openDevice(*devName)
	if err != nil {
		return fmt.Errorf("bench train: %w", err)
	}
	defer dev.close()
	be := dev.cpuOr(kernels.NewCPUPool(threadPool))
	m, err := bert.New(be, c)
	if err != nil {
		return fmt.Errorf("bench train: %w", err)
	}
	train.InitBERT(m.Params, c, 0.02, 0)
	pool, err := pooling.New(be, pooling.Config{Dim: c.HiddenSize, Modes: []pooling.Mode{pooling.Mean}, IncludePrompt: true})
	if err != nil {
		return err
	}
	enc, err := train.NewBERT(m, pool)
	if err != nil {
		return err
	}
	opt, err := train.NewAdamW(enc.Params(), train.WithWeightDecay(0.01), train.WithPool(threadPool))
	if err != nil {
		return err
	}
	l, err := loss.NewInfoNCE(loss.WithScale(20))
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(0, 0))
	b := train.Batch{B: *batch, Seqs: make([]train.Seq, 2**batch)}
	for i := range b.Seqs {
		s := make(train.Seq, *seq)
		for j := range s {
			s[j] = 5 + r.IntN(30000-5)
		}
		b.Seqs[i] = s
	}
	var last float32
	step := func(k int) (time.Duration, error) {
		t0 := time.Now()
		train.ZeroGrad(enc.Params())
		v, err := train.Backprop(ctx, enc, l, b, train.Mode{Train: *dropout, Seed: uint64(k)}, *mini, 1)
		if err != nil {
			return 0, err
		}
		if err := opt.Step(2e-5); err != nil {
			return 0, err
		}
		last = v
		return time.Since(t0), be.Sync()
	}
	if _, err := step(0); err != nil { // warm-up
		return fmt.Errorf("bench train: %w", err)
	}
	var times []time.Duration
	t0 := time.Now()
	for len(times) < 3 || (time.Since(t0) < *minTime && len(times) < 100) {
		if err := ctx.Err(); err != nil {
			return err
		}
		d, err := step(len(times) + 1)
		if err != nil {
			return fmt.Errorf("bench train: %w", err)
		}
		times = append(times, d)
	}
	slices.Sort(times)
	med := times[len(times)/2].Seconds()
	res := benchTrainResult{
		Size: *size, Batch: *batch, Seq: *seq, Threads: *threads, Steps: len(times), StepS: med,
		PairsPerS: float64(*batch) / med, SeqPerS: float64(2**batch) / med, GradCache: *mini, Dropout: *dropout,
		Loss: float64(last), MaxRSSMB: maxRSSMB(), Backend: be.Name(),
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	fmt.Fprintf(e.stdout, "train %s: %d pairs × seq %d on %d threads (%s, gradcache %d): %.3f s/step, %.2f pairs/s, %.1f seq/s over %d steps, peak RSS %.0f MB\n",
		res.Size, res.Batch, res.Seq, res.Threads, res.Backend, res.GradCache, res.StepS, res.PairsPerS, res.SeqPerS, res.Steps, res.MaxRSSMB)
	return nil
}
