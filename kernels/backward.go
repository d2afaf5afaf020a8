package kernels

import (
	"fmt"
	"math"
)

// Backward passes of the vec.go operations, for training, each checked
// against float64 finite differences in backward_test.go. Parameter
// gradients (dgamma, dbeta, db, embedding tables) accumulate (+=), so
// micro-batches add up; the gradient of an activation is overwritten (=)
// where the doc comment says so, which saves clearing a buffer that only
// one producer writes.

// LayerNormBackward computes the gradients of LayerNorm (rows of cols
// values) given dout, the forward input x, gamma and the per-row mean and
// rstd LayerNorm saved; dx is overwritten and may alias dout, dgamma and
// dbeta accumulate:
//
//	x̂ = (x−μ)·rstd;  g = dout·gamma
//	dx      = rstd·(g − mean(g) − x̂·mean(g·x̂))
//	dgamma += Σ_rows dout·x̂
//	dbeta  += Σ_rows dout
//
// dgamma and dbeta may be nil to skip them.
func LayerNormBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd []float32, cols int) {
	if cols <= 0 {
		return
	}
	rows := len(x) / cols
	if len(x)%cols != 0 || len(dx) < len(x) || len(dout) < len(x) || len(gamma) != cols || len(mean) < rows || len(rstd) < rows ||
		(dgamma != nil && len(dgamma) != cols) || (dbeta != nil && len(dbeta) != cols) {
		panic(fmt.Sprintf("kernels: LayerNormBackward: len(x)=%d len(dx)=%d len(dout)=%d len(gamma)=%d len(mean)=%d len(rstd)=%d cols=%d",
			len(x), len(dx), len(dout), len(gamma), len(mean), len(rstd), cols))
	}
	for r := 0; r < rows; r++ {
		xr, dor, dxr := x[r*cols:(r+1)*cols], dout[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
		mu, rs := mean[r], rstd[r]
		var sg, sgx float32
		for c, v := range xr {
			xh := (v - mu) * rs
			g := dor[c] * gamma[c]
			sg += g
			sgx += g * xh
		}
		sg /= float32(cols)
		sgx /= float32(cols)
		for c, v := range xr {
			xh := (v - mu) * rs
			d := dor[c]
			if dgamma != nil {
				dgamma[c] += d * xh
			}
			if dbeta != nil {
				dbeta[c] += d
			}
			// float32(·) rounds d·γ as the first loop did, so no fused
			// multiply-add (arm64, GOAMD64=v3) leaves a residue that rs
			// (up to 1/√eps) would amplify where x̂ is 0 or ±1.
			dxr[c] = rs * (float32(d*gamma[c]) - sg - xh*sgx)
		}
	}
}

// GELUBackward sets dx = dout·GELU'(x) for the exact (erf) GELU,
// GELU'(x) = Φ(x) + x·φ(x); dx may alias dout. Φ and φ are evaluated in
// float32 with the erf and exp of GELU's forward (erf32, exp32: errors
// near 1e-7), not math.Erf, which would dominate a training step.
func GELUBackward(dx, dout, x []float32) {
	dx, dout = dx[:len(x)], dout[:len(x)]
	const invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
	for i, v := range x {
		cdf := 0.5 * (1 + erf32(v*(1/math.Sqrt2)))
		pdf := invSqrt2Pi * exp32(-0.5*v*v)
		dx[i] = dout[i] * (cdf + v*pdf)
	}
}

// GELUTanhBackward sets dx = dout·GELUTanh'(x); dx may alias dout.
func GELUTanhBackward(dx, dout, x []float32) {
	dx, dout = dx[:len(x)], dout[:len(x)]
	const c = 0.7978845608028654 // √(2/π)
	for i, v := range x {
		f := float64(v)
		u := c * (f + 0.044715*f*f*f)
		th := math.Tanh(u)
		d := 0.5*(1+th) + 0.5*f*(1-th*th)*c*(1+3*0.044715*f*f)
		dx[i] = dout[i] * float32(d)
	}
}

// SoftmaxBackward turns dy, the gradient with respect to the output y of
// Softmax (rows of cols values), into the gradient with respect to its
// input, in place: dy ← y·(dy − Σ_c dy·y). Masked columns (y = 0) get 0.
// It overwrites rather than accumulates because the input of a softmax
// (attention scores) feeds nothing else.
func SoftmaxBackward(dy, y []float32, cols int) {
	if cols <= 0 {
		return
	}
	if len(y)%cols != 0 || len(dy) < len(y) {
		panic(fmt.Sprintf("kernels: SoftmaxBackward: len(y)=%d len(dy)=%d cols=%d", len(y), len(dy), cols))
	}
	for r := 0; r < len(y); r += cols {
		yr, dr := y[r:r+cols], dy[r:r+cols]
		var s float32
		for c, v := range yr {
			s += v * dr[c]
		}
		for c, v := range yr {
			dr[c] = v * (dr[c] - s)
		}
	}
}

// BiasBackward adds the column sums of dy (rows of len(db) values) to db:
// the gradient of a bias added to every row.
func BiasBackward(db, dy []float32) {
	cols := len(db)
	if cols == 0 {
		return
	}
	if len(dy)%cols != 0 {
		panic(fmt.Sprintf("kernels: BiasBackward: len(dy) = %d is not a multiple of len(db) = %d", len(dy), cols))
	}
	for r := 0; r < len(dy); r += cols {
		for c, v := range dy[r : r+cols] {
			db[c] += v
		}
	}
}

// Mul computes out[i] = x[i]·y[i] over len(x); out may alias x or y.
// Dropout's forward and backward are both a Mul by the scaled mask.
func Mul(out, x, y []float32) {
	out, y = out[:len(x)], y[:len(x)]
	for i, v := range x {
		out[i] = v * y[i]
	}
}

// ScatterAdd adds each row of src to the table row its id names,
// table[ids[i],:] += src[i,:] (rows of cols values): the backward pass of
// an embedding lookup (Backend.Gather), where repeated ids accumulate.
func ScatterAdd(table, src []float32, ids []int32, cols int) {
	checkScatter(table, src, ids, cols)
	for i, id := range ids {
		Axpy(1, src[i*cols:(i+1)*cols], table[int(id)*cols:int(id+1)*cols])
	}
}

func checkScatter(table, src []float32, ids []int32, cols int) {
	if cols < 0 || len(src) < len(ids)*cols {
		panic(fmt.Sprintf("kernels: ScatterAdd: %d rows of %d from a slice of %d", len(ids), cols, len(src)))
	}
	rows := 0
	if cols > 0 {
		rows = len(table) / cols
	}
	for i, id := range ids {
		if id < 0 || int(id) >= rows {
			panic(fmt.Sprintf("kernels: ScatterAdd: ids[%d] = %d outside the table's %d rows", i, id, rows))
		}
	}
}

// MaskedMaxBackward adds dout[b,c] to dx[b,l,c] at the position l where
// the masked maximum of x[b,:,c] was taken: the first unmasked position
// holding the maximum, as torch.max's index. A sequence with no unmasked
// position took the constant -1e9 and passes no gradient. x and dx are
// [batch, seq, cols]; dout row b starts at dout[b*ldOut].
func MaskedMaxBackward(dx, dout, x []float32, mask []int32, batch, seq, cols, ldOut int) {
	if len(x) < batch*seq*cols || len(dx) < batch*seq*cols || len(mask) < batch*seq || (batch > 0 && len(dout) < (batch-1)*ldOut+cols) {
		panic(fmt.Sprintf("kernels: MaskedMaxBackward: x of %d, dx of %d, dout of %d, mask of %d for batch=%d seq=%d cols=%d ldOut=%d",
			len(x), len(dx), len(dout), len(mask), batch, seq, cols, ldOut))
	}
	for b := range batch {
		for c := range cols {
			best, at := float32(0), -1
			for l := range seq {
				if mask[b*seq+l] == 0 {
					continue
				}
				if v := x[(b*seq+l)*cols+c]; at < 0 || v > best {
					best, at = v, l
				}
			}
			if at >= 0 {
				dx[(b*seq+at)*cols+c] += dout[b*ldOut+c]
			}
		}
	}
}
