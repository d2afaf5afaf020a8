package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestShortJobWritesOneLineToALog(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "encode", 10, "texts")
	for range 10 {
		b.Add(1)
	}
	b.SetStatus("loss %.2f", 0.5)
	b.Finish()
	b.Finish() // idempotent
	out := buf.String()
	if n := strings.Count(out, "\n"); n != 1 {
		t.Fatalf("got %d lines, want 1: %q", n, out)
	}
	for _, want := range []string{"encode", "10/10 texts", "100%", "loss 0.50"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q lacks %q", out, want)
		}
	}
}

func TestNilWriterDiscards(t *testing.T) {
	b := New(nil, "x", 0, "u")
	b.Add(3)
	b.Finish()
}
