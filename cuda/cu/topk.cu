// Exact top-k selection for search: given a block of scores
// S [queries, cols] (queries × a chunk of corpus rows, from one GEMM),
// fold each query's row into its running top k. Ranking is kernels.TopK's:
// higher score first, equal scores by lower row id; NaN is never kept.

// better reports whether (s1, i1) ranks above (s2, i2).
__device__ __forceinline__ bool better(float s1, int i1, float s2, int i2) {
	return s1 > s2 || (s1 == s2 && i1 < i2);
}

// Candidate buffer: a block appends scores that beat its k-th best, and
// sorts and merges them into the top list when the buffer could overflow
// on the next pass of blockDim scores, and at the end.
#define TOPK_CAND 2048

// topk_flush sorts the count candidates in (cs, ci) best first (bitonic
// sort over L = max(K2, next power of two ≥ count) entries, padded with
// empty slots) and merges the best K2 of them with the sorted top list
// (bs, bi), K2 long: T[i] = better of top[i] and cand[K2-1-i] is bitonic
// and holds the K2 best of both, and a bitonic merge sorts it.
__device__ void topk_flush(float *bs, int *bi, float *cs, int *ci, int count, int K2) {
	int L = K2;
	while (L < count) L <<= 1;
	for (int j = count + threadIdx.x; j < L; j += blockDim.x) {
		cs[j] = KD_NEG_INF;
		ci[j] = KD_NO_ID;
	}
	__syncthreads();
	for (int size = 2; size <= L; size <<= 1) {
		for (int stride = size >> 1; stride > 0; stride >>= 1) {
			for (int t = threadIdx.x; t < L / 2; t += blockDim.x) {
				int i = 2 * t - (t & (stride - 1)), j = i + stride;
				bool up = (i & size) == 0; // this run ends best first
				float si = cs[i], sj = cs[j];
				int ii = ci[i], ij = ci[j];
				if (up ? better(sj, ij, si, ii) : better(si, ii, sj, ij)) {
					cs[i] = sj; ci[i] = ij;
					cs[j] = si; ci[j] = ii;
				}
			}
			__syncthreads();
		}
	}
	for (int i = threadIdx.x; i < K2; i += blockDim.x) {
		float s = cs[K2 - 1 - i];
		int id = ci[K2 - 1 - i];
		if (better(s, id, bs[i], bi[i])) {
			bs[i] = s;
			bi[i] = id;
		}
	}
	__syncthreads();
	for (int stride = K2 >> 1; stride > 0; stride >>= 1) {
		for (int t = threadIdx.x; t < K2 / 2; t += blockDim.x) {
			int i = 2 * t - (t & (stride - 1)), j = i + stride;
			if (better(bs[j], bi[j], bs[i], bi[i])) {
				float s = bs[i];
				int id = bi[i];
				bs[i] = bs[j]; bi[i] = bi[j];
				bs[j] = s; bi[j] = id;
			}
		}
		__syncthreads();
	}
}

// topk_select: block q folds row q of S (cols scores, row stride ldS,
// for corpus rows base..base+cols) plus bias[row] when bias is not null
// into the query's top list bestS/bestI [queries, K2] (K2 = the power of
// two ≥ k, ≤ 1024), starting from empty lists when first is set. Dynamic
// shared memory: (K2 + TOPK_CAND)·8 bytes.
extern "C" __global__ void kd_topk_select(const float *S, i64 ldS, int cols, int base, const float *bias,
		float *bestS, int *bestI, int k, int K2, int first) {
	KD_EXTERN_SHARED(float, smem);
	float *bs = smem;
	int *bi = (int *)(bs + K2);
	float *cs = (float *)(bi + K2);
	int *ci = (int *)(cs + TOPK_CAND);
	__shared__ int count;
	__shared__ float thS;
	__shared__ int thI;

	int q = blockIdx.x;
	const float *row = S + (i64)q * ldS;
	float *gs = bestS + (i64)q * K2;
	int *gi = bestI + (i64)q * K2;
	for (int i = threadIdx.x; i < K2; i += blockDim.x) {
		bs[i] = first ? KD_NEG_INF : gs[i];
		bi[i] = first ? KD_NO_ID : gi[i];
	}
	if (threadIdx.x == 0) count = 0;
	__syncthreads();
	if (threadIdx.x == 0) {
		thS = bs[k - 1];
		thI = bi[k - 1];
	}
	__syncthreads();
	for (int j0 = 0; j0 < cols; j0 += blockDim.x) {
		int j = j0 + threadIdx.x;
		if (j < cols) {
			float s = row[j];
			int id = base + j;
			if (bias) s += bias[id];
			if (s == s && better(s, id, thS, thI)) {
				int pos = atomicAdd(&count, 1);
				cs[pos] = s;
				ci[pos] = id;
			}
		}
		__syncthreads();
		int n = count; // the same for every thread: read between barriers
		__syncthreads();
		if (n > TOPK_CAND - (int)blockDim.x || (j0 + (int)blockDim.x >= cols && n > 0)) {
			topk_flush(bs, bi, cs, ci, n, K2);
			if (threadIdx.x == 0) {
				count = 0;
				thS = bs[k - 1];
				thI = bi[k - 1];
			}
			__syncthreads();
		}
	}
	for (int i = threadIdx.x; i < K2; i += blockDim.x) {
		gs[i] = bs[i];
		gi[i] = bi[i];
	}
}
