package train

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kotodama-ai/kotodama/loss"
)

// toySource draws batch i from a generator keyed by i.
type toySource struct{ b, negs, vocab int }

func (s toySource) Batch(i int) (Batch, error) {
	return randomBatch(rand.New(rand.NewPCG(99, uint64(i))), s.b, s.negs, s.vocab), nil
}

const (
	resumeSteps = 12
	resumeEvery = 2
)

// newTestTrainer builds the same run every time, of the toy encoder or
// of a real BERT (kind "toy" or "bert"): weights from a fixed seed or
// file, dropout on, GradCache, accumulation, clipping, warm-up + decay.
func newTestTrainer(t testing.TB, kind, dir string) *Trainer {
	var enc Encoder
	var save func(string) error
	vocab := 40
	switch kind {
	case "toy":
		m := newToy(rand.New(rand.NewPCG(1, 1)), vocab, 8, 0.1)
		enc = m
		save = func(dir string) error {
			return SaveParams(filepath.Join(dir, "model.safetensors"), m.Params(), nil, nil)
		}
	case "bert":
		e, src := testBERT(t)
		enc = e
		save = func(dir string) error { return ModelDir{Source: src}.Save(dir, e) }
		vocab = 1000
	default:
		t.Fatalf("unknown encoder %q", kind)
	}
	opt, err := NewAdamW(enc.Params())
	if err != nil {
		t.Fatal(err)
	}
	l, _ := loss.NewInfoNCE(loss.Symmetric())
	return &Trainer{
		Encoder: enc, Loss: l, Opt: opt, Data: toySource{4, 1, vocab},
		SaveModel: save,
		Steps:     resumeSteps, Accumulate: 2, MiniBatch: 5, MaxNorm: 1,
		Schedule: Schedule{LR: 1e-2, Warmup: 3, Total: resumeSteps, Decay: Linear},
		Seed:     7, Dropout: true, Dir: dir, CheckpointEvery: resumeEvery,
	}
}

// TestTrainChild is the training process the kill test starts and kills;
// it does nothing in a normal test run.
func TestTrainChild(t *testing.T) {
	dir := os.Getenv("KOTODAMA_TRAIN_CHILD")
	if dir == "" {
		t.Skip("helper process for TestKillAndResume")
	}
	pauseAt := os.Getenv("KOTODAMA_TRAIN_PAUSE") // "step N" or "ckpt STAGE N"
	tr := newTestTrainer(t, os.Getenv("KOTODAMA_TRAIN_KIND"), dir)
	pause := func(what string) {
		fmt.Println(what)
		if what == pauseAt {
			time.Sleep(time.Minute) // the parent kills us here
		}
	}
	checkpointHook = func(stage string) { pause(fmt.Sprintf("ckpt %s %d", stage, tr.Step())) }
	tr.OnStep = func(s StepInfo) error { pause(fmt.Sprintf("step %d", s.Step)); return nil }
	if err := tr.Resume(); err != nil && !errors.Is(err, ErrNoCheckpoint) {
		t.Fatal(err)
	}
	fmt.Printf("resumed %d\n", tr.Step())
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("done")
}

// runChild starts the training child on dir and SIGKILLs it as soon as it
// prints killAt (never when killAt is ""). It returns the step the child
// resumed from.
func runChild(t *testing.T, kind, dir, killAt string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestTrainChild$", "-test.v")
	cmd.Env = append(os.Environ(), "KOTODAMA_TRAIN_CHILD="+dir, "KOTODAMA_TRAIN_PAUSE="+killAt, "KOTODAMA_TRAIN_KIND="+kind)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	resumed, killed, done := -1, false, false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if s, ok := strings.CutPrefix(line, "resumed "); ok {
			resumed, _ = strconv.Atoi(s)
		}
		if line == "done" {
			done = true
		}
		if killAt != "" && line == killAt {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
			break
		}
	}
	err = cmd.Wait()
	switch {
	case killAt != "" && !killed:
		t.Fatalf("child never printed %q (err %v): %s", killAt, err, stderr.String())
	case killAt == "" && (err != nil || !done):
		t.Fatalf("child failed: %v: %s", err, stderr.String())
	}
	return resumed
}

// TestKillAndResume: a run SIGKILLed twice — once in the middle of writing
// a checkpoint, once in the middle of training between checkpoints — and
// resumed each time ends with weights bit-identical to an uninterrupted
// run; for the toy encoder and for BERT.
func TestKillAndResume(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("needs SIGKILL and subprocesses")
	}
	for _, kind := range []string{"toy", "bert"} {
		t.Run(kind, func(t *testing.T) {
			straight := t.TempDir()
			tr := newTestTrainer(t, kind, straight)
			if err := tr.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := finalWeights(t, straight)

			dir := t.TempDir()
			if got := runChild(t, kind, dir, "ckpt model 6"); got != 0 {
				t.Fatalf("first run resumed from %d", got)
			}
			// The kill left a half-written step-6 checkpoint; resume must use step 4.
			if got := runChild(t, kind, dir, "step 9"); got != 4 {
				t.Fatalf("second run resumed from step %d, want 4", got)
			}
			if got := runChild(t, kind, dir, ""); got != 8 {
				t.Fatalf("third run resumed from step %d, want 8", got)
			}
			got := finalWeights(t, dir)
			if !bytes.Equal(got, want) {
				t.Fatal("weights after kill and resume differ from the uninterrupted run")
			}
			ents, _ := os.ReadDir(filepath.Join(dir, checkpointsDir))
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), tmpPrefix) {
					t.Errorf("leftover %s", e.Name())
				}
			}
		})
	}
}

func finalWeights(t *testing.T, dir string) []byte {
	t.Helper()
	ck, err := LatestCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(ck, fmt.Sprintf("step-%08d", resumeSteps)) {
		t.Fatalf("latest checkpoint %s", ck)
	}
	b, err := os.ReadFile(filepath.Join(ck, "model", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResumeChecksSettings: a checkpoint written with other settings is
// refused rather than silently continued.
func TestResumeChecksSettings(t *testing.T) {
	dir := t.TempDir()
	tr := newTestTrainer(t, "toy", dir)
	tr.Steps = 2
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	other := newTestTrainer(t, "toy", dir)
	other.Seed = 8
	if err := other.Resume(); err == nil {
		t.Fatal("resumed a checkpoint written with another seed")
	}
	fresh := newTestTrainer(t, "toy", t.TempDir())
	if err := fresh.Resume(); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
		t.Fatalf("empty dir: %v", err)
	}
}
