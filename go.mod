module github.com/kotodama-ai/kotodama

go 1.26.0

require (
	github.com/ikawaha/kagome-dict v1.1.7
	github.com/ikawaha/kagome-dict/uni v1.2.6
	github.com/klauspost/cpuid/v2 v2.4.2
	github.com/rivo/uniseg v0.4.7
	golang.org/x/sys v0.49.0
	golang.org/x/text v0.41.0
)
