package kernels

// F16ToF32 converts IEEE 754 half-precision values (as their bit patterns)
// to float32: dst[i] = float32(src[i]). Every value converts exactly;
// NaNs keep their sign and payload and come out quiet (as the F16C
// instruction makes them).
func F16ToF32(dst []float32, src []uint16) {
	active.f16ToF32(dst[:len(src)], src)
}

// F32ToF16 converts float32 to half precision with round-to-nearest-even;
// values beyond the half range become ±Inf and NaN stays NaN (quiet, with
// the top payload bits kept).
func F32ToF16(dst []uint16, src []float32) {
	active.f32ToF16(dst[:len(src)], src)
}

// BF16ToF32 converts bfloat16 values (as their bit patterns) to float32.
func BF16ToF32(dst []float32, src []uint16) {
	active.bf16ToF32(dst[:len(src)], src)
}

// F32ToBF16 converts float32 to bfloat16 with round-to-nearest-even; NaN
// stays NaN (quiet). Subnormals are kept, not flushed.
func F32ToBF16(dst []uint16, src []float32) {
	active.f32ToBF16(dst[:len(src)], src)
}
