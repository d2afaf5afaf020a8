//go:build !purego

package kernels

// archImpls returns the arm64 levels this CPU supports, lowest first.
func archImpls() []*impl { return nil }
