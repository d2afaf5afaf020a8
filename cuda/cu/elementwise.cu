// Elementwise kernels: the CPU backend's Add, AddBias, GELU, GEGLU,
// Dropout, Gather and ScatterAdd, attention's head permutations, and the
// optimizer's updates. Each computes, per element, the same float32
// expression as its kernels/ counterpart.

// x[r, c] += bias[c] for rows×cols x.
extern "C" __global__ void kd_add_bias(float *x, const float *bias, i64 rows, int cols) {
	GRID_STRIDE(i, rows * cols) { x[i] += bias[i % cols]; }
}

// out[i] = x[i] + y[i]; out may alias x or y.
extern "C" __global__ void kd_add(float *out, const float *x, const float *y, i64 n) {
	GRID_STRIDE(i, n) { out[i] = x[i] + y[i]; }
}

// x[i] *= a.
extern "C" __global__ void kd_scale(float *x, float a, i64 n) {
	GRID_STRIDE(i, n) { x[i] *= a; }
}

// c[b][r, col] = beta·c[b][r, col] (0 when beta is 0, whatever c held) for
// batch matrices of m×n with row stride ldc and batch stride stride: a
// GEMM with k = 0 or alpha = 0, which reads neither A nor B.
extern "C" __global__ void kd_scale_matrix(float *c, int m, int n, i64 ldc, i64 stride, int batch, float beta) {
	i64 per = (i64)m * n;
	GRID_STRIDE(i, per * batch) {
		i64 b = i / per, r = (i % per) / n, col = i % n;
		float *p = c + b * stride + r * ldc + col;
		*p = beta == 0.0f ? 0.0f : beta * *p;
	}
}

// out = GELU(x) (exact, erf); out may alias x.
extern "C" __global__ void kd_gelu(float *out, const float *x, i64 n) {
	GRID_STRIDE(i, n) { out[i] = gelu_f(x[i]); }
}

// dx = dy·GELU'(x); dx may alias dy.
extern "C" __global__ void kd_gelu_backward(float *dx, const float *dy, const float *x, i64 n) {
	GRID_STRIDE(i, n) { dx[i] = dy[i] * gelu_grad_f(x[i]); }
}

// GEGLU: each row of x is [a | g] (2·cols values); out[r, c] = GELU(g)·a.
extern "C" __global__ void kd_geglu(float *out, const float *x, i64 rows, int cols) {
	GRID_STRIDE(i, rows * cols) {
		i64 r = i / cols, c = i % cols;
		float a = x[2 * r * cols + c], g = x[(2 * r + 1) * cols + c];
		out[i] = gelu_f(g) * a;
	}
}

// GEGLU's backward: da = GELU(g)·dout, dg = (dout·a)·GELU'(g), in the
// order kernels.GEGLUBackward rounds them.
extern "C" __global__ void kd_geglu_backward(float *dx, const float *dout, const float *x, i64 rows, int cols) {
	GRID_STRIDE(i, rows * cols) {
		i64 r = i / cols, c = i % cols;
		i64 ia = 2 * r * cols + c, ig = (2 * r + 1) * cols + c;
		float a = x[ia], g = x[ig], d = dout[i];
		dx[ia] = gelu_f(g) * d;
		dx[ig] = (d * a) * gelu_grad_f(g);
	}
}

// Dropout over slabs of size values: slab s draws its mask from
// (seed, streams[s]); survivors are scaled by scale = 1/(1-p) (computed in
// float32 on the host, as kernels.Dropout does), the rest are 0. out may
// alias x.
extern "C" __global__ void kd_dropout(float *out, const float *x, const u64 *streams, u64 seed,
		u32 threshold, float scale, i64 slabs, i64 size) {
	GRID_STRIDE(i, slabs * size) {
		i64 s = i / size, j = i % size;
		u64 key = dropout_key(seed, streams[s]);
		out[i] = dropout_keep(key, (u64)j, threshold) ? x[i] * scale : 0.0f;
	}
}

// out = dropout(P) for attention probabilities [bh, seq, seq]: head slab
// bh draws from (seed, streams[bh]), element (r, c) at counter r<<16 + c.
extern "C" __global__ void kd_dropout_probs(float *out, const float *P, const u64 *streams, u64 seed,
		u32 threshold, float scale, int seq, i64 heads) {
	i64 per = (i64)seq * seq;
	GRID_STRIDE(i, heads * per) {
		i64 bh = i / per, rem = i % per;
		u64 ctr = ((u64)(rem / seq) << PROBS_ROW_SHIFT) + (u64)(rem % seq);
		u64 key = dropout_key(seed, streams[bh]);
		out[i] = dropout_keep(key, ctr, threshold) ? P[i] * scale : 0.0f;
	}
}

// out[r, :] = table[ids[r], :] (+ out[r, :] when accumulate) for n rows
// of cols values.
extern "C" __global__ void kd_gather(float *out, const float *table, const int *ids, i64 n, int cols, int accumulate) {
	GRID_STRIDE(i, n * cols) {
		i64 r = i / cols, c = i % cols;
		float v = table[(i64)ids[r] * cols + c];
		out[i] = accumulate ? out[i] + v : v;
	}
}

// ScatterAdd, table[ids[i], :] += src[i, :], without races or atomics:
// the host sorts the row numbers by id (stably), so segment s is
// order[start[s]:start[s+1]], all rows of id segId[s], in ascending row
// order. One block per segment adds its rows into the table row in that
// order, which is the order (and so the rounding) of the CPU loop.
extern "C" __global__ void kd_scatter_add(float *table, const float *src, const int *order, const int *start,
		const int *segId, int segments, int cols) {
	for (int s = blockIdx.x; s < segments; s += gridDim.x) {
		float *row = table + (i64)segId[s] * cols;
		int lo = start[s], hi = start[s + 1];
		for (int c = threadIdx.x; c < cols; c += blockDim.x) {
			float acc = row[c];
			for (int k = lo; k < hi; k++) acc += src[(i64)order[k] * cols + c];
			row[c] = acc;
		}
	}
}

// split_heads copies one head-interleaved block of a [B, S, ld] matrix —
// columns off..off+H·D, laid out [H, D] — into [B, H, S, D], so each
// (sequence, head) is a contiguous S×D matrix for the batched GEMMs.
extern "C" __global__ void kd_split_heads(float *out, const float *in, int B, int S, int H, int D, int ld, int off) {
	GRID_STRIDE(i, (i64)B * H * S * D) {
		i64 d = i % D, s = (i / D) % S, h = (i / ((i64)D * S)) % H, b = i / ((i64)D * S * H);
		out[i] = in[(b * S + s) * ld + off + h * D + d];
	}
}

// merge_heads is split_heads' inverse: [B, H, S, D] into columns
// off..off+H·D of a [B, S, ld] matrix.
extern "C" __global__ void kd_merge_heads(float *out, const float *in, int B, int S, int H, int D, int ld, int off) {
	GRID_STRIDE(i, (i64)B * H * S * D) {
		i64 d = i % D, s = (i / D) % S, h = (i / ((i64)D * S)) % H, b = i / ((i64)D * S * H);
		out[(b * S + s) * ld + off + h * D + d] = in[i];
	}
}

// half_to_float converts n IEEE half values to float32 (a corpus block
// stored in half precision, before its GEMM).
extern "C" __global__ void kd_half_to_float(float *out, const unsigned short *in, i64 n) {
	GRID_STRIDE(i, n) { out[i] = half_to_float(in[i]); }
}

// AdamW's element update, train.adamwUpdate's expressions:
//   m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²
//   w = w·decay;  w -= step·m / (√v/bc2sqrt + eps)
extern "C" __global__ void kd_adamw(float *w, const float *g, float *m, float *v, i64 n,
		float decay, float b1, float b2, float eps, float step, float bc2sqrt) {
	GRID_STRIDE(i, n) {
		float gk = g[i];
		float mk = b1 * m[i] + (1.0f - b1) * gk;
		float vk = b2 * v[i] + (1.0f - b2) * gk * gk;
		m[i] = mk;
		v[i] = vk;
		float wk = w[i];
		if (decay != 1.0f) wk *= decay;
		w[i] = wk - step * mk / (sqrtf(vk) / bc2sqrt + eps);
	}
}

// sum_squares_partial writes, per block, Σ x² over its grid-stride share
// of x (accumulated in float64) into part[blockIdx.x]; the host adds the
// partials in block order.
extern "C" __global__ void kd_sum_squares_partial(double *part, const float *x, i64 n) {
	__shared__ double sh[32];
	double s = 0;
	GRID_STRIDE(i, n) { double v = x[i]; s += v * v; }
	s = block_sum_d(s, sh);
	if (threadIdx.x == 0) part[blockIdx.x] = s;
}
