//go:build !cuda

package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/internal/golden"
)

// Without -tags cuda, -device cuda fails on every verb that has it,
// saying how to build with GPU support; an unknown device is an error.
func TestDeviceWithoutCUDA(t *testing.T) {
	model := golden.Dirs(t, "models", "modules.json")[0]
	for _, args := range [][]string{
		{"encode", "-model", model},
		{"bench", "bert", "-model", model, "-time", "1ms"},
		{"bench", "encode", "-model", model, "-texts", "/dev/null"},
		{"bench", "search", "-n", "10", "-dim", "4", "-queries", "1"},
		{"bench", "train", "-size", "tiny", "-batch", "1", "-seq", "4"},
		{"eval", "sts", "-task", "jsts-valid", "-model", model, "-data", testData},
	} {
		_, _, err := runVerb(t, append(args, "-device", "cuda:0:tf32")...)
		if !errors.Is(err, embed.ErrNoCUDA) {
			t.Errorf("%v -device cuda: %v, want an error wrapping embed.ErrNoCUDA", args, err)
		}
	}
	if _, _, err := runVerb(t, "encode", "-model", model, "-device", "tpu"); err == nil || !strings.Contains(err.Error(), "want cpu or cuda") {
		t.Errorf("-device tpu: %v", err)
	}
}
