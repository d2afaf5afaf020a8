package golden

import (
	"math"
	"path/filepath"
	"testing"
)

func TestDirsFindsShippedFixtures(t *testing.T) {
	dirs := Dirs(t, "models", "config.json")
	if len(dirs) < 2 {
		t.Fatalf("found %d model fixtures, want at least 2: %v", len(dirs), dirs)
	}
}

func TestEnvOverrides(t *testing.T) {
	d := t.TempDir()
	t.Setenv(Env, d)
	if got := Path("x"); got != filepath.Join(d, "x") {
		t.Fatalf("Path = %q", got)
	}
}

func TestMaxDiff(t *testing.T) {
	if d := MaxDiff([]float32{1, 2, 3}, []float64{1, 2.5, 2}); d != 1 {
		t.Errorf("MaxDiff = %v, want 1", d)
	}
	if d := MaxDiff([]float32{1, float32(math.NaN())}, []float32{1, 2}); !math.IsInf(d, 1) {
		t.Errorf("MaxDiff with a NaN = %v, want +Inf", d)
	}
	if d := MaxDiff([]float64{}, []float64{}); d != 0 {
		t.Errorf("MaxDiff of nothing = %v", d)
	}
}
