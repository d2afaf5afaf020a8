//go:build unix

package tokenizer

import "syscall"

// cpuSeconds is the user+system CPU time of this process, for throughput
// figures that hold on a busy machine (wall time there mostly measures
// the neighbours).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
