//go:build !unix

package tokenizer

// cpuSeconds is unknown here; benchmarks then report wall-clock MB/s only.
func cpuSeconds() float64 { return 0 }
