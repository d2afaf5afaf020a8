package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchGemmJSON(t *testing.T) {
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	if err := run(context.Background(), e, []string{"bench", "gemm", "-threads", "2", "-json", "-time", "0", "16x8x4t", "3x5x7"}); err != nil {
		t.Fatalf("bench gemm: %v\n%s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []gemmResult{{M: 16, N: 8, K: 4, TransB: true, Threads: 2}, {M: 3, N: 5, K: 7, Threads: 2}}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, line := range lines {
		var r gemmResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		if r.M != want[i].M || r.N != want[i].N || r.K != want[i].K || r.TransB != want[i].TransB || r.Threads != want[i].Threads || !(r.GFLOPS > 0) || r.Level == "" {
			t.Errorf("line %d = %+v, want shape %+v with gflops > 0", i, r, want[i])
		}
	}
}

func TestBenchGemmBadArgs(t *testing.T) {
	for _, args := range [][]string{{"12x3"}, {"axbxc"}, {"0x1x1"}, {"4x4x4q"}, {"-threads", "0", "4x4x4"}} {
		var out, errb bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
		err := run(context.Background(), e, append([]string{"bench", "gemm", "-time", "0"}, args...))
		if err == nil {
			t.Errorf("bench gemm %v: no error", args)
		} else if !strings.Contains(err.Error(), "bench gemm") {
			t.Errorf("bench gemm %v: error %q does not name the command", args, err)
		}
	}
}
