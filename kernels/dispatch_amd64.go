//go:build !purego

package kernels

import "github.com/klauspost/cpuid/v2"

// archImpls returns the amd64 levels this CPU supports, lowest first.
// cpuid reports AVX and AVX-512 only when the OS saves their registers.
func archImpls() []*impl {
	var levels []*impl
	if cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.F16C) {
		levels = append(levels, avx2Impl())
		if cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512DQ, cpuid.AVX512VL) {
			levels = append(levels, avx512Impl())
		}
	}
	return levels
}

// avx2Impl is the AVX2+FMA level: the generic level with the kernels that
// have AVX2 versions swapped in.
func avx2Impl() *impl {
	im := *genericImpl
	im.level = "avx2"
	im.gemm = &avx2Gemm
	vecAVX2(&im)
	return &im
}

// avx512Impl is the AVX-512 level (F, BW, DQ, VL): the AVX2 level with
// the kernels that have AVX-512 versions swapped in.
func avx512Impl() *impl {
	im := *avx2Impl()
	im.level = "avx512"
	im.gemm = &avx512Gemm
	vecAVX512(&im)
	return &im
}
