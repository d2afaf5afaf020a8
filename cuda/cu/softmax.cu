// Softmax over rows (plain and under attention's key mask), its backward
// pass, and masked max pooling. One block per row for the softmaxes.

// softmax_rows replaces each row of x (rows×cols) by its softmax, as
// kernels.Softmax without a mask: the row maximum is subtracted before
// exp, the row is scaled by float32(1/sum), a row of all -Inf becomes
// zeros, and a NaN or +Inf makes the row NaN.
extern "C" __global__ void kd_softmax_rows(float *x, int rows, int cols) {
	__shared__ float sh[32];
	for (int r = blockIdx.x; r < rows; r += gridDim.x) {
		float *row = x + (i64)r * cols;
		float mx = KD_NEG_INF;
		for (int c = threadIdx.x; c < cols; c += blockDim.x) mx = fmaxf(mx, row[c]);
		mx = block_max_f(mx, sh);
		if (mx == KD_NEG_INF) {
			for (int c = threadIdx.x; c < cols; c += blockDim.x) row[c] = 0.0f;
			__syncthreads();
			continue;
		}
		float s = 0;
		for (int c = threadIdx.x; c < cols; c += blockDim.x) {
			float e = expf(row[c] - mx);
			row[c] = e;
			s += e;
		}
		float inv = 1.0f / block_sum_f(s, sh);
		for (int c = threadIdx.x; c < cols; c += blockDim.x) row[c] *= inv;
		__syncthreads();
	}
}

// softmax_backward_rows turns dy, the gradient of softmax's output y, into
// the gradient of its input in place: dy = y·(dy − Σ dy·y).
extern "C" __global__ void kd_softmax_backward_rows(float *dy, const float *y, int rows, int cols) {
	__shared__ float sh[32];
	for (int r = blockIdx.x; r < rows; r += gridDim.x) {
		float *d = dy + (i64)r * cols;
		const float *yr = y + (i64)r * cols;
		float s = 0;
		for (int c = threadIdx.x; c < cols; c += blockDim.x) s += yr[c] * d[c];
		s = block_sum_f(s, sh);
		for (int c = threadIdx.x; c < cols; c += blockDim.x) d[c] = yr[c] * (d[c] - s);
		__syncthreads();
	}
}

// masked_row_softmax replaces row (seq scores) by its softmax over the
// keys m marks (m[c] != 0); the other keys get exactly 0, and a row with
// no marked key gets empty in every place. Every thread of the block
// calls it for the same row; sh is the block's 32-float scratch.
__device__ void masked_row_softmax(float *row, const int *m, int seq, float empty, float *sh) {
	float mx = KD_NEG_INF;
	int any = 0;
	for (int c = threadIdx.x; c < seq; c += blockDim.x) {
		if (m[c] != 0) {
			mx = fmaxf(mx, row[c]);
			any = 1;
		}
	}
	if (!__syncthreads_or(any)) {
		for (int c = threadIdx.x; c < seq; c += blockDim.x) row[c] = empty;
		__syncthreads();
		return;
	}
	mx = block_max_f(mx, sh);
	float s = 0;
	for (int c = threadIdx.x; c < seq; c += blockDim.x) {
		float e = m[c] != 0 ? expf(row[c] - mx) : 0.0f;
		row[c] = e;
		s += e;
	}
	float inv = 1.0f / block_sum_f(s, sh);
	for (int c = threadIdx.x; c < seq; c += blockDim.x) row[c] *= inv;
	__syncthreads();
}

// attn_softmax turns the scores P [batch·heads, seq, seq] (Q·Kᵀ/√d,
// already scaled) into attention probabilities under the key mask
// [batch, seq] (1 = token): masked keys get exactly 0, as Hugging Face's
// additive -MaxFloat32 gives them; a row whose every key is masked is
// uniform, 1/seq, as that additive mask makes it.
extern "C" __global__ void kd_attn_softmax(float *P, const int *mask, int seq, int heads, i64 rows) {
	__shared__ float sh[32];
	float uniform = (float)(1.0 / (double)seq);
	for (i64 r = blockIdx.x; r < rows; r += gridDim.x)
		masked_row_softmax(P + r * seq, mask + (r / seq / heads) * seq, seq, uniform, sh);
}

// attn_visible_softmax is attn_softmax under a visibility matrix
// [batch, seq, seq] (visible[b, i, j] != 0: query i sees key j) instead
// of a key mask; a row that sees no key gets all-zero probabilities
// (kernels' AttentionVisible).
extern "C" __global__ void kd_attn_visible_softmax(float *P, const int *visible, int seq, int heads, i64 rows) {
	__shared__ float sh[32];
	for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
		i64 i = r % seq, b = r / seq / heads;
		masked_row_softmax(P + r * seq, visible + (b * seq + i) * seq, seq, 0.0f, sh);
	}
}

// attn_softmax_backward turns dP = dctx·Vᵀ [batch·heads, seq, seq] into
// the gradient of the scores in place, given the probabilities P the
// forward kept: with attention dropout (threshold > 0) dP first goes
// through the forward's mask (scaled survivors, zeros), then
//   dS = P ⊙ (dP − rowsum(dP ⊙ P)).
// Masked keys have P = 0 and get dS = 0.
extern "C" __global__ void kd_attn_softmax_backward(float *dP, const float *P, const u64 *streams, u64 seed,
		u32 threshold, float scale, int seq, i64 rows) {
	__shared__ float sh[32];
	for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
		float *d = dP + r * seq;
		const float *p = P + r * seq;
		u64 key = 0;
		if (threshold != 0) key = dropout_key(seed, streams[r / seq]);
		u64 base = (u64)(r % seq) << PROBS_ROW_SHIFT;
		float s = 0;
		for (int c = threadIdx.x; c < seq; c += blockDim.x) {
			float v = d[c];
			if (threshold != 0) v = dropout_keep(key, base + (u64)c, threshold) ? v * scale : 0.0f;
			d[c] = v;
			s += p[c] * v;
		}
		s = block_sum_f(s, sh);
		for (int c = threadIdx.x; c < seq; c += blockDim.x) d[c] = p[c] * (d[c] - s);
		__syncthreads();
	}
}

// max(a, b) as Go's builtin: NaN wins.
__device__ __forceinline__ float go_max(float a, float b) {
	if (a != a) return a;
	if (b != b || b > a) return b;
	return a;
}

// masked_max: out[b·ldOut + c] = max over unmasked l of x[b, l, c], as
// sentence-transformers' max pooling with masked positions at -1e9: -1e9
// when no position is unmasked, and at least -1e9 when any is masked
// (kernels' MaskedMax). One thread per (b, c).
extern "C" __global__ void kd_masked_max(float *out, const float *x, const int *mask, int B, int S, int C, int ldOut) {
	GRID_STRIDE(i, (i64)B * C) {
		i64 b = i / C, c = i % C;
		const int *m = mask + b * S;
		float best = 0;
		int first = 1, masked = 0;
		for (int l = 0; l < S; l++) {
			if (m[l] == 0) {
				masked = 1;
				continue;
			}
			float v = x[(b * S + l) * C + c];
			best = first ? v : go_max(best, v);
			first = 0;
		}
		if (first) best = -1e9f;
		else if (masked) best = go_max(best, -1e9f);
		out[b * ldOut + c] = best;
	}
}

// masked_max_backward adds dout[b·ldOut + c] to dx[b, l, c] at the first
// unmasked position l holding the maximum (torch.max's index).
extern "C" __global__ void kd_masked_max_backward(float *dx, const float *dout, const float *x, const int *mask,
		int B, int S, int C, int ldOut) {
	GRID_STRIDE(i, (i64)B * C) {
		i64 b = i / C, c = i % C;
		const int *m = mask + b * S;
		float best = 0;
		int at = -1;
		for (int l = 0; l < S; l++) {
			if (m[l] == 0) continue;
			float v = x[(b * S + l) * C + c];
			if (at < 0 || v > best) {
				best = v;
				at = l;
			}
		}
		if (at >= 0) dx[(b * S + at) * C + c] += dout[b * ldOut + c];
	}
}
