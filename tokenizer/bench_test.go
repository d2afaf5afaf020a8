package tokenizer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

// benchTexts returns the benchmark corpus: the distinct paragraphs of
// JSQuAD v1.3 validation (Japanese Wikipedia, 1145 paragraphs, 586 KB),
// sorted, the same text the peer script in testdata/peer reads.
func benchTexts(b *testing.B) ([]string, int64) {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "datasets", "jglue", "jsquad-v1.3", "valid-v1.3.json"))
	if err != nil {
		b.Skipf("benchmark corpus: %v", err)
	}
	var d struct {
		Data []struct {
			Paragraphs []struct {
				Context string `json:"context"`
			} `json:"paragraphs"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		b.Fatal(err)
	}
	seen := map[string]bool{}
	var texts []string
	var n int64
	for _, a := range d.Data {
		for _, p := range a.Paragraphs {
			if !seen[p.Context] {
				seen[p.Context] = true
				texts = append(texts, p.Context)
				n += int64(len(p.Context))
			}
		}
	}
	sort.Strings(texts)
	return texts, n
}

// BenchmarkEncode measures throughput (MB/s of UTF-8 input) on real
// Japanese text for every tokenizer fixture, one goroutine (Encode in a
// loop) and a parallel batch (EncodeBatch over GOMAXPROCS goroutines). It
// also reports cpu-MB/s, MB per second of process CPU time, which a busy
// shared machine disturbs much less than wall time.
func BenchmarkEncode(b *testing.B) {
	texts, size := benchTexts(b)
	for _, dir := range golden.Dirs(b, "tokenizers", "cases.jsonl") {
		tok, err := Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		name := filepath.Base(dir)
		b.Run(fmt.Sprintf("tok=%s/threads=1", name), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			cpu := cpuSeconds()
			for b.Loop() {
				for _, t := range texts {
					if _, err := tok.Encode(t); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportCPU(b, size, cpu)
		})
		b.Run(fmt.Sprintf("tok=%s/threads=%d", name, runtime.GOMAXPROCS(0)), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			cpu := cpuSeconds()
			for b.Loop() {
				if _, err := EncodeBatch(context.Background(), tok, texts); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, size, cpu)
		})
	}
}

func reportCPU(b *testing.B, size int64, start float64) {
	if cpu := cpuSeconds() - start; cpu > 0 && start > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/cpu, "cpu-MB/s")
	}
}
