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
package kernels
