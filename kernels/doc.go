// Package kernels is Kotodama's CPU math: single-precision GEMM, the
// elementwise and reduction kernels an encoder needs, and the Backend
// interface that model code runs on.
//
// # Overview
//
// Everything above this package (the encoder, pooling, losses, search)
// spends its time here. Functions take row-major float32 slices with
// explicit sizes and leading dimensions, in the BLAS argument order:
// outputs after the sizes, never allocated by the callee.
//
// Invalid arguments (negative sizes, short slices, leading dimensions
// smaller than a row) are programming errors and panic with a message
// naming the argument, as BLAS implementations do.
//
// # GEMM
//
// Sgemm follows BLIS: five loops in portable Go (gemm.go) block the
// product for the caches and pack panels of A and B into contiguous
// buffers; inside them a register-blocked microkernel in assembly computes
// one MR×NR tile of C. Only the microkernel and its block sizes differ per
// instruction set, in one table row each (gemmKernel):
//
//	level    kernel          MR×NR   KC   MC    NC
//	avx512   avx512_12x32    12×32   384  4104  768
//	avx2     avx2_6x16        6×16   384  4104  768
//	neon     neon_6x16        6×16   256  4104  1024
//	generic  generic_2x4      2×4    256  512   1024
//
// Info reports the row in use. Edge tiles are computed into a scratch tile,
// so no kernel reads or writes outside the operands, and every element of
// C is computed by the same sequence of operations whatever the shape or
// thread split around it: a row of C does not change with the batch it is
// in. A weight matrix used batch after batch can be packed once (PackB,
// SgemmPacked), which saves most of the time of small products; on a
// Backend, PackWeight and GemmWeight do this for a linear layer's weight,
// packing it over its own storage so that it costs no memory.
//
// # Dispatch
//
// At start-up the package reads the CPU's features (github.com/klauspost/cpuid/v2)
// and picks the best level: avx512 (F, BW, DQ, VL) or avx2 (with FMA and
// F16C) on amd64, neon on arm64, generic (pure Go) everywhere else. The
// environment variable KOTODAMA_CPU=generic|avx2|avx512 forces a lower
// level, never a higher one than the CPU has, so every path can be tested
// on one machine. Building with -tags purego leaves out all assembly.
//
// # Threads
//
// A Pool runs work on a fixed number of threads. The package-level Sgemm
// and SgemmStrided use Default, sized by GOMAXPROCS; products below about
// a million multiply-adds stay on the calling goroutine. Callers that
// manage their own parallelism make a Pool of the size they want:
// NewPool(1).Sgemm runs on the calling goroutine only (the way to run a
// GEMM inside your own parallel loop), and Pool.For splits row ranges of
// elementwise work across a pool's threads. Pools never deadlock when
// nested or shared; a call that finds the workers busy runs on its own
// goroutine.
package kernels
