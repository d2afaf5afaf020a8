package embed

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Running a model on a GPU (package cuda, in builds with -tags cuda).

// ErrNoCUDA means a GPU was asked of a Kotodama built without GPU
// support: rebuild with -tags cuda.
var ErrNoCUDA = errors.New("embed: this build has no GPU support (build with -tags cuda)")

// WithDevice runs the model on the named device instead of the CPU:
// "cpu" (the default), or "cuda" for GPU 0, "cuda:N" for GPU N, with
// ":tf32" or ":bf16" appended to let its matrix products round their
// inputs for speed (package cuda's Math; "cuda:0:tf32"). A GPU needs a
// build with -tags cuda; without it Load fails with ErrNoCUDA. The Model
// owns the device it opens and releases it in Close. To share one device
// between models, open it with package cuda and pass it to WithBackend.
func WithDevice(name string) LoadOption { return func(c *loadConfig) { c.device = name } }

// loadOnDevice opens the device WithDevice names, if any, and loads the
// model on it, handing the device to the Model.
func loadOnDevice(fsys fs.FS, dir string, c loadConfig) (*Model, error) {
	if c.device == "" || c.device == "cpu" {
		return load(fsys, dir, c)
	}
	if !strings.HasPrefix(c.device, "cuda") {
		return nil, fmt.Errorf("embed: device %q: want cpu or cuda[:N][:tf32|:bf16]", c.device)
	}
	if c.backend != nil {
		return nil, errors.New("embed: WithDevice and WithBackend both given")
	}
	be, release, err := openDevice(c.device)
	if err != nil {
		return nil, err
	}
	c.backend = be
	m, err := load(fsys, dir, c)
	if err != nil {
		release()
		return nil, err
	}
	m.owned = release
	return m, nil
}

// encodeDone ends an Encode call; the last one to end after Close
// releases the device.
func (m *Model) encodeDone() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inflight--
	if m.closed && m.inflight == 0 {
		m.releaseDevice()
	}
}

// releaseDevice releases the device the Model owns, once; m.mu is held.
func (m *Model) releaseDevice() error {
	if m.owned == nil {
		return nil
	}
	f := m.owned
	m.owned = nil
	return f()
}
