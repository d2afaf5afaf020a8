//go:build !cuda

package embed

import (
	"errors"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

// Without -tags cuda a GPU device fails clearly; the CPU still loads.
func TestWithDeviceWithoutCUDA(t *testing.T) {
	dir := golden.Dirs(t, "models", "modules.json")[0]
	for _, name := range []string{"cuda", "cuda:1:tf32"} {
		if _, err := Load(dir, WithDevice(name)); !errors.Is(err, ErrNoCUDA) {
			t.Errorf("WithDevice(%q): error %v, want ErrNoCUDA", name, err)
		}
	}
	if _, err := Load(dir, WithDevice("tpu")); err == nil {
		t.Error(`WithDevice("tpu"): no error`)
	}
	m, err := Load(dir, WithDevice("cpu"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}
