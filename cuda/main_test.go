//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Tests run on GPU 0. Without a GPU they skip, saying why. With
// KOTODAMA_CUDA_EMULATOR=1 they run instead on the CPU emulator in
// testdata/emu (built here with g++), which stands in for the CUDA
// libraries: a check of this package's logic, kernels included, where no
// GPU is at hand — not of a GPU's numbers or speed.

const emulatorEnv = "KOTODAMA_CUDA_EMULATOR"

func TestMain(m *testing.M) {
	if os.Getenv(emulatorEnv) == "1" {
		dir, err := buildEmulator()
		if err != nil {
			fmt.Fprintln(os.Stderr, "cuda tests: building the emulator:", err)
			os.Exit(1)
		}
		os.Setenv(LibsEnv, dir)
		defer os.RemoveAll(dir)
	}
	code := m.Run()
	if shared != nil {
		if err := shared.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "cuda tests: Close:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// buildEmulator compiles testdata/emu/emu.cc with the kernel sources into
// a temporary directory, under the names of the three libraries.
func buildEmulator() (string, error) {
	dir, err := os.MkdirTemp("", "kotodama-cuda-emu")
	if err != nil {
		return "", err
	}
	lib := filepath.Join(dir, "libcuda.so.1")
	cmd := exec.Command("g++", "-std=c++20", "-O2", "-shared", "-fPIC", "-fvisibility=hidden",
		"-I", "cu", "-o", lib, filepath.Join("testdata", "emu", "emu.cc"))
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", err
	}
	for _, n := range []string{"libcublas.so.12", "libnvrtc.so.12"} {
		if err := os.Symlink("libcuda.so.1", filepath.Join(dir, n)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

var (
	sharedOnce sync.Once
	shared     *Device
	sharedErr  error
)

// testDevice returns the Device the tests share (one NVRTC compilation),
// or skips the test when there is no usable GPU.
func testDevice(t testing.TB) *Device {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Open() })
	skipUnavailable(t, sharedErr)
	return shared
}

func skipUnavailable(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("no GPU, skipping (set %s=1 to run on the CPU emulator): %v", emulatorEnv, err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// SharedTestDevice gives the external tests (package cuda_test) the
// Device these tests share, or skips without a GPU.
var SharedTestDevice = testDevice
