package kernels

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestChooseLevel(t *testing.T) {
	best := levels[len(levels)-1]
	for want, level := range map[string]string{
		"":        best.level,
		"bogus":   best.level,
		"generic": "generic",
		"GENERIC": "generic",
	} {
		if got := chooseLevel(want).level; got != level {
			t.Errorf("chooseLevel(%q) = %s, want %s", want, got, level)
		}
	}
	// A request never picks a level above itself, and picks the best one
	// at or below it.
	for _, req := range []string{"generic", "avx2", "avx512", "neon"} {
		got := chooseLevel(req)
		if levelRank[got.level] > levelRank[req] {
			t.Errorf("chooseLevel(%q) = %s, above the request", req, got.level)
		}
		for _, im := range levels {
			if levelRank[im.level] <= levelRank[req] && levelRank[im.level] > levelRank[got.level] {
				t.Errorf("chooseLevel(%q) = %s, but %s is available", req, got.level, im.level)
			}
		}
	}
	for i := 1; i < len(levels); i++ {
		if levelRank[levels[i].level] <= levelRank[levels[i-1].level] {
			t.Errorf("levels not in ascending order: %s after %s", levels[i].level, levels[i-1].level)
		}
	}
}

func TestInfo(t *testing.T) {
	info := Info()
	if info.Level != active.level || info.Kernel != active.gemm.name || info.MR != active.gemm.mr {
		t.Errorf("Info() = %+v, active level %s kernel %s", info, active.level, active.gemm.name)
	}
	if info.Threads != Default().Threads() || len(info.Available) != len(levels) {
		t.Errorf("Info() = %+v", info)
	}
	if s := info.String(); !strings.Contains(s, info.Level) || !strings.Contains(s, info.Kernel) {
		t.Errorf("Info().String() = %q", s)
	}
}

// TestKOTODAMA_CPU starts this test binary again with KOTODAMA_CPU set
// and checks the level it chose at start-up.
func TestKOTODAMA_CPU(t *testing.T) {
	if os.Getenv("KOTODAMA_TEST_PRINT_LEVEL") == "1" {
		os.Stdout.WriteString("level=" + Info().Level + "\n")
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no executable path:", err)
	}
	for _, req := range []string{"generic", "avx2", "avx512", "neon", "nonsense"} {
		cmd := exec.Command(exe, "-test.run=^TestKOTODAMA_CPU$", "-test.count=1")
		cmd.Env = append(os.Environ(), "KOTODAMA_TEST_PRINT_LEVEL=1", "KOTODAMA_CPU="+req)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Skipf("cannot run the test binary again (under an emulator?): %v", err)
		}
		if err != nil {
			t.Fatalf("KOTODAMA_CPU=%s: %v\n%s", req, err, out)
		}
		want := "level=" + chooseLevel(req).level + "\n"
		if !strings.Contains(string(out), want) {
			t.Errorf("KOTODAMA_CPU=%s: child printed %q, want %q", req, out, want)
		}
	}
}

// TestDocTable keeps the block-size table in the package documentation
// in step with the kernels this build runs.
func TestDocTable(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(src), "\n") {
		f := strings.Fields(strings.TrimPrefix(line, "//"))
		if len(f) == 6 && strings.Contains(f[2], "×") {
			rows[f[0]] = strings.Join(f[1:], " ")
		}
	}
	for _, im := range levels {
		g := im.gemm
		want := fmt.Sprintf("%s %d×%d %d %d %d", g.name, g.mr, g.nr, g.kc, g.mc, g.nc)
		if rows[im.level] != want {
			t.Errorf("doc.go table row for %s = %q, want %q", im.level, rows[im.level], want)
		}
	}
}
