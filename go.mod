module github.com/kotodama-ai/kotodama

go 1.26.0

require (
	github.com/klauspost/cpuid/v2 v2.4.2
	github.com/rivo/uniseg v0.4.7
	golang.org/x/sys v0.49.0
	golang.org/x/text v0.41.0
)
