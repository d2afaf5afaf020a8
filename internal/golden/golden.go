// Package golden locates the reference fixtures tests compare against,
// and measures how far a result is from them (MaxDiff).
//
// Fixtures live in testdata/golden at the module root (copied from the
// team's shared reference set); the environment variable KOTODAMA_GOLDEN
// names another directory of the same layout to use instead. Tests iterate
// over every fixture found (Dirs), never naming fixtures one by one, so a
// new fixture dropped into the directory is tested without code changes.
package golden

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

// Env is the environment variable that overrides the fixture directory.
const Env = "KOTODAMA_GOLDEN"

// Root returns the fixture directory: $KOTODAMA_GOLDEN if set, else
// testdata/golden at the module root.
func Root() string {
	if d := os.Getenv(Env); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", "golden")
	}
	// This file is internal/golden/golden.go below the module root.
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "golden")
}

// Path joins elem onto Root.
func Path(elem ...string) string {
	return filepath.Join(append([]string{Root()}, elem...)...)
}

// Dirs returns the fixture directories under Root()/kind (for example
// "models" or "tokenizers") that contain a file named marker, sorted. It
// fails the test when none is found: a golden test that compares nothing
// must not pass.
func Dirs(t testing.TB, kind, marker string) []string {
	t.Helper()
	base := Path(kind)
	ents, err := os.ReadDir(base)
	if err != nil {
		t.Fatalf("golden fixtures: %v (set %s or copy ../shared/golden to testdata/golden)", err, Env)
	}
	var dirs []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		d := filepath.Join(base, e.Name())
		if _, err := os.Stat(filepath.Join(d, marker)); err == nil {
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs)
	if len(dirs) == 0 {
		t.Fatalf("golden fixtures: no %s fixture with %s under %s", kind, marker, base)
	}
	return dirs
}

// MaxDiff returns the largest |got[i] - want[i]| over want, computed in
// float64, or +Inf when any difference is NaN, so that a NaN output fails
// a "MaxDiff(got, want) > tol" check instead of slipping past it.
func MaxDiff[G, W float32 | float64](got []G, want []W) float64 {
	d := 0.0
	for i, w := range want {
		x := math.Abs(float64(got[i]) - float64(w))
		if math.IsNaN(x) {
			return math.Inf(1)
		}
		d = max(d, x)
	}
	return d
}
