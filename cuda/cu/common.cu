// Helpers shared by every kernel file. The .cu files of this package are
// concatenated in a fixed order (kernels.go) and compiled by NVRTC as one
// program, with no headers: only CUDA's built-in device functions (expf,
// erff, sqrt, __shfl_xor_sync, atomicAdd, ...) are used.
//
// Conventions: every kernel is extern "C" (so the Go side finds it by its
// plain name), element counts that can exceed 2^31 are long long, blocks
// are a multiple of 32 threads, and elementwise kernels loop over a grid
// stride so any grid size covers any n.

typedef unsigned long long u64;
typedef unsigned int u32;
typedef long long i64;

#define KD_INF __int_as_float(0x7f800000)
#define KD_NEG_INF __int_as_float((int)0xff800000u)
// Id of an empty top-k slot; corpus rows are < 2^31-1.
#define KD_NO_ID 0x7fffffff

// KD_EXTERN_SHARED declares a kernel's dynamic shared memory (an
// emulator used in testing defines it otherwise).
#ifndef KD_EXTERN_SHARED
#define KD_EXTERN_SHARED(T, name) extern __shared__ T name[]
#endif

#define GRID_STRIDE(i, n) \
	for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)gridDim.x * blockDim.x)

__device__ __forceinline__ float warp_sum_f(float v) {
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

__device__ __forceinline__ double warp_sum_d(double v) {
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

__device__ __forceinline__ float warp_max_f(float v) {
	for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

// block_sum_f returns the sum of v over the block to every thread. sh
// holds 32 values; the leading barrier lets consecutive calls reuse it.
__device__ float block_sum_f(float v, float *sh) {
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
	v = warp_sum_f(v);
	__syncthreads();
	if (lane == 0) sh[w] = v;
	__syncthreads();
	if (w == 0) {
		v = lane < nw ? sh[lane] : 0.0f;
		v = warp_sum_f(v);
		if (lane == 0) sh[0] = v;
	}
	__syncthreads();
	return sh[0];
}

__device__ double block_sum_d(double v, double *sh) {
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
	v = warp_sum_d(v);
	__syncthreads();
	if (lane == 0) sh[w] = v;
	__syncthreads();
	if (w == 0) {
		v = lane < nw ? sh[lane] : 0.0;
		v = warp_sum_d(v);
		if (lane == 0) sh[0] = v;
	}
	__syncthreads();
	return sh[0];
}

// block_max_f is block_sum_f's maximum. fmaxf drops NaN, which is
// harmless where it is used: a NaN score still makes its softmax row NaN
// through exp and the sum.
__device__ float block_max_f(float v, float *sh) {
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
	v = warp_max_f(v);
	__syncthreads();
	if (lane == 0) sh[w] = v;
	__syncthreads();
	if (w == 0) {
		v = lane < nw ? sh[lane] : KD_NEG_INF;
		v = warp_max_f(v);
		if (lane == 0) sh[0] = v;
	}
	__syncthreads();
	return sh[0];
}

// The CPU's exact GELU: x·Φ(x) with Φ(x) = (1+erf(x/√2))/2.
// 0.70710678f is float32(1/√2), as the Go constant rounds.
__device__ __forceinline__ float gelu_f(float x) {
	return 0.5f * x * (1.0f + erff(x * 0.70710678f));
}

// GELU'(x) = Φ(x) + x·φ(x), as kernels.GELUBackward.
__device__ __forceinline__ float gelu_grad_f(float x) {
	float cdf = 0.5f * (1.0f + erff(x * 0.70710678f));
	float pdf = 0.3989422804014327f * expf(-0.5f * x * x);
	return cdf + x * pdf;
}

// Dropout masks: kernels/dropout.go, bit for bit. SplitMix64's output
// function (Steele, Lea & Flood 2014), the per-slab key mixing seed and
// stream, and the 24-bit uniform draw of element i compared with
// threshold = floor(p·2^24). u64 arithmetic wraps as Go's uint64 does.
__device__ __forceinline__ u64 splitmix(u64 z) {
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

__device__ __forceinline__ u64 dropout_key(u64 seed, u64 stream) {
	return splitmix(seed ^ splitmix(stream ^ 0x6a09e667f3bcc908ULL));
}

__device__ __forceinline__ bool dropout_keep(u64 key, u64 i, u32 threshold) {
	return (u32)(splitmix(key + i * 0x9e3779b97f4a7c15ULL) >> 40) >= threshold;
}

// The attention-probability mask puts element (i, j) of a head's seq×seq
// slab at counter i<<16 + j (kernels.probsRowShift).
#define PROBS_ROW_SHIFT 16

// half_to_float converts an IEEE binary16 bit pattern exactly, NaNs made
// quiet as kernels.F16ToF32 (F16C) does.
__device__ __forceinline__ float half_to_float(unsigned short h) {
	u32 sign = (u32)(h >> 15) << 31;
	u32 e = (h >> 10) & 0x1f, m = h & 0x3ff;
	if (e == 0) {
		// Zero or subnormal: m·2^-24, exact in float32.
		float v = (float)m * 5.9604644775390625e-8f;
		return sign ? -v : v;
	}
	if (e == 31) return __int_as_float((int)(sign | 0x7f800000u | (m << 13) | (m ? 0x00400000u : 0u)));
	return __int_as_float((int)(sign | ((e + 112) << 23) | (m << 13)));
}
