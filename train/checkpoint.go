package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kotodama-ai/kotodama/internal/atomicfile"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// A checkpoint is a directory Dir/checkpoints/step-NNNNNNNN holding
//
//	model/                  the model as SaveModel writes it
//	optimizer.safetensors   AdamW moments and step (AdamW.SaveState)
//	trainer_state.json      step, seed and run settings (TrainerState)
//
// It is assembled in a hidden temporary directory and renamed into place
// once every file is synced, then Dir/checkpoints/latest is rewritten
// atomically to name it. A run killed at any moment leaves latest naming
// a complete checkpoint (or no latest at all); leftovers of an unfinished
// one are removed by the next Resume.

// TrainerState is what a checkpoint records besides weights and
// optimizer moments. The data position and every random draw derive from
// Step and Seed, so nothing else is needed to continue.
type TrainerState struct {
	Step       int    `json:"step"`
	Steps      int    `json:"steps"`
	Seed       uint64 `json:"seed"`
	Accumulate int    `json:"accumulate"`
	MiniBatch  int    `json:"mini_batch"`
}

// ErrNoCheckpoint is returned by Resume when Dir has no checkpoint.
var ErrNoCheckpoint = errors.New("train: no checkpoint")

const (
	checkpointsDir = "checkpoints"
	latestFile     = "latest"
	tmpPrefix      = ".tmp-"
)

// checkpointHook, when set (by tests), is called at named points of
// writing a checkpoint, so a test can kill the process mid-write.
var checkpointHook func(stage string)

func (t *Trainer) state() TrainerState {
	return TrainerState{Step: t.step, Steps: t.Steps, Seed: t.Seed, Accumulate: max(1, t.Accumulate), MiniBatch: t.MiniBatch}
}

// Checkpoint writes a checkpoint of the current step now.
func (t *Trainer) Checkpoint() error {
	if t.Dir == "" || t.SaveModel == nil {
		return errors.New("train: Checkpoint needs Dir and SaveModel")
	}
	root := filepath.Join(t.Dir, checkpointsDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	name := fmt.Sprintf("step-%08d", t.step)
	tmp, err := mkdirTemp(root, tmpPrefix+name+"-")
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	fail := func(err error) error {
		os.RemoveAll(tmp)
		return fmt.Errorf("train: checkpoint %s: %w", name, err)
	}
	modelDir := filepath.Join(tmp, "model")
	if err := os.Mkdir(modelDir, 0o755); err != nil {
		return fail(err)
	}
	if err := t.SaveModel(modelDir); err != nil {
		return fail(err)
	}
	if checkpointHook != nil {
		checkpointHook("model")
	}
	if err := t.Opt.SaveState(filepath.Join(tmp, "optimizer.safetensors")); err != nil {
		return fail(err)
	}
	st, _ := json.MarshalIndent(t.state(), "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(tmp, "trainer_state.json"), append(st, '\n'), 0o644); err != nil {
		return fail(err)
	}
	if err := syncTree(tmp); err != nil {
		return fail(err)
	}
	final := filepath.Join(root, name)
	if err := os.RemoveAll(final); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	syncDir(root)
	if checkpointHook != nil {
		checkpointHook("renamed")
	}
	if err := atomicfile.WriteFile(filepath.Join(root, latestFile), []byte(name+"\n"), 0o644); err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", name, err)
	}
	return t.prune(root, name)
}

// prune removes all but the newest Keep checkpoints (never the latest).
func (t *Trainer) prune(root, latest string) error {
	keep := t.Keep
	if keep == 0 {
		keep = 2
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "step-") && e.Name() != latest {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for len(names) > keep-1 {
		if err := os.RemoveAll(filepath.Join(root, names[0])); err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
		names = names[1:]
	}
	return nil
}

// LatestCheckpoint returns the directory of the newest complete
// checkpoint under dir, or an error wrapping ErrNoCheckpoint.
func LatestCheckpoint(dir string) (string, error) {
	root := filepath.Join(dir, checkpointsDir)
	b, err := os.ReadFile(filepath.Join(root, latestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w in %s", ErrNoCheckpoint, dir)
	}
	if err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	name := strings.TrimSpace(string(b))
	if !strings.HasPrefix(name, "step-") || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("train: %s names %q, not a checkpoint", filepath.Join(root, latestFile), name)
	}
	return filepath.Join(root, name), nil
}

// Resume restores the newest checkpoint under Dir: the weights into the
// Encoder's parameters, the optimizer moments and the step count. It
// returns an error wrapping ErrNoCheckpoint when there is none (start
// from scratch then). The run's settings (Steps aside) must match the
// checkpoint's.
func (t *Trainer) Resume() error {
	if t.Dir == "" {
		return fmt.Errorf("%w: no Dir", ErrNoCheckpoint)
	}
	root := filepath.Join(t.Dir, checkpointsDir)
	if ents, err := os.ReadDir(root); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				os.RemoveAll(filepath.Join(root, e.Name()))
			}
		}
	}
	dir, err := LatestCheckpoint(t.Dir)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "trainer_state.json"))
	if err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	var st TrainerState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("train: resume: %s: %w", filepath.Join(dir, "trainer_state.json"), err)
	}
	want := t.state()
	if st.Seed != want.Seed || st.Accumulate != want.Accumulate || st.MiniBatch != want.MiniBatch {
		return fmt.Errorf("train: resume: %s was written with seed %d, accumulate %d, mini-batch %d; this run has %d, %d, %d",
			dir, st.Seed, st.Accumulate, st.MiniBatch, want.Seed, want.Accumulate, want.MiniBatch)
	}
	if err := LoadParams(filepath.Join(dir, "model", "model.safetensors"), t.params()); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	if err := t.Opt.LoadState(filepath.Join(dir, "optimizer.safetensors")); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	if t.Opt.Steps() != st.Step {
		return fmt.Errorf("train: resume: %s: optimizer at step %d, trainer at %d", dir, t.Opt.Steps(), st.Step)
	}
	t.step = st.Step
	return nil
}

// LoadParams copies the tensors of a safetensors file into the parameters
// of the same names; every parameter must be there with its shape.
func LoadParams(path string, params []Param) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range params {
		ts, err := f.Tensor(p.Name)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if !slices.Equal(ts.Shape, p.Shape) {
			return fmt.Errorf("%s: tensor %q has shape %v, the model's parameter %v", path, p.Name, ts.Shape, p.Shape)
		}
		if h := p.Value.Host(); h != nil || p.Value.Len() == 0 {
			if err := ts.Float32s(h); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			continue
		}
		// A parameter on a GPU: decode on the host, then upload.
		v := make([]float32, p.Value.Len())
		if err := ts.Float32s(v); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := writeBuf(p.Value, v); err != nil {
			return fmt.Errorf("%s: %s: %w", path, p.Name, err)
		}
	}
	return nil
}

// SaveParams writes params to path as F32 safetensors, atomically,
// together with extra tensors (those of the model that are not trained,
// say) unless a parameter has the same name.
func SaveParams(path string, params []Param, extra []safetensors.Tensor, metadata map[string]string) error {
	ts := make([]safetensors.Tensor, 0, len(params)+len(extra))
	have := map[string]bool{}
	for _, p := range params {
		v, err := readBuf(p.Value) // a copy when the parameter is on a GPU
		if err != nil {
			return fmt.Errorf("train: saving %s: %w", p.Name, err)
		}
		ts = append(ts, safetensors.Float32(p.Name, p.Shape, v))
		have[p.Name] = true
	}
	for _, e := range extra {
		if !have[e.Name] {
			ts = append(ts, e)
		}
	}
	return safetensors.WriteFile(path, ts, metadata)
}

// mkdirTemp is os.MkdirTemp for a directory that becomes a model or a
// checkpoint once renamed into place: MkdirTemp makes it private (0700),
// and what it becomes is for others to read, as os.MkdirAll makes it.
func mkdirTemp(parent, pattern string) (string, error) {
	tmp, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return tmp, nil
}

// syncTree fsyncs every file and directory under dir, so a rename of dir
// publishes durable contents.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		serr := f.Sync()
		cerr := f.Close()
		if serr != nil && !d.IsDir() {
			return serr
		}
		return cerr
	})
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
