package golden

import (
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
