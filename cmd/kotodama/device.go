package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/index"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/pooling"
)

// device is what a verb's -device flag names: the CPU, or a GPU in
// builds with -tags cuda (device_cuda.go).
type device struct {
	name string
	// backend is the GPU's kernels.Backend; nil for the CPU, where each
	// verb makes its own on its -threads pool.
	backend kernels.Backend
	// toGPU copies an index into GPU memory for searching, returning the
	// function that frees the copy; nil on the CPU.
	toGPU func(ix *index.Index) (indexSearcher, func() error, error)
	close func() error
}

// indexSearcher is an Index, or its copy on a GPU.
type indexSearcher interface {
	SearchBatch(ctx context.Context, queries []float32, k int) ([][]index.Hit, error)
}

const deviceUsage = "compute on `dev`: cpu, or cuda (GPU 0), cuda:N (GPU N), optionally with :tf32 or :bf16 for faster, less exact matrix products (cuda:0:tf32); a GPU needs a build with -tags cuda"

// deviceFlag adds -device to a verb's flags.
func deviceFlag(fs *flag.FlagSet) *string { return fs.String("device", "cpu", deviceUsage) }

// openDevice opens what -device names.
func openDevice(name string) (*device, error) {
	switch {
	case name == "" || name == "cpu":
		return &device{name: "cpu", close: func() error { return nil }}, nil
	case name == "cuda" || strings.HasPrefix(name, "cuda:"):
		return openCUDA(name)
	}
	return nil, fmt.Errorf("-device %q: want cpu or cuda[:N][:tf32|:bf16]", name)
}

// loadOptions are the embed.Load options that put a model on d.
func (d *device) loadOptions() []embed.LoadOption {
	if d.backend == nil {
		return nil
	}
	return []embed.LoadOption{embed.WithBackend(d.backend)}
}

// cpuOr returns d's Backend, or cpu when d is the CPU.
func (d *device) cpuOr(cpu kernels.Backend) kernels.Backend {
	if d.backend == nil {
		return cpu
	}
	return d.backend
}

// searcher returns what searches ix on d: ix itself on the CPU, its GPU
// copy on a GPU (release it with the returned function).
func (d *device) searcher(ix *index.Index) (indexSearcher, func() error, error) {
	if d.toGPU == nil {
		return ix, func() error { return nil }, nil
	}
	return d.toGPU(ix)
}

// newLatentInit returns a freshly initialized latent attention on be.
// pooling's Init draws into host memory, so on a GPU the module is drawn
// on the CPU and uploaded: the same values either way.
func newLatentInit(be kernels.Backend, c pooling.LatentConfig, seed uint64) (*pooling.LatentAttention, error) {
	la, err := pooling.NewLatentAttention(be, c)
	if err != nil {
		return nil, err
	}
	if la.Params.Arena.Host() != nil || la.Params.Arena.Len() == 0 {
		return la, la.Params.Init(seed)
	}
	host, err := pooling.NewLatentAttention(kernels.NewCPU(), c)
	if err != nil {
		return nil, err
	}
	if err := host.Params.Init(seed); err != nil {
		return nil, err
	}
	return la, be.Upload(la.Params.Arena, host.Params.Arena.Host())
}
