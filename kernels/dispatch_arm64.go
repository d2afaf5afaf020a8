//go:build !purego

package kernels

// archImpls returns the arm64 levels. Advanced SIMD (NEON) is part of
// every ARMv8-A core that Go's arm64 port runs on (the runtime itself uses
// it unconditionally), so there is nothing to detect.
func archImpls() []*impl { return []*impl{neonImpl()} }

// neonImpl is the NEON level: the generic level with the NEON GEMM
// microkernel and vector kernels swapped in.
func neonImpl() *impl {
	im := *genericImpl
	im.level = "neon"
	im.gemm = &neonGemm
	vecNEON(&im)
	return &im
}
