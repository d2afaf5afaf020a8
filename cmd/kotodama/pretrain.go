package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/data"
	"github.com/kotodama-ai/kotodama/internal/progress"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/pooling"
	"github.com/kotodama-ai/kotodama/retromae"
	"github.com/kotodama-ai/kotodama/tokenizer"
	"github.com/kotodama-ai/kotodama/train"
)

func init() {
	register(&command{
		name:  "pretrain",
		short: "pre-train an encoder with RetroMAE (masked auto-encoding) on plain Japanese text",
		run:   runPretrain,
	})
}

// pretrainConfigHelp documents every key of the configuration file;
// `kotodama pretrain -h` prints it.
const pretrainConfigHelp = `RetroMAE (Xiao et al. 2022, as FlagEmbedding's retromae_pretrain): the encoder reads the
text with 30% of its words masked and its [CLS] vector alone must let a one-layer decoder
rebuild the text with 50% of the words hidden from each position; both masked-LM losses are
minimized together. No labels are needed: any text of your domain will do.

The configuration is a JSON object (unknown keys are an error). Keys and defaults:

  model              (required) the model directory to start from: config.json and tokenizer
                     files, and the weights (model.safetensors, BertModel or BertForMaskedLM
                     names) unless init is "random". Its masked-LM head (cls.predictions.*) and
                     decoder layer (c_head.*, from an earlier run) are used when present,
                     initialized otherwise
  init               "pretrained" (default) or "random": initialize every weight as Hugging
                     Face's BERT does (std 0.02, from seed)
  output             (required) run directory: model/ (the final model: sentence-transformers
                     layout, weights under BertForMaskedLM names with c_head.*, which kotodama
                     train and Hugging Face load), checkpoints/, metrics.jsonl, curves.png,
                     summary.json
  text               files of plain text, one passage per line (or JSONL {"text": ...});
                     empty lines are skipped
  corpus             retrieval tasks whose documents are passages (default ["jaquad-train"]
                     when text is empty; see kotodama eval tasks)
  exclude_task       retrieval task whose articles and documents are left out of the corpus
                     passages, so that it stays a fair evaluation (default "jsquad-valid"; ""
                     for none)
  datasets           datasets directory (default $KOTODAMA_DATA or "datasets")
  max_passages       use at most this many passages, drawn by seed (default 0: all)
  max_seq_length     tokens per passage, special tokens included (default 128)
  word_rule          how tokens make words for whole-word masking: "auto" (default: from the
                     vocabulary), "wordpiece" (## continues a word), "metaspace" (a piece
                     without ▁ continues a word) or "tokens" (each token a word). A word longer
                     than the number of tokens to mask is masked token by token
  encoder_mask_ratio share of tokens masked in the encoder's input (default 0.3)
  decoder_mask_ratio share of tokens each decoder position cannot see (default 0.5)
  batch_size         passages per batch (default 16)
  accumulate         batches per optimizer step (default 1)
  steps              optimizer steps (default: epochs × batches per epoch / accumulate)
  epochs             passes over the passages when steps is 0 (default 1)
  lr                 peak learning rate (default 1e-4)
  warmup             warm-up steps, or a fraction of the steps when below 1 (default 0.1)
  schedule           "linear" (default), "cosine" or "constant" after warm-up
  weight_decay       AdamW decoupled weight decay; biases and LayerNorm excluded (default 0.01)
  max_grad_norm      clip the global gradient norm; 0 turns clipping off (default 1)
  dropout            train with the model's dropout (default true)
  seed               seeds passage order, masks, dropout and initialization (default 42)
  threads            threads to compute on (default all)
  log_every          steps between metrics.jsonl lines (default 10)
  checkpoint_every   steps between checkpoints (default 200); one is always written at the end
  keep_checkpoints   checkpoints kept (default 2)

A run killed at any point resumes from its last checkpoint when started again with the same
configuration and output, and ends with the weights an uninterrupted run would have.
`

type pretrainConfig struct {
	// model, init, output, datasets and the optimization keys (trainrun.go)
	runConfig
	Text             []string `json:"text"`
	Corpus           []string `json:"corpus"`
	ExcludeTask      *string  `json:"exclude_task"`
	MaxPassages      int      `json:"max_passages"`
	MaxSeqLength     int      `json:"max_seq_length"`
	WordRule         string   `json:"word_rule"`
	EncoderMaskRatio float64  `json:"encoder_mask_ratio"`
	DecoderMaskRatio float64  `json:"decoder_mask_ratio"`
	BatchSize        int      `json:"batch_size"`
}

// defaults fills the defaults and checks the configuration.
func (c *pretrainConfig) defaults() error {
	if err := c.sharedDefaults(1e-4); err != nil {
		return err
	}
	if c.ExcludeTask == nil {
		t := "jsquad-valid"
		c.ExcludeTask = &t
	}
	if c.MaxSeqLength == 0 {
		c.MaxSeqLength = 128
	}
	if c.BatchSize == 0 {
		c.BatchSize = 16
	}
	if len(c.Text) == 0 && len(c.Corpus) == 0 {
		c.Corpus = []string{"jaquad-train"}
	}
	if c.WordRule == "" {
		c.WordRule = "auto"
	}
	if c.EncoderMaskRatio == 0 {
		c.EncoderMaskRatio = 0.3
	}
	if c.DecoderMaskRatio == 0 {
		c.DecoderMaskRatio = 0.5
	}
	switch {
	case c.WordRule != "auto" && c.WordRule != "wordpiece" && c.WordRule != "metaspace" && c.WordRule != "tokens":
		return fmt.Errorf(`"word_rule" is %q: want "auto", "wordpiece", "metaspace" or "tokens"`, c.WordRule)
	case !(c.EncoderMaskRatio > 0 && c.EncoderMaskRatio < 1) || !(c.DecoderMaskRatio > 0 && c.DecoderMaskRatio < 1):
		return errors.New(`"encoder_mask_ratio" and "decoder_mask_ratio" must be in (0, 1)`)
	case c.MaxSeqLength < 3:
		return fmt.Errorf(`"max_seq_length" %d: a passage needs [CLS], a token and [SEP]`, c.MaxSeqLength)
	case c.BatchSize < 1 || c.MaxPassages < 0:
		return errors.New(`"batch_size" must be positive and "max_passages" not negative`)
	}
	return nil
}

// pretrainLine is one line of metrics.jsonl.
type pretrainLine struct {
	Step        int     `json:"step"`
	Loss        float64 `json:"loss"`
	EncoderLoss float64 `json:"encoder_loss"`
	DecoderLoss float64 `json:"decoder_loss"`
	LR          float64 `json:"lr"`
	GradNorm    float64 `json:"grad_norm"`
	SeqPerS     float64 `json:"seq_per_s"`
	Elapsed     float64 `json:"elapsed_s"`
}

func (l pretrainLine) logStep() int { return l.Step }

// pretrainSummary is what `kotodama pretrain -json` prints and
// summary.json holds.
type pretrainSummary struct {
	Output      string          `json:"output"`
	Model       string          `json:"model"`
	Steps       int             `json:"steps"`
	Passages    int             `json:"passages"`
	Tokens      int             `json:"tokens"`
	PerEpoch    int             `json:"batches_per_epoch"`
	WordRule    string          `json:"word_rule"`
	Initialized []string        `json:"initialized,omitempty"`
	FinalLoss   float64         `json:"final_loss"`
	FinalEnc    float64         `json:"final_encoder_loss"`
	FinalDec    float64         `json:"final_decoder_loss"`
	TrainS      float64         `json:"train_s"`
	ResumedAt   int             `json:"resumed_at,omitempty"`
	Config      *pretrainConfig `json:"config"`
	MaxRSSMB    float64         `json:"max_rss_mb"`
	Threads     int             `json:"threads"`
	Backend     string          `json:"backend"`
}

func runPretrain(ctx context.Context, e *env, args []string) error {
	c := &pretrainConfig{}
	devName, asJSON, err := parseRunArgs(e, "pretrain", pretrainConfigHelp, args, c)
	if err != nil {
		return err
	}
	r := &pretrainRun{cfg: c, e: e, device: devName}
	sum, err := r.run(ctx)
	if err != nil {
		return fmt.Errorf("pretrain: %w", err)
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(sum)
	}
	fmt.Fprintf(e.stdout, "pre-trained %d steps on %d passages in %.0fs; final loss %.4f (encoder %.4f, decoder %.4f); model in %s\n",
		sum.Steps, sum.Passages, sum.TrainS, sum.FinalLoss, sum.FinalEnc, sum.FinalDec, sum.Model)
	return nil
}

// pretrainRun is one `kotodama pretrain` invocation.
type pretrainRun struct {
	device  string // -device
	cfg     *pretrainConfig
	e       *env
	pool    *kernels.Pool
	be      kernels.Backend
	start   time.Time
	log     *runLog[pretrainLine]
	summary pretrainSummary
}

func (r *pretrainRun) run(ctx context.Context) (*pretrainSummary, error) {
	c := r.cfg
	r.start = time.Now()
	cp, err := openCompute(c.Threads, r.device)
	if err != nil {
		return nil, err
	}
	defer cp.close()
	r.pool, r.be = cp.pool, cp.be
	r.summary = pretrainSummary{Output: c.Output, Config: c, Threads: cp.threads, Backend: r.be.Name()}
	if st, err := os.Stat(c.Model); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("model %q: pre-training reads a model directory", c.Model)
	}
	if err := os.MkdirAll(c.Output, 0o755); err != nil {
		return nil, err
	}

	// The model, its tokenizer and the passages.
	m, err := r.loadModel()
	if err != nil {
		return nil, err
	}
	r.summary.Initialized = m.Fresh
	tok, err := tokenizer.Load(c.Model)
	if err != nil {
		return nil, err
	}
	if tok.VocabSize() > m.Encoder.Config.VocabSize {
		return nil, fmt.Errorf("the tokenizer has %d ids, the model's vocabulary %d", tok.VocabSize(), m.Encoder.Config.VocabSize)
	}
	if c.MaxSeqLength > m.Encoder.Config.MaxPositionEmbeddings {
		return nil, fmt.Errorf(`"max_seq_length" %d exceeds the model's %d positions`, c.MaxSeqLength, m.Encoder.Config.MaxPositionEmbeddings)
	}
	mask, ok := tok.TokenID("[MASK]")
	if !ok {
		if mask, ok = tok.TokenID("<mask>"); !ok {
			return nil, errors.New("the tokenizer has no [MASK] or <mask> token")
		}
	}
	rule := retromae.DetectWordRule(tok)
	if c.WordRule != "auto" {
		if rule, err = retromae.ParseWordRule(c.WordRule); err != nil {
			return nil, err
		}
	}
	r.summary.WordRule = rule.String()
	texts, err := r.passages(ctx)
	if err != nil {
		return nil, err
	}
	bar := progress.New(r.e.stderr, "pretrain: tokenizing", int64(len(texts)), "passages")
	var ps []retromae.Passage
	for _, t := range texts {
		p, err := retromae.Tokenize(tok, t, c.MaxSeqLength, rule)
		if err != nil {
			return nil, fmt.Errorf("tokenizing %.40q: %w", t, err)
		}
		bar.Add(1)
		if len(p.IDs) < 3 {
			continue // nothing to reconstruct
		}
		ps = append(ps, p)
		r.summary.Tokens += len(p.IDs)
	}
	bar.Finish()
	r.summary.Passages = len(ps)
	d := &retromae.Data{Passages: ps, BatchSize: c.BatchSize, Seed: *c.Seed, Collator: retromae.Collator{
		EncoderRatio: c.EncoderMaskRatio, DecoderRatio: c.DecoderMaskRatio,
		MaskID: int32(mask), PadID: int32(tok.PadID()), Vocab: tok.VocabSize()}}
	if d.PerEpoch() == 0 {
		return nil, fmt.Errorf("%d passages make no batch of %d", len(ps), c.BatchSize)
	}
	r.summary.PerEpoch = d.PerEpoch()

	obj, err := retromae.NewObjective(m, d)
	if err != nil {
		return nil, err
	}
	save, err := r.saver(m, obj.Params())
	if err != nil {
		return nil, err
	}
	tr, err := c.newTrainer(obj.Params(), r.pool, d.PerEpoch())
	if err != nil {
		return nil, err
	}
	tr.Objective, tr.SaveModel = obj, save.checkpoint
	steps := tr.Steps
	if err := resume(tr, "pretrain", r.e.stderr); err != nil {
		return nil, err
	}
	r.summary.ResumedAt = tr.Step()
	if r.log, err = openRunLog[pretrainLine](filepath.Join(c.Output, "metrics.jsonl"), tr.Step()); err != nil {
		return nil, err
	}
	defer r.log.close()

	bar = progress.New(r.e.stderr, "pretrain", int64(steps), "steps")
	bar.Add(int64(tr.Step()))
	// The step's losses: the mean over its micro-batches, as StepInfo.Loss.
	var encSum, decSum float64
	var micro int
	var last pretrainLine
	tr.Objective = &loggedObjective{Objective: obj, after: func(l retromae.Loss) {
		encSum += l.Encoder
		decSum += l.Decoder
		micro++
	}}
	tr.OnStep = func(s train.StepInfo) error {
		line := pretrainLine{Step: s.Step, Loss: s.Loss, EncoderLoss: encSum / float64(micro), DecoderLoss: decSum / float64(micro),
			LR: s.LR, GradNorm: s.GradNorm, SeqPerS: float64(s.Seqs) / s.Elapsed.Seconds()}
		encSum, decSum, micro = 0, 0, 0
		last = line
		bar.Add(1)
		bar.SetStatus("loss %.4f (encoder %.4f, decoder %.4f) lr %.2e", line.Loss, line.EncoderLoss, line.DecoderLoss, line.LR)
		if s.Step%c.LogEvery == 0 || s.Step == steps {
			line.Elapsed = secondsSince(r.start)
			return r.log.write(line)
		}
		return nil
	}
	if err := runTrainer(ctx, tr, bar, "pretrain", r.e.stderr); err != nil {
		return nil, err
	}
	final := filepath.Join(c.Output, "model")
	if err := save.final(final); err != nil {
		return nil, err
	}
	r.summary.Steps, r.summary.Model = steps, final
	if last.Step == 0 && len(r.log.lines) > 0 {
		last = r.log.lines[len(r.log.lines)-1]
	}
	r.summary.FinalLoss, r.summary.FinalEnc, r.summary.FinalDec = last.Loss, last.EncoderLoss, last.DecoderLoss
	r.summary.TrainS = time.Since(r.start).Seconds()
	r.summary.MaxRSSMB = maxRSSMB()
	if err := plotPretrain(filepath.Join(c.Output, "curves.png"), r.log.lines); err != nil {
		return nil, err
	}
	if err := writeSummary(c.Output, r.summary); err != nil {
		return nil, err
	}
	return &r.summary, nil
}

// loggedObjective reports each micro-batch's losses after running it.
type loggedObjective struct {
	*retromae.Objective
	after func(retromae.Loss)
}

func (o *loggedObjective) Backprop(ctx context.Context, i int, mode train.Mode, gradScale float32) (float64, int, error) {
	v, n, err := o.Objective.Backprop(ctx, i, mode, gradScale)
	if err == nil {
		o.after(o.Objective.Last)
	}
	return v, n, err
}

// loadModel reads the starting model, or initializes it from config.json
// alone for init "random".
func (r *pretrainRun) loadModel() (*retromae.Model, error) {
	c := r.cfg
	if c.Init == "pretrained" {
		return retromae.Load(r.be, c.Model, 0.02, *c.Seed)
	}
	bc, err := bert.LoadConfig(nil, c.Model)
	if err != nil {
		return nil, err
	}
	enc, err := bert.New(r.be, bc)
	if err != nil {
		return nil, err
	}
	train.InitBERT(enc.Params, bc, 0.02, *c.Seed)
	m, err := retromae.New(enc)
	if err != nil {
		return nil, err
	}
	m.Fresh = []string{"bert", retromae.PartHead, retromae.PartDecoder}
	return m, m.Init(m.Fresh[1:], 0.02, *c.Seed)
}

// passages reads the text files and corpus documents, leaving out the
// excluded task's, and keeps at most max_passages of them in a seeded
// draw.
func (r *pretrainRun) passages(ctx context.Context) ([]string, error) {
	c := r.cfg
	var out []string
	for _, name := range c.Text {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		for t, err := range readTexts(f) {
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
		f.Close()
	}
	var exclude func(title, text string) bool
	if *c.ExcludeTask != "" && len(c.Corpus) > 0 {
		t, err := data.LoadRetrieval(c.Datasets, *c.ExcludeTask)
		if err != nil {
			return nil, loadErr(err, c.Datasets)
		}
		exclude = data.ExcludeTask(t)
	}
	for _, name := range c.Corpus {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := data.LoadRetrieval(c.Datasets, name)
		if err != nil {
			return nil, loadErr(err, c.Datasets)
		}
		for _, d := range t.Docs {
			if exclude != nil && exclude(d.Title, d.Text) {
				continue
			}
			if s := strings.TrimSpace(d.Text); s != "" {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no passages: give text files or corpus tasks")
	}
	if c.MaxPassages > 0 && len(out) > c.MaxPassages {
		rng := rand.New(rand.NewPCG(*c.Seed, 0x70617373))
		rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		out = out[:c.MaxPassages]
	}
	return out, nil
}

// pretrainSaver writes the model directories of a run: checkpoints and
// the final model, in the sentence-transformers layout with every
// parameter (encoder, head, decoder) in model.safetensors.
type pretrainSaver struct {
	md  train.ModelDir
	enc *train.BERT
}

// saver prepares the model directory writer: the source's
// sentence-transformers modules and pooling when it has them, else [CLS]
// pooling, the vector RetroMAE trains.
func (r *pretrainRun) saver(m *retromae.Model, params []train.Param) (*pretrainSaver, error) {
	c := r.cfg
	H := m.Encoder.Config.HiddenSize
	pc := pooling.Config{Dim: H, Modes: []pooling.Mode{pooling.CLS}, IncludePrompt: true}
	if b, err := os.ReadFile(filepath.Join(c.Model, "1_Pooling", "config.json")); err == nil {
		if pc, err = pooling.ParseConfig(b); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(c.Model, "1_Pooling", "config.json"), err)
		}
	}
	pool, err := pooling.New(r.be, pc)
	if err != nil {
		return nil, err
	}
	enc, err := train.NewBERT(m.Encoder, pool)
	if err != nil {
		return nil, err
	}
	return &pretrainSaver{md: train.ModelDir{Source: c.Model, MaxSeqLength: c.MaxSeqLength, Params: params}, enc: enc}, nil
}

func (s *pretrainSaver) checkpoint(dir string) error { return s.md.Save(dir, s.enc) }
func (s *pretrainSaver) final(dir string) error      { return s.md.SaveFinal(dir, s.enc) }
