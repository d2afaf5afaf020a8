//go:build purego || !(amd64 || arm64)

package kernels

// archImpls: without assembly only the generic level exists.
func archImpls() []*impl { return nil }
