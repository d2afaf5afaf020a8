package ja

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/tokenizer"
)

var benchFile = flag.String("bench-file", "", "BenchmarkSplitFile splits the lines of this file (e.g. the sentences -sentences-out wrote)")

// benchText is the Japanese text the benchmarks split: the Wikipedia
// paragraphs (JaQuAD, JSQuAD contexts) and sentences of the fixtures.
func benchText(b *testing.B) []string {
	var texts []string
	for _, cases := range readFixtures(b) {
		for _, c := range cases {
			if c.Source != "edge" {
				texts = append(texts, c.Text)
			}
		}
	}
	return texts
}

// BenchmarkSplit reports MeCab word splitting throughput on one
// goroutine (MB/s of UTF-8 input).
func BenchmarkSplit(b *testing.B) {
	m := newTestMeCab(b)
	texts := benchText(b)
	n := 0
	for _, s := range texts {
		n += len(s)
	}
	splitLoop(b, m, texts, n)
}

// BenchmarkSplitFile is BenchmarkSplit over the lines of -bench-file.
func BenchmarkSplitFile(b *testing.B) {
	if *benchFile == "" {
		b.Skip("give -bench-file FILE")
	}
	raw, err := os.ReadFile(*benchFile)
	if err != nil {
		b.Fatal(err)
	}
	texts := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	m := newTestMeCab(b)
	splitLoop(b, m, texts, len(raw)-len(texts))
}

// splitLoop splits texts (n bytes) b.N times, reporting MB/s of wall time
// and cpu-MB/s, MB per second of CPU time, which a busy machine disturbs
// less (compare it with mecab's user+sys time).
func splitLoop(b *testing.B, m *MeCab, texts []string, n int) {
	b.SetBytes(int64(n))
	var words []tokenizer.Word
	var err error
	b.ResetTimer()
	cpu := cpuSeconds()
	for b.Loop() {
		for _, s := range texts {
			if words, err = m.AppendWords(words[:0], s); err != nil {
				b.Fatal(err)
			}
		}
	}
	if cpu := cpuSeconds() - cpu; cpu > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/1e6/cpu, "cpu-MB/s")
	}
}

// BenchmarkSplitParallel is BenchmarkSplit on GOMAXPROCS goroutines
// sharing one MeCab.
func BenchmarkSplitParallel(b *testing.B) {
	m := newTestMeCab(b)
	texts := benchText(b)
	n := 0
	for _, s := range texts {
		n += len(s)
	}
	b.SetBytes(int64(n))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for _, s := range texts {
				if _, err := m.AppendWords(nil, s); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
}

// BenchmarkBertJapaneseV3Encode reports the throughput of the whole
// bert-base-japanese-v3 tokenizer (NFKC, MeCab, WordPiece, [CLS]/[SEP])
// loaded through tokenizer.Load, on one goroutine and with EncodeBatch
// over GOMAXPROCS.
func BenchmarkBertJapaneseV3Encode(b *testing.B) {
	tok, err := tokenizer.Load(v3Dir)
	if err != nil {
		b.Fatal(err)
	}
	texts := benchText(b)
	n := 0
	for _, s := range texts {
		n += len(s)
	}
	b.Run("serial", func(b *testing.B) {
		b.SetBytes(int64(n))
		cpu := cpuSeconds()
		for b.Loop() {
			for _, s := range texts {
				if _, err := tok.Encode(s); err != nil {
					b.Fatal(err)
				}
			}
		}
		if cpu := cpuSeconds() - cpu; cpu > 0 {
			b.ReportMetric(float64(n)*float64(b.N)/1e6/cpu, "cpu-MB/s")
		}
	})
	b.Run("batch", func(b *testing.B) {
		b.SetBytes(int64(n))
		for b.Loop() {
			if _, err := tokenizer.EncodeBatch(b.Context(), tok, texts); err != nil {
				b.Fatal(err)
			}
		}
	})
}
