//go:build !unix

package ja

func cpuSeconds() float64 { return 0 }
