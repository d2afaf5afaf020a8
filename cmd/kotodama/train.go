package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/data"
	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/eval"
	"github.com/kotodama-ai/kotodama/internal/progress"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/loss"
	"github.com/kotodama-ai/kotodama/pooling"
	"github.com/kotodama-ai/kotodama/train"
)

func init() {
	register(&command{
		name:  "train",
		short: "fine-tune an embedding model contrastively on JaQuAD / JNLI / JSICK / JSTS triples",
		run:   runTrain,
	})
}

// trainConfigHelp documents every key of the configuration file; `kotodama
// train -h` prints it.
const trainConfigHelp = `The configuration is a JSON object (unknown keys are an error). Keys and defaults:

  model            (required) the model to start from: a sentence-transformers or Hugging Face
                   BERT directory (config.json, model.safetensors, tokenizer files), or "org/name"
                   in the local Hugging Face cache
  init             "pretrained" (default: the model's weights) or "random": initialize every
                   weight as Hugging Face's BERT does (std 0.02, from seed) and train from scratch;
                   the model directory then needs only config.json and the tokenizer files (and
                   1_Pooling/config.json, else mean pooling); the initial model is saved as init/
  output           (required) run directory: model/ (the final model, sentence-transformers
                   layout), checkpoints/, metrics.jsonl, curves.png, summary.json
  datasets         datasets directory (default $KOTODAMA_DATA or "datasets")
  tasks            training tasks (default all): "jaquad-train" (question -> paragraph, another
                   paragraph of the article as hard negative), "jnli-valid", "jsick-train" (premise ->
                   entailed hypothesis, a contradiction as hard negative), "jsts-train" (pairs
                   scored >= 4). Evaluation articles (eval.task's corpus) are removed from them.
  hard_negatives   "article" (default) or "bm25": JaQuAD's hard negative is the best BM25
                   paragraph (CJK bigrams) that is not the question's and holds no answer
  prefixes         instruction prefixes per task: {"jaquad-train": {"query": "クエリ: ",
                   "document": "文章: "}, "*": {...}}; "*" applies to unlisted tasks (default none)
  max_seq_length   tokens per text, special tokens included (default: the model's)
  batch_size       (query, positive) pairs per batch, all from one task (default 32)
  mini_batch       GradCache mini-batch in sequences; 0 (default) encodes a batch at once
  accumulate       batches per optimizer step (default 1)
  steps            optimizer steps (default: epochs × batches per epoch / accumulate)
  epochs           passes over the data when steps is 0 (default 1)
  lr               peak learning rate (default 5e-5)
  warmup           warm-up steps, or a fraction of the steps when below 1 (default 0.1)
  schedule         "linear" (default), "cosine" or "constant" after warm-up
  weight_decay     AdamW decoupled weight decay; biases and LayerNorm excluded (default 0.01)
  max_grad_norm    clip the global gradient norm; 0 turns clipping off (default 1)
  scale            InfoNCE scale (default 20); or temperature (scale = 1/temperature)
  temperature      see scale
  similarity       "cosine" (default) or "dot"
  symmetric        also rank anchors for each positive (MultipleNegativesSymmetricRankingLoss)
  query_negatives  use the other queries of a batch as negatives too
  dropout          train with the model's dropout (default true)
  seed             seeds data order, dropout and "random" init (default 42)
  threads          threads to compute on (default all)
  log_every        steps between metrics.jsonl lines (default 10)
  checkpoint_every steps between checkpoints (default 200); one is always written at the end
  keep_checkpoints checkpoints kept (default 2)
` + latentTrainHelp + `  eval.task        retrieval task evaluated before, during and after training (default
                   "jsquad-valid"; "" for none); nDCG@10 and friends go to metrics.jsonl
  eval.every       steps between evaluations (default: checkpoint_every)
  eval.prefix      {"query": ..., "document": ...} prompts for the evaluation (default: the
                   prefixes of jaquad-train, else "*"); also saved as the model's prompts
  eval.batch_size  texts per encoder call while evaluating (default 64)
  eval.bm25        evaluate BM25 (CJK bigrams) on the same task for comparison (default true)

A run killed at any point resumes from its last checkpoint when started again with the same
configuration and output, and ends with the weights an uninterrupted run would have.
`

type trainConfig struct {
	// model, init, output, datasets and the optimization keys (trainrun.go)
	runConfig
	Tasks           []string                `json:"tasks"`
	HardNegatives   string                  `json:"hard_negatives"`
	Prefixes        map[string]train.Prefix `json:"prefixes"`
	MaxSeqLength    int                     `json:"max_seq_length"`
	BatchSize       int                     `json:"batch_size"`
	MiniBatch       int                     `json:"mini_batch"`
	Scale           float64                 `json:"scale"`
	Temperature     float64                 `json:"temperature"`
	Similarity      string                  `json:"similarity"`
	Symmetric       bool                    `json:"symmetric"`
	QueryNegatives  bool                    `json:"query_negatives"`
	LatentAttention *latentTrainConfig      `json:"latent_attention"` // train_latent.go
	FreezeEncoder   bool                    `json:"freeze_encoder"`
	Eval            struct {
		Task      *string       `json:"task"`
		Every     int           `json:"every"`
		Prefix    *train.Prefix `json:"prefix"`
		BatchSize int           `json:"batch_size"`
		BM25      *bool         `json:"bm25"`
	} `json:"eval"`
}

// defaults fills the defaults and checks the configuration.
func (c *trainConfig) defaults() error {
	if err := c.sharedDefaults(5e-5); err != nil {
		return err
	}
	if len(c.Tasks) == 0 {
		for _, t := range data.TrainingTasks() {
			c.Tasks = append(c.Tasks, t.Name)
		}
	}
	if c.HardNegatives == "" {
		c.HardNegatives = "article"
	}
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.Similarity == "" {
		c.Similarity = "cosine"
	}
	if c.Eval.Task == nil {
		t := "jsquad-valid"
		c.Eval.Task = &t
	}
	if c.Eval.Every == 0 {
		c.Eval.Every = c.CheckpointEvery
	}
	if c.Eval.BatchSize == 0 {
		c.Eval.BatchSize = 64
	}
	if c.Eval.BM25 == nil {
		t := true
		c.Eval.BM25 = &t
	}
	if c.Eval.Prefix == nil {
		p, ok := c.Prefixes["jaquad-train"]
		if !ok {
			p = c.Prefixes["*"]
		}
		c.Eval.Prefix = &p
	}
	switch {
	case c.HardNegatives != "article" && c.HardNegatives != "bm25":
		return fmt.Errorf(`"hard_negatives" is %q: want "article" or "bm25"`, c.HardNegatives)
	case c.BatchSize < 2:
		return fmt.Errorf(`"batch_size" %d: in-batch negatives need at least 2`, c.BatchSize)
	case c.MiniBatch < 0:
		return errors.New(`"mini_batch" must not be negative`)
	case c.Scale != 0 && c.Temperature != 0:
		return errors.New(`give "scale" or "temperature", not both`)
	case c.Scale < 0 || c.Temperature < 0:
		return errors.New(`"scale" and "temperature" must be positive`)
	case c.Similarity != "cosine" && c.Similarity != "dot":
		return fmt.Errorf(`"similarity" is %q: want "cosine" or "dot"`, c.Similarity)
	case c.Eval.Every < 1 || c.Eval.BatchSize < 1:
		return errors.New(`"eval.every" and "eval.batch_size" must be positive`)
	}
	return c.latentDefaults()
}

// metricLine is one line of metrics.jsonl: a training step's numbers, or
// an evaluation (Eval set) at a step.
type metricLine struct {
	Step     int                `json:"step"`
	Loss     *float64           `json:"loss,omitempty"`
	LR       *float64           `json:"lr,omitempty"`
	GradNorm *float64           `json:"grad_norm,omitempty"`
	SeqPerS  *float64           `json:"seq_per_s,omitempty"`
	Task     string             `json:"task,omitempty"`
	Elapsed  float64            `json:"elapsed_s"`
	Eval     map[string]float64 `json:"eval,omitempty"`
	System   string             `json:"system,omitempty"`
}

func (m metricLine) logStep() int { return m.Step }

// trainSummary is what `kotodama train -json` prints and summary.json holds.
type trainSummary struct {
	Output     string             `json:"output"`
	Model      string             `json:"model"`
	Steps      int                `json:"steps"`
	Triples    map[string]int     `json:"triples"`
	PerEpoch   int                `json:"batches_per_epoch"`
	FinalLoss  float64            `json:"final_loss"`
	TrainS     float64            `json:"train_s"`
	EvalTask   string             `json:"eval_task,omitempty"`
	BM25       map[string]float64 `json:"bm25,omitempty"`
	Before     map[string]float64 `json:"before,omitempty"`
	After      map[string]float64 `json:"after,omitempty"`
	ResumedAt  int                `json:"resumed_at,omitempty"`
	Config     *trainConfig       `json:"config"`
	MaxRSSMB   float64            `json:"max_rss_mb"`
	Threads    int                `json:"threads"`
	Backend    string             `json:"backend"`
	Interrupts string             `json:"interrupted,omitempty"`
}

func runTrain(ctx context.Context, e *env, args []string) error {
	c := &trainConfig{}
	devName, asJSON, err := parseRunArgs(e, "train", trainConfigHelp, args, c)
	if err != nil {
		return err
	}
	r := &trainRun{cfg: c, e: e, device: devName}
	sum, err := r.run(ctx)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(sum)
	}
	fmt.Fprintf(e.stdout, "trained %d steps in %.0fs; final loss %.4f; model in %s\n", sum.Steps, sum.TrainS, sum.FinalLoss, sum.Model)
	if sum.EvalTask != "" {
		fmt.Fprintf(e.stdout, "%s nDCG@10: before %.4f, after %.4f; BM25 %.4f\n", sum.EvalTask,
			sum.Before["ndcg@10"], sum.After["ndcg@10"], sum.BM25["ndcg@10"])
	}
	return nil
}

// trainRun is one `kotodama train` invocation.
type trainRun struct {
	device    string // -device
	cfg       *trainConfig
	e         *env
	pool      *kernels.Pool
	be        kernels.Backend
	tokens    *embed.Model // tokenization and model settings, as Encode uses them
	enc       train.Encoder
	save      func(dir string) error // writes the model as it is now (newEncoder)
	saveFinal func(dir string) error
	md        train.ModelDir
	evalT     *data.Retrieval
	log       *runLog[metricLine]
	start     time.Time
	summary   trainSummary
}

func (r *trainRun) run(ctx context.Context) (*trainSummary, error) {
	c := r.cfg
	r.start = time.Now()
	cp, err := openCompute(c.Threads, r.device)
	if err != nil {
		return nil, err
	}
	defer cp.close()
	r.pool, r.be = cp.pool, cp.be
	r.summary = trainSummary{Output: c.Output, Config: c, Threads: cp.threads, Backend: r.be.Name(), Triples: map[string]int{}}
	if err := os.MkdirAll(c.Output, 0o755); err != nil {
		return nil, err
	}

	// The model: embed for tokenization exactly as inference does it,
	// bert for a trainable copy of the weights. A random initialization
	// is first written out as a model directory of its own (output/init),
	// so that it loads, evaluates and resumes like any other.
	src := c.Model
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("model %q: training reads a model directory (resolve a Hugging Face name to its snapshot directory)", src)
	}
	if c.Init == "random" {
		var err error
		if src, err = r.randomInit(); err != nil {
			return nil, err
		}
	}
	var loadOpts []embed.LoadOption
	if c.MaxSeqLength > 0 {
		loadOpts = append(loadOpts, embed.WithMaxSeqLength(c.MaxSeqLength))
	}
	em, err := embed.Load(src, loadOpts...)
	if err != nil {
		return nil, err
	}
	defer em.Close()
	r.tokens = em
	bm, err := bert.Load(r.be, src)
	if err != nil {
		return nil, err
	}
	if !*c.Dropout {
		bm.Config.HiddenDropoutProb, bm.Config.AttentionProbsDropoutProb = 0, 0
	}
	if err := r.newEncoder(bm, em); err != nil {
		return nil, err
	}
	prompts := map[string]string{}
	if p := *c.Eval.Prefix; p.Query != "" || p.Document != "" {
		prompts["query"], prompts["document"] = p.Query, p.Document
	}
	r.md = train.ModelDir{Source: src, MaxSeqLength: em.MaxSeqLength(), Prompts: prompts}

	// Evaluation task, BM25 baseline, and the data with the evaluation
	// articles removed.
	bar := progress.New(r.e.stderr, "train: preparing", 0, "")
	var exclude func(title, paragraph string) bool
	if *c.Eval.Task != "" {
		if r.evalT, err = data.LoadRetrieval(c.Datasets, *c.Eval.Task); err != nil {
			return nil, loadErr(err, c.Datasets)
		}
		exclude = data.ExcludeTask(r.evalT)
		r.summary.EvalTask = r.evalT.Name
	}
	opts := []data.TripleOption{data.WithSeed(*c.Seed)}
	if exclude != nil {
		opts = append(opts, data.WithExclude(exclude))
	}
	if c.HardNegatives == "bm25" {
		opts = append(opts, data.WithMiner(bm25Miner))
	}
	var sets []*data.TripleSet
	for _, name := range c.Tasks {
		s, err := data.LoadTriples(ctx, c.Datasets, name, opts...)
		if err != nil {
			return nil, loadErr(err, c.Datasets)
		}
		for _, set := range s {
			r.summary.Triples[set.Task] = len(set.Triples)
		}
		sets = append(sets, s...)
	}
	bar.Finish()
	tokenize := func(text string) (train.Seq, error) {
		ids, err := em.TokenIDs(text, "")
		return train.Seq(ids), err
	}
	src2, err := train.NewTaskBatches(sets, c.BatchSize, *c.Seed, tokenize, c.Prefixes)
	if err != nil {
		return nil, err
	}
	r.summary.PerEpoch = src2.PerEpoch()

	lossOpts := []loss.Option{loss.WithScale(20)}
	switch {
	case c.Scale > 0:
		lossOpts = []loss.Option{loss.WithScale(c.Scale)}
	case c.Temperature > 0:
		lossOpts = []loss.Option{loss.WithTemperature(c.Temperature)}
	}
	if c.Similarity == "dot" {
		lossOpts = append(lossOpts, loss.WithSimilarity(loss.Dot))
	}
	if c.Symmetric {
		lossOpts = append(lossOpts, loss.Symmetric())
	}
	if c.QueryNegatives {
		lossOpts = append(lossOpts, loss.WithQueryNegatives())
	}
	l, err := loss.NewInfoNCE(lossOpts...)
	if err != nil {
		return nil, err
	}
	tr, err := c.newTrainer(r.enc.Params(), r.pool, src2.PerEpoch())
	if err != nil {
		return nil, err
	}
	tr.Encoder, tr.Loss, tr.Data, tr.MiniBatch, tr.SaveModel = r.enc, l, src2, c.MiniBatch, r.save
	steps := tr.Steps
	if err := resume(tr, "train", r.e.stderr); err != nil {
		return nil, err
	}
	r.summary.ResumedAt = tr.Step()
	if r.log, err = openRunLog[metricLine](filepath.Join(c.Output, "metrics.jsonl"), tr.Step()); err != nil {
		return nil, err
	}
	defer r.log.close()

	if r.evalT != nil && tr.Step() == 0 {
		if *c.Eval.BM25 {
			if err := r.evalBM25(ctx); err != nil {
				return nil, err
			}
		}
		res, err := r.evalModel(ctx, src, 0)
		if err != nil {
			return nil, err
		}
		r.summary.Before = res
	}

	bar = progress.New(r.e.stderr, "train", int64(steps), "steps")
	bar.Add(int64(tr.Step()))
	var last train.StepInfo
	tr.OnStep = func(s train.StepInfo) error {
		last = s
		bar.Add(1)
		task, _, _ := src2.Locate((s.Step - 1) * c.Accumulate)
		bar.SetStatus("loss %.4f lr %.2e %s", s.Loss, s.LR, task)
		if s.Step%c.LogEvery == 0 || s.Step == steps {
			loss, lr, gn, sps := s.Loss, s.LR, s.GradNorm, float64(s.Seqs)/s.Elapsed.Seconds()
			if err := r.write(metricLine{Step: s.Step, Loss: &loss, LR: &lr, GradNorm: &gn, SeqPerS: &sps, Task: task}); err != nil {
				return err
			}
		}
		if r.evalT != nil && s.Step%c.Eval.Every == 0 && s.Step != steps {
			dir, err := os.MkdirTemp(c.Output, ".eval-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if err := r.save(dir); err != nil {
				return err
			}
			if _, err := r.evalModel(ctx, dir, s.Step); err != nil {
				return err
			}
		}
		return nil
	}
	if err := runTrainer(ctx, tr, bar, "train", r.e.stderr); err != nil {
		return nil, err
	}
	r.summary.Steps = steps
	r.summary.FinalLoss = last.Loss
	final := filepath.Join(c.Output, "model")
	if err := r.saveFinal(final); err != nil {
		return nil, err
	}
	r.summary.Model = final
	if r.evalT != nil {
		res, err := r.evalModel(ctx, final, steps)
		if err != nil {
			return nil, err
		}
		r.summary.After = res
		r.fillFromLog()
	}
	r.summary.TrainS = time.Since(r.start).Seconds()
	r.summary.MaxRSSMB = maxRSSMB()
	if err := plotCurves(filepath.Join(c.Output, "curves.png"), r.log.lines); err != nil {
		return nil, err
	}
	if err := writeSummary(c.Output, r.summary); err != nil {
		return nil, err
	}
	return &r.summary, nil
}

// randomInit writes output/init: the model directory's config, tokenizer
// and modules with weights drawn as Hugging Face's BERT initializes them
// (from seed); the source needs no weights. Pooling is the source's
// 1_Pooling/config.json, or mean pooling. An existing output/init (a
// resumed run) is kept.
func (r *trainRun) randomInit() (string, error) {
	c := r.cfg
	dir := filepath.Join(c.Output, "init")
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		return dir, nil
	}
	bc, err := bert.LoadConfig(nil, c.Model)
	if err != nil {
		return "", err
	}
	// Drawn and written on the CPU whatever -device says: the values are
	// the same, and a GPU would hold the extra copy until the run ends.
	cpu := kernels.NewCPUPool(r.pool)
	bm, err := bert.New(cpu, bc)
	if err != nil {
		return "", err
	}
	train.InitBERT(bm.Params, bc, 0.02, *c.Seed)
	pc := pooling.Config{Dim: bc.HiddenSize, Modes: []pooling.Mode{pooling.Mean}, IncludePrompt: true}
	if b, err := os.ReadFile(filepath.Join(c.Model, "1_Pooling", "config.json")); err == nil {
		if pc, err = pooling.ParseConfig(b); err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Join(c.Model, "1_Pooling", "config.json"), err)
		}
	}
	pool, err := pooling.New(cpu, pc)
	if err != nil {
		return "", err
	}
	enc, err := train.NewBERT(bm, pool)
	if err != nil {
		return "", err
	}
	return dir, train.ModelDir{Source: c.Model, MaxSeqLength: c.MaxSeqLength}.SaveFinal(dir, enc)
}

func (r *trainRun) write(m metricLine) error {
	m.Elapsed = secondsSince(r.start)
	return r.log.write(m)
}

// fillFromLog takes the BM25 and before-training numbers from the log
// when this invocation resumed after them.
func (r *trainRun) fillFromLog() {
	for _, m := range r.log.lines {
		switch {
		case m.System == "bm25" && r.summary.BM25 == nil:
			r.summary.BM25 = m.Eval
		case m.System == "model" && m.Step == 0 && r.summary.Before == nil:
			r.summary.Before = m.Eval
		}
	}
}

// evalModel evaluates the model directory dir on the evaluation task with
// the evaluation prompts, exactly as embed.Load and Encode run it, and logs
// the metrics at step.
func (r *trainRun) evalModel(ctx context.Context, dir string, step int) (map[string]float64, error) {
	c := r.cfg
	var opts []embed.LoadOption
	if c.MaxSeqLength > 0 {
		opts = append(opts, embed.WithMaxSeqLength(c.MaxSeqLength))
	}
	opts = append(opts, embed.WithBackend(r.be))
	m, err := embed.Load(dir, opts...)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	p := *c.Eval.Prefix
	encode := func(prompt string) eval.EncodeFunc {
		return func(ctx context.Context, texts []string) ([][]float32, error) {
			return m.Encode(ctx, texts, embed.WithPrompt(prompt), embed.WithBatchSize(c.Eval.BatchSize))
		}
	}
	nd := len(r.evalT.Docs)
	bar := progress.New(r.e.stderr, fmt.Sprintf("eval %s at step %d", r.evalT.Name, step), int64(nd+len(r.evalT.Queries)), "texts")
	defer bar.Finish()
	var shown int64
	show := func(done int64) { bar.Add(done - shown); shown = done }
	dense, err := eval.NewDense(ctx, r.evalT.DocTexts(false), eval.Encoder{Query: encode(p.Query), Document: encode(p.Document)},
		eval.WithBatchSize(256), eval.WithEncodeProgress(func(done, _ int) { show(int64(done)) }))
	if err != nil {
		return nil, err
	}
	res, err := eval.EvaluateRetrieval(ctx, r.evalT, dense, eval.WithCutoffs(1, 3, 5, 10), eval.WithSystem("model"),
		eval.WithProgress(func(done, _ int) { show(int64(nd + done)) }))
	if err != nil {
		return nil, err
	}
	out := metricsMap(res.Metrics)
	return out, r.write(metricLine{Step: step, Eval: out, System: "model", Task: r.evalT.Name})
}

func (r *trainRun) evalBM25(ctx context.Context) error {
	bm, err := eval.NewBM25(ctx, r.evalT.DocTexts(false))
	if err != nil {
		return err
	}
	res, err := eval.EvaluateRetrieval(ctx, r.evalT, bm, eval.WithCutoffs(1, 3, 5, 10), eval.WithSystem("bm25"))
	if err != nil {
		return err
	}
	r.summary.BM25 = metricsMap(res.Metrics)
	return r.write(metricLine{Step: 0, Eval: r.summary.BM25, System: "bm25", Task: r.evalT.Name})
}

func metricsMap(ms eval.Metrics) map[string]float64 {
	out := make(map[string]float64, len(ms))
	for _, m := range ms {
		out[m.Name] = m.Value
	}
	return out
}

// bm25Miner ranks paragraphs for questions with BM25 over CJK bigrams.
func bm25Miner(ctx context.Context, queries, docs []string, k int) ([][]int, error) {
	ix, err := eval.NewBM25(ctx, docs)
	if err != nil {
		return nil, err
	}
	hits, err := ix.Search(ctx, queries, k)
	if err != nil {
		return nil, err
	}
	out := make([][]int, len(hits))
	for i, h := range hits {
		for _, x := range h {
			out[i] = append(out[i], x.Doc)
		}
	}
	return out, nil
}
