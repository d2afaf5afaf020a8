// LayerNorm forward and backward, and the column sums of bias and
// LayerNorm parameter gradients.

// One block per row of x (rows×cols): out = (x-μ)·rstd·gamma + beta with
// μ and the biased variance accumulated in float64 over two passes, and
// rstd = 1/√(σ²+eps) rounded once to float32 — kernels.LayerNorm's
// arithmetic. mean and rstd (may be null) receive μ and rstd. out may
// alias x: every thread reads its columns before the barriers inside the
// sums and writes them after.
extern "C" __global__ void kd_layernorm(float *out, float *mean, float *rstd, const float *x,
		const float *gamma, const float *beta, int rows, int cols, float eps) {
	__shared__ double sh[32];
	for (int r = blockIdx.x; r < rows; r += gridDim.x) {
		const float *xr = x + (i64)r * cols;
		float *orow = out + (i64)r * cols;
		double s = 0;
		for (int c = threadIdx.x; c < cols; c += blockDim.x) s += (double)xr[c];
		s = block_sum_d(s, sh);
		float mu = (float)(s / cols);
		double v = 0;
		for (int c = threadIdx.x; c < cols; c += blockDim.x) {
			double d = (double)(xr[c] - mu);
			v += d * d;
		}
		v = block_sum_d(v, sh);
		float rs = (float)(1.0 / sqrt(v / cols + (double)eps));
		for (int c = threadIdx.x; c < cols; c += blockDim.x) orow[c] = (xr[c] - mu) * rs * gamma[c] + beta[c];
		if (threadIdx.x == 0) {
			if (mean) mean[r] = mu;
			if (rstd) rstd[r] = rs;
		}
		__syncthreads();
	}
}

// LayerNorm's input gradient, one block per row (kernels.LayerNormBackward):
//   x̂ = (x-μ)·rstd;  g = dout·gamma
//   dx = rstd·(g − mean(g) − x̂·mean(g·x̂))
// dx may alias dout.
extern "C" __global__ void kd_layernorm_dx(float *dx, const float *dout, const float *x, const float *gamma,
		const float *mean, const float *rstd, int rows, int cols) {
	__shared__ float sh[32];
	for (int r = blockIdx.x; r < rows; r += gridDim.x) {
		const float *xr = x + (i64)r * cols, *dr = dout + (i64)r * cols;
		float *dxr = dx + (i64)r * cols;
		float mu = mean[r], rs = rstd[r];
		float sg = 0, sgx = 0;
		for (int c = threadIdx.x; c < cols; c += blockDim.x) {
			float xh = (xr[c] - mu) * rs;
			float g = dr[c] * gamma[c];
			sg += g;
			sgx += g * xh;
		}
		sg = block_sum_f(sg, sh) / (float)cols;
		sgx = block_sum_f(sgx, sh) / (float)cols;
		for (int c = threadIdx.x; c < cols; c += blockDim.x) {
			float xh = (xr[c] - mu) * rs;
			dxr[c] = rs * (dr[c] * gamma[c] - sg - xh * sgx);
		}
		__syncthreads();
	}
}

// Column sums over rows, deterministically in two stages. Stage one: block
// (bx, by) of 32×8 threads sums columns bx·32.. over the rows of chunk by
// (chunk rows each) and writes part0[by, c] = Σ dy and, when x is not
// null, part1[by, c] = Σ dy·x̂ with x̂ = (x-mean[r])·rstd[r] (the gradients
// of beta / a bias and of gamma).
extern "C" __global__ void kd_colsum_partial(float *part0, float *part1, const float *dy, const float *x,
		const float *mean, const float *rstd, int rows, int cols, int chunk) {
	__shared__ float s0[8][33], s1[8][33];
	int c = blockIdx.x * 32 + threadIdx.x;
	int lo = blockIdx.y * chunk, hi = min(rows, lo + chunk);
	float a0 = 0, a1 = 0;
	if (c < cols) {
		for (int r = lo + threadIdx.y; r < hi; r += 8) {
			float d = dy[(i64)r * cols + c];
			a0 += d;
			if (x) a1 += d * ((x[(i64)r * cols + c] - mean[r]) * rstd[r]);
		}
	}
	s0[threadIdx.y][threadIdx.x] = a0;
	s1[threadIdx.y][threadIdx.x] = a1;
	__syncthreads();
	if (threadIdx.y == 0 && c < cols) {
		float t0 = 0, t1 = 0;
		for (int k = 0; k < 8; k++) {
			t0 += s0[k][threadIdx.x];
			t1 += s1[k][threadIdx.x];
		}
		part0[(i64)blockIdx.y * cols + c] = t0;
		if (x) part1[(i64)blockIdx.y * cols + c] = t1;
	}
}

// Stage two: db[c] += Σ_chunks part0[., c], and dg[c] += Σ part1[., c]
// when dg is not null.
extern "C" __global__ void kd_colsum_final(float *db, float *dg, const float *part0, const float *part1,
		int chunks, int cols) {
	GRID_STRIDE(c, (i64)cols) {
		float t0 = 0, t1 = 0;
		for (int k = 0; k < chunks; k++) {
			t0 += part0[(i64)k * cols + c];
			if (dg) t1 += part1[(i64)k * cols + c];
		}
		db[c] += t0;
		if (dg) dg[c] += t1;
	}
}
