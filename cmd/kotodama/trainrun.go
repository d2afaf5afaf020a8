package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/kotodama-ai/kotodama/internal/atomicfile"
	"github.com/kotodama-ai/kotodama/internal/progress"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/train"
)

// What `kotodama train` and `kotodama pretrain` share: the configuration
// keys of an optimization run, the compute setup, the Trainer with its
// checkpoints and resumption, metrics.jsonl and summary.json.

// runConfig holds the configuration keys both verbs read with the same
// meaning. Each verb's configuration embeds it (encoding/json flattens
// embedded structs, so the keys of the file stay as they are) and
// documents the keys in its own -h text.
type runConfig struct {
	Model           string   `json:"model"`
	Init            string   `json:"init"`
	Output          string   `json:"output"`
	Datasets        string   `json:"datasets"`
	Accumulate      int      `json:"accumulate"`
	Steps           int      `json:"steps"`
	Epochs          float64  `json:"epochs"`
	LR              float64  `json:"lr"`
	Warmup          *float64 `json:"warmup"`
	Schedule        string   `json:"schedule"`
	WeightDecay     *float64 `json:"weight_decay"`
	MaxGradNorm     *float64 `json:"max_grad_norm"`
	Dropout         *bool    `json:"dropout"`
	Seed            *uint64  `json:"seed"`
	Threads         int      `json:"threads"`
	LogEvery        int      `json:"log_every"`
	CheckpointEvery int      `json:"checkpoint_every"`
	KeepCheckpoints int      `json:"keep_checkpoints"`
}

// parseRunArgs parses the command line of kotodama train or pretrain
// (verb): -config FILE [-device cpu|cuda] [-json], and reads the
// configuration file into c. -h prints the flags, then help: the
// configuration's keys.
func parseRunArgs(e *env, verb, help string, args []string, c interface{ defaults() error }) (device string, asJSON bool, err error) {
	synopsis := verb + " -config FILE [-device cpu|cuda] [-json]"
	fs := newFlags(e, verb, synopsis)
	cfgPath := fs.String("config", "", "configuration `file` (JSON; see below)")
	js := fs.Bool("json", false, "print the run's summary as JSON")
	devName := deviceFlag(fs)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: kotodama %s\n\n", synopsis)
		fs.PrintDefaults()
		fmt.Fprintf(e.stderr, "\n%s", help)
	}
	if err := fs.Parse(args); err != nil {
		return "", false, err
	}
	if *cfgPath == "" {
		fs.Usage()
		return "", false, fmt.Errorf("%s: -config is required", verb)
	}
	if err := readConfig(*cfgPath, c); err != nil {
		return "", false, fmt.Errorf("%s: %w", verb, err)
	}
	return *devName, *js, nil
}

// readConfig reads the JSON configuration file at path into c and fills
// and checks its defaults. Unknown keys are an error: a misspelt key
// would otherwise silently train with the default.
func readConfig(path string, c interface{ defaults() error }) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := c.defaults(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// sharedDefaults fills the defaults of the shared keys and checks them.
// The peak learning rate's default, lr, is the verb's: pre-training
// starts from further away than fine-tuning.
func (c *runConfig) sharedDefaults(lr float64) error {
	f := func(p **float64, v float64) {
		if *p == nil {
			*p = &v
		}
	}
	f(&c.Warmup, 0.1)
	f(&c.WeightDecay, 0.01)
	f(&c.MaxGradNorm, 1)
	if c.Seed == nil {
		s := uint64(42)
		c.Seed = &s
	}
	if c.Dropout == nil {
		t := true
		c.Dropout = &t
	}
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Accumulate, 1)
	def(&c.LogEvery, 10)
	def(&c.CheckpointEvery, 200)
	def(&c.KeepCheckpoints, 2)
	if c.Init == "" {
		c.Init = "pretrained"
	}
	if c.Datasets == "" {
		c.Datasets = dataDir()
	}
	if c.Steps == 0 && c.Epochs == 0 {
		c.Epochs = 1
	}
	if c.LR == 0 {
		c.LR = lr
	}
	if c.Schedule == "" {
		c.Schedule = "linear"
	}
	switch {
	case c.Model == "":
		return errors.New(`"model" is required`)
	case c.Output == "":
		return errors.New(`"output" is required`)
	case c.Init != "pretrained" && c.Init != "random":
		return fmt.Errorf(`"init" is %q: want "pretrained" or "random"`, c.Init)
	case c.Accumulate < 1 || c.Steps < 0 || c.Epochs < 0 || c.Threads < 0:
		return errors.New(`"accumulate" must be positive; "steps", "epochs" and "threads" not negative`)
	case c.LR <= 0 || math.IsInf(c.LR, 0) || *c.Warmup < 0 || *c.WeightDecay < 0 || *c.MaxGradNorm < 0:
		return errors.New(`"lr" must be positive; "warmup", "weight_decay" and "max_grad_norm" not negative`)
	case c.LogEvery < 1 || c.CheckpointEvery < 1 || c.KeepCheckpoints < 1:
		return errors.New(`"log_every", "checkpoint_every" and "keep_checkpoints" must be positive`)
	}
	return (train.Schedule{LR: c.LR, Total: 1, Decay: train.Decay(c.Schedule)}).Validate()
}

// compute is what a run computes on: a pool of threads, and the Backend
// -device names (the CPU's runs on the pool).
type compute struct {
	threads int
	pool    *kernels.Pool
	be      kernels.Backend
	dev     *device
}

// openCompute starts threads workers (0: one per CPU) and opens the
// device named devName.
func openCompute(threads int, devName string) (*compute, error) {
	if threads == 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	pool := kernels.NewPool(threads)
	dev, err := openDevice(devName)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &compute{threads: threads, pool: pool, be: dev.cpuOr(kernels.NewCPUPool(pool)), dev: dev}, nil
}

// close releases the device, then the pool its CPU backend may run on.
func (c *compute) close() {
	c.dev.close()
	c.pool.Close()
}

// newTrainer returns a Trainer over params with the shared keys applied:
// AdamW on pool, the steps asked for (epochs count perEpoch batches), the
// learning-rate schedule, clipping, dropout and checkpoints in the output
// directory. The verb adds what is trained (Encoder, Loss and Data, or
// Objective) and SaveModel.
func (c *runConfig) newTrainer(params []train.Param, pool *kernels.Pool, perEpoch int) (*train.Trainer, error) {
	steps := c.Steps
	if steps == 0 {
		steps = max(1, int(math.Ceil(c.Epochs*float64(perEpoch)/float64(c.Accumulate))))
	}
	warmup := int(*c.Warmup)
	if *c.Warmup < 1 {
		warmup = int(math.Round(*c.Warmup * float64(steps)))
	}
	opt, err := train.NewAdamW(params, train.WithWeightDecay(*c.WeightDecay), train.WithPool(pool))
	if err != nil {
		return nil, err
	}
	return &train.Trainer{
		Opt:   opt,
		Steps: steps, Accumulate: c.Accumulate, MaxNorm: *c.MaxGradNorm,
		Schedule: train.Schedule{LR: c.LR, Warmup: warmup, Total: steps, Decay: train.Decay(c.Schedule)},
		Seed:     *c.Seed, Dropout: *c.Dropout,
		Dir: c.Output, CheckpointEvery: c.CheckpointEvery, Keep: c.KeepCheckpoints,
	}, nil
}

// resume continues tr from the newest checkpoint in its directory when
// there is one, and says so on w.
func resume(tr *train.Trainer, verb string, w io.Writer) error {
	switch err := tr.Resume(); {
	case err == nil:
		fmt.Fprintf(w, "%s: resuming %s at step %d of %d\n", verb, tr.Dir, tr.Step(), tr.Steps)
	case !errors.Is(err, train.ErrNoCheckpoint):
		return err
	}
	return nil
}

// runTrainer runs tr to its last step and finishes bar. Interrupted (ctx
// canceled), it first writes a checkpoint of the step reached, so that
// what was done is kept and running again resumes there.
func runTrainer(ctx context.Context, tr *train.Trainer, bar *progress.Bar, verb string, w io.Writer) error {
	err := tr.Run(ctx)
	bar.Finish()
	if errors.Is(err, context.Canceled) {
		if cerr := tr.Checkpoint(); cerr != nil {
			return errors.Join(err, cerr)
		}
		fmt.Fprintf(w, "%s: interrupted; checkpoint at step %d written, run again to resume\n", verb, tr.Step())
	}
	return err
}

// writeSummary writes a run's summary into dir/summary.json.
func writeSummary(dir string, summary any) error {
	b, err := json.MarshalIndent(summary, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "summary.json"), append(b, '\n'), 0o644)
}

// logLine is a line of metrics.jsonl: it knows the step it belongs to.
type logLine interface{ logStep() int }

// runLog is a run's metrics.jsonl, one JSON object of type L a line. It
// keeps the lines, those of an earlier invocation that it resumes
// included, for the curves and the summary.
type runLog[L logLine] struct {
	f     *os.File
	lines []L
}

// openRunLog opens the metrics.jsonl at path for appending. At step 0 (a
// fresh run) the file starts empty; resuming at a later step, it first
// drops the lines of the steps after it (they will be logged again) and a
// torn last line a killed run left, rewriting the file atomically.
func openRunLog[L logLine](path string, step int) (*runLog[L], error) {
	l := &runLog[L]{}
	if b, err := os.ReadFile(path); err == nil {
		var keep bytes.Buffer
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m L
			if json.Unmarshal(sc.Bytes(), &m) != nil || m.logStep() > step || step == 0 {
				continue // a torn last line, a step to redo, or a fresh run
			}
			l.lines = append(l.lines, m)
			keep.Write(sc.Bytes())
			keep.WriteByte('\n')
		}
		if err := atomicfile.WriteFile(path, keep.Bytes(), 0o644); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	l.f = f
	return l, nil
}

// write appends m as a line. The line goes to the file in one write, so
// that a run killed at any point leaves at most a torn last line.
func (l *runLog[L]) write(m L) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	l.lines = append(l.lines, m)
	_, err = l.f.Write(append(b, '\n'))
	return err
}

func (l *runLog[L]) close() error { return l.f.Close() }

// secondsSince is the time since start as metrics.jsonl's elapsed_s holds
// it: in seconds, to the millisecond.
func secondsSince(start time.Time) float64 {
	return math.Round(time.Since(start).Seconds()*1000) / 1000
}
