//go:build cuda

package cuda

/*
#include "kd.h"
*/
import "C"

import (
	"fmt"
	"math"
	"slices"

	"github.com/kotodama-ai/kotodama/kernels"
)

// The kernels.Backend methods. Each checks its arguments on the calling
// goroutine (invalid sizes panic there, naming the argument, as the CPU
// backend's do), then queues its work on the worker. Shapes and semantics
// are the Backend interface's; the comments here say how the GPU does it.

// dev returns b's device address after checking that b is device memory
// holding at least need values.
func dev(op, name string, b kernels.Buf, need int) ptr {
	if need <= 0 {
		return ptr(b.Device())
	}
	if b.Device() == 0 {
		panic(fmt.Sprintf("cuda: %s: %s is not a device Buf (of this package's Alloc)", op, name))
	}
	if b.Len() < need {
		panic(fmt.Sprintf("cuda: %s: %s holds %d values, want %d", op, name, b.Len(), need))
	}
	return ptr(b.Device())
}

// opt is dev for an optional output: 0 when b is empty.
func opt(op, name string, b kernels.Buf, need int) ptr {
	if b.Len() == 0 {
		return 0
	}
	return dev(op, name, b, need)
}

func checkSizes(op string, sizes ...int) {
	for _, s := range sizes {
		if s < 0 {
			panic(fmt.Sprintf("cuda: %s: negative size in %v", op, sizes))
		}
	}
}

// span is the number of values a rows×cols matrix with row stride ld
// occupies.
func span(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

// checkGemm is kernels.Sgemm's argument check, on Bufs.
func checkGemm(op string, transA, transB bool, m, n, k int, a kernels.Buf, lda int, b kernels.Buf, ldb int, c kernels.Buf, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("cuda: %s: negative size m=%d n=%d k=%d", op, m, n, k))
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	switch {
	case lda < max(1, colsA):
		panic(fmt.Sprintf("cuda: %s: lda = %d < %d", op, lda, max(1, colsA)))
	case ldb < max(1, colsB):
		panic(fmt.Sprintf("cuda: %s: ldb = %d < %d", op, ldb, max(1, colsB)))
	case ldc < max(1, n):
		panic(fmt.Sprintf("cuda: %s: ldc = %d < %d", op, ldc, max(1, n)))
	case m > math.MaxInt32 || n > math.MaxInt32 || k > math.MaxInt32 || lda > math.MaxInt32 || ldb > math.MaxInt32 || ldc > math.MaxInt32:
		panic(fmt.Sprintf("cuda: %s: sizes beyond cuBLAS's 32-bit int", op))
	}
	if m > 0 && k > 0 {
		dev(op, "a", a, span(rowsA, colsA, lda))
	}
	if n > 0 && k > 0 {
		dev(op, "b", b, span(rowsB, colsB, ldb))
	}
	dev(op, "c", c, span(m, n, ldc))
}

// Gemm implements kernels.Backend with cuBLAS.
func (d *Device) Gemm(transA, transB bool, m, n, k int, alpha float32, a kernels.Buf, lda int, b kernels.Buf, ldb int, beta float32, c kernels.Buf, ldc int) {
	checkGemm("Gemm", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	d.do(func() {
		d.gemm(transA, transB, m, n, k, alpha, ptr(a.Device()), lda, 0, ptr(b.Device()), ldb, 0, beta, ptr(c.Device()), ldc, 0, 1, d.math)
	})
}

// GemmStrided implements kernels.Backend with cuBLAS's strided batches.
func (d *Device) GemmStrided(transA, transB bool, m, n, k int, alpha float32, a kernels.Buf, lda, strideA int, b kernels.Buf, ldb, strideB int, beta float32, c kernels.Buf, ldc, strideC int, batch int) {
	if batch < 0 || strideA < 0 || strideB < 0 || strideC < 0 {
		panic(fmt.Sprintf("cuda: GemmStrided: batch = %d, strides (%d, %d, %d)", batch, strideA, strideB, strideC))
	}
	if batch == 0 || m == 0 || n == 0 {
		checkSizes("GemmStrided", m, n, k)
		return
	}
	last := batch - 1
	// The last product must fit its Bufs; check it through views that
	// start where it does.
	view := func(x kernels.Buf, off int) kernels.Buf {
		if x.Device() == 0 || off >= x.Len() {
			return kernels.DeviceBuf(x.Device(), 0)
		}
		return x.Slice(off, x.Len()-off)
	}
	checkGemm("GemmStrided", transA, transB, m, n, k, view(a, last*strideA), lda, view(b, last*strideB), ldb, view(c, last*strideC), ldc)
	if batch > 1 && strideC < span(m, n, ldc) {
		panic(fmt.Sprintf("cuda: GemmStrided: strideC = %d < %d, the span of one C", strideC, span(m, n, ldc)))
	}
	if batch > math.MaxInt32 {
		panic("cuda: GemmStrided: batch beyond cuBLAS's 32-bit int")
	}
	d.do(func() {
		d.gemm(transA, transB, m, n, k, alpha, ptr(a.Device()), lda, strideA, ptr(b.Device()), ldb, strideB,
			beta, ptr(c.Device()), ldc, strideC, batch, d.math)
	})
}

// gemm queues C_i = alpha·op(A_i)·op(B_i) + beta·C_i for row-major
// matrices (strides in values); on the worker.
//
// cuBLAS is column-major: a row-major m×n matrix with row stride ld is the
// column-major n×m matrix with leading dimension ld, its transpose. So
// C = op(A)·op(B) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ: B first, the sizes
// n and m swapped, each operation flag kept.
//
// With k = 0 or alpha = 0 cuBLAS would still be asked to read A and B;
// BLAS semantics (C = beta·C, A and B unread) are kept with a kernel.
func (d *Device) gemm(transA, transB bool, m, n, k int, alpha float32, a ptr, lda, sa int, b ptr, ldb, sb int,
	beta float32, c ptr, ldc, sc int, batch int, mm Math) {
	if d.err != nil {
		return
	}
	if k == 0 || alpha == 0 {
		if beta != 1 {
			d.launch1D(d.fn.scaleMatrix, int64(m)*int64(n)*int64(batch), c, m, n, i64(ldc), i64(sc), batch, beta)
		}
		return
	}
	opA, opB := C.int(blasOpN), C.int(blasOpN)
	if transB {
		opA = blasOpT
	}
	if transA {
		opB = blasOpT
	}
	var s C.cublasStatus_t
	if batch == 1 {
		s = C.kd_gemm(d.blas, opA, opB, C.int(n), C.int(m), C.int(k), C.float(alpha),
			C.CUdeviceptr(b), C.int(ldb), C.CUdeviceptr(a), C.int(lda), C.float(beta), C.CUdeviceptr(c), C.int(ldc), mm.computeType())
	} else {
		s = C.kd_gemm_strided(d.blas, opA, opB, C.int(n), C.int(m), C.int(k), C.float(alpha),
			C.CUdeviceptr(b), C.int(ldb), C.longlong(sb), C.CUdeviceptr(a), C.int(lda), C.longlong(sa),
			C.float(beta), C.CUdeviceptr(c), C.int(ldc), C.longlong(sc), C.int(batch), mm.computeType())
	}
	d.fail(blasErr("cublasGemmEx", s))
}

// Gather implements kernels.Backend.
func (d *Device) Gather(out, table kernels.Buf, ids []int32, cols int, beta float32) {
	checkSizes("Gather", cols)
	if beta != 0 && beta != 1 {
		panic(fmt.Sprintf("cuda: Gather: beta = %v, want 0 or 1", beta))
	}
	n := len(ids)
	if n == 0 || cols == 0 {
		return
	}
	po := dev("Gather", "out", out, n*cols)
	pt := dev("Gather", "table", table, cols)
	rows := table.Len() / cols
	for i, id := range ids {
		if id < 0 || int(id) >= rows {
			panic(fmt.Sprintf("cuda: Gather: ids[%d] = %d outside the table's %d rows", i, id, rows))
		}
	}
	acc := 0
	if beta == 1 {
		acc = 1
	}
	d.do(func() {
		p := d.hostArrays(ids)
		d.launch1D(d.fn.gather, int64(n)*int64(cols), po, pt, ptr(p[0]), i64(n), cols, acc)
		d.endStage()
	})
}

// AddBias implements kernels.Backend.
func (d *Device) AddBias(x, bias kernels.Buf, rows, cols int) {
	checkSizes("AddBias", rows, cols)
	if rows*cols == 0 {
		return
	}
	px, pb := dev("AddBias", "x", x, rows*cols), dev("AddBias", "bias", bias, cols)
	d.do(func() { d.launch1D(d.fn.addBias, int64(rows)*int64(cols), px, pb, i64(rows), cols) })
}

// Add implements kernels.Backend.
func (d *Device) Add(out, x, y kernels.Buf, n int) {
	checkSizes("Add", n)
	if n == 0 {
		return
	}
	po, px, py := dev("Add", "out", out, n), dev("Add", "x", x, n), dev("Add", "y", y, n)
	d.do(func() { d.launch1D(d.fn.add, int64(n), po, px, py, i64(n)) })
}

// LayerNorm implements kernels.Backend: one block per row, statistics in
// float64 as on the CPU.
func (d *Device) LayerNorm(out, mean, rstd, x, gamma, beta kernels.Buf, rows, cols int, eps float32) {
	checkSizes("LayerNorm", rows, cols)
	if rows == 0 || cols == 0 {
		return
	}
	checkInt32("LayerNorm", rows, cols)
	po, px := dev("LayerNorm", "out", out, rows*cols), dev("LayerNorm", "x", x, rows*cols)
	pg, pb := dev("LayerNorm", "gamma", gamma, cols), dev("LayerNorm", "beta", beta, cols)
	pm, pr := opt("LayerNorm", "mean", mean, rows), opt("LayerNorm", "rstd", rstd, rows)
	d.do(func() { d.launchRows(d.fn.layerNorm, int64(rows), cols, po, pm, pr, px, pg, pb, rows, cols, eps) })
}

// GELU implements kernels.Backend.
func (d *Device) GELU(out, x kernels.Buf, n int) {
	checkSizes("GELU", n)
	if n == 0 {
		return
	}
	po, px := dev("GELU", "out", out, n), dev("GELU", "x", x, n)
	d.do(func() { d.launch1D(d.fn.gelu, int64(n), po, px, i64(n)) })
}

// Softmax implements kernels.Backend.
func (d *Device) Softmax(x kernels.Buf, rows, cols int) {
	checkSizes("Softmax", rows, cols)
	if rows == 0 || cols == 0 {
		return
	}
	checkInt32("Softmax", rows, cols)
	px := dev("Softmax", "x", x, rows*cols)
	d.do(func() { d.launchRows(d.fn.softmaxRows, int64(rows), cols, px, rows, cols) })
}

// SoftmaxBackward implements kernels.Backend.
func (d *Device) SoftmaxBackward(dy, y kernels.Buf, rows, cols int) {
	checkSizes("SoftmaxBackward", rows, cols)
	if rows == 0 || cols == 0 {
		return
	}
	checkInt32("SoftmaxBackward", rows, cols)
	pd, py := dev("SoftmaxBackward", "dy", dy, rows*cols), dev("SoftmaxBackward", "y", y, rows*cols)
	d.do(func() { d.launchRows(d.fn.softmaxBackwardRows, int64(rows), cols, pd, py, rows, cols) })
}

// GEGLU implements kernels.Backend.
func (d *Device) GEGLU(out, x kernels.Buf, rows, cols int) {
	checkSizes("GEGLU", rows, cols)
	if rows == 0 || cols == 0 {
		return
	}
	po, px := dev("GEGLU", "out", out, rows*cols), dev("GEGLU", "x", x, 2*rows*cols)
	d.do(func() { d.launch1D(d.fn.geglu, int64(rows)*int64(cols), po, px, i64(rows), cols) })
}

// GEGLUBackward implements kernels.Backend.
func (d *Device) GEGLUBackward(dx, dout, x kernels.Buf, rows, cols int) {
	checkSizes("GEGLUBackward", rows, cols)
	if rows == 0 || cols == 0 {
		return
	}
	pdx, pd, px := dev("GEGLUBackward", "dx", dx, 2*rows*cols), dev("GEGLUBackward", "dout", dout, rows*cols), dev("GEGLUBackward", "x", x, 2*rows*cols)
	d.do(func() { d.launch1D(d.fn.gegluBackward, int64(rows)*int64(cols), pdx, pd, px, i64(rows), cols) })
}

// MaskedMax implements kernels.Backend: one thread per (sequence, column).
func (d *Device) MaskedMax(out, x kernels.Buf, mask []int32, batch, seq, cols, ldOut int) {
	checkSizes("MaskedMax", batch, seq, cols, ldOut)
	if batch == 0 || cols == 0 {
		return
	}
	if len(mask) < batch*seq {
		panic(fmt.Sprintf("cuda: MaskedMax: mask of %d for batch=%d seq=%d", len(mask), batch, seq))
	}
	po, px := dev("MaskedMax", "out", out, (batch-1)*ldOut+cols), dev("MaskedMax", "x", x, batch*seq*cols)
	d.do(func() {
		p := d.hostArrays(mask[:batch*seq])
		d.launch1D(d.fn.maskedMax, int64(batch)*int64(cols), po, px, ptr(p[0]), batch, seq, cols, ldOut)
		d.endStage()
	})
}

// MaskedMaxBackward implements kernels.Backend.
func (d *Device) MaskedMaxBackward(dx, dout, x kernels.Buf, mask []int32, batch, seq, cols, ldOut int) {
	checkSizes("MaskedMaxBackward", batch, seq, cols, ldOut)
	if batch == 0 || cols == 0 {
		return
	}
	if len(mask) < batch*seq {
		panic(fmt.Sprintf("cuda: MaskedMaxBackward: mask of %d for batch=%d seq=%d", len(mask), batch, seq))
	}
	pdx, pd := dev("MaskedMaxBackward", "dx", dx, batch*seq*cols), dev("MaskedMaxBackward", "dout", dout, (batch-1)*ldOut+cols)
	px := dev("MaskedMaxBackward", "x", x, batch*seq*cols)
	d.do(func() {
		p := d.hostArrays(mask[:batch*seq])
		d.launch1D(d.fn.maskedMaxBackward, int64(batch)*int64(cols), pdx, pd, px, ptr(p[0]), batch, seq, cols, ldOut)
		d.endStage()
	})
}

// LayerNormBackward implements kernels.Backend: the column sums of dgamma
// and dbeta first (dx may alias dout), in two deterministic stages, then
// dx one block per row.
func (d *Device) LayerNormBackward(dx, dgamma, dbeta, dout, x, gamma, mean, rstd kernels.Buf, rows, cols int) {
	checkSizes("LayerNormBackward", rows, cols)
	if rows == 0 || cols == 0 {
		return
	}
	checkInt32("LayerNormBackward", rows, cols)
	const op = "LayerNormBackward"
	pdx, pdg, pdb := dev(op, "dx", dx, rows*cols), dev(op, "dgamma", dgamma, cols), dev(op, "dbeta", dbeta, cols)
	pd, px, pg := dev(op, "dout", dout, rows*cols), dev(op, "x", x, rows*cols), dev(op, "gamma", gamma, cols)
	pm, pr := dev(op, "mean", mean, rows), dev(op, "rstd", rstd, rows)
	d.do(func() {
		d.colsum(pdb, pdg, pd, px, pm, pr, rows, cols)
		d.launchRows(d.fn.layerNormDx, int64(rows), cols, pdx, pd, px, pg, pm, pr, rows, cols)
	})
}

// BiasBackward implements kernels.Backend.
func (d *Device) BiasBackward(db, dy kernels.Buf, rows, cols int) {
	checkSizes("BiasBackward", rows, cols)
	if rows == 0 || cols == 0 {
		return
	}
	checkInt32("BiasBackward", rows, cols)
	pdb, pdy := dev("BiasBackward", "db", db, cols), dev("BiasBackward", "dy", dy, rows*cols)
	d.do(func() { d.colsum(pdb, 0, pdy, 0, 0, 0, rows, cols) })
}

// colsum queues db[c] += Σ_r dy[r, c] and, when dg is not 0,
// dg[c] += Σ_r dy[r, c]·(x[r, c]-mean[r])·rstd[r]; on the worker. Rows are
// cut into at most 256 chunks whose partial sums a second kernel adds in
// chunk order, so the result does not depend on scheduling.
func (d *Device) colsum(db, dg, dy, x, mean, rstd ptr, rows, cols int) {
	chunk := max(8, (rows+255)/256)
	chunks := (rows + chunk - 1) / chunk
	part := ptr(d.scratch(scPart, 2*chunks*cols))
	part1 := part + ptr(4*chunks*cols)
	d.launch(d.fn.colsumPartial, [3]int{(cols + 31) / 32, chunks, 1}, [3]int{32, 8, 1}, 0,
		part, part1, dy, x, mean, rstd, rows, cols, chunk)
	d.launch1D(d.fn.colsumFinal, int64(cols), db, dg, part, part1, chunks, cols)
}

// GELUBackward implements kernels.Backend.
func (d *Device) GELUBackward(dx, dy, x kernels.Buf, n int) {
	checkSizes("GELUBackward", n)
	if n == 0 {
		return
	}
	pdx, pdy, px := dev("GELUBackward", "dx", dx, n), dev("GELUBackward", "dy", dy, n), dev("GELUBackward", "x", x, n)
	d.do(func() { d.launch1D(d.fn.geluBackward, int64(n), pdx, pdy, px, i64(n)) })
}

// ScatterAdd implements kernels.Backend without atomics: the rows are
// grouped by id on the host (a stable sort, so each group keeps row
// order), and one block per id adds its group's rows in that order — the
// CPU's order of additions, so the sums are bit for bit the CPU's.
func (d *Device) ScatterAdd(table, src kernels.Buf, ids []int32, cols int) {
	checkSizes("ScatterAdd", cols)
	n := len(ids)
	if n == 0 || cols == 0 {
		return
	}
	pt := dev("ScatterAdd", "table", table, cols)
	ps := dev("ScatterAdd", "src", src, n*cols)
	rows := table.Len() / cols
	for i, id := range ids {
		if id < 0 || int(id) >= rows {
			panic(fmt.Sprintf("cuda: ScatterAdd: ids[%d] = %d outside the table's %d rows", i, id, rows))
		}
	}
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return int(ids[a]) - int(ids[b]) })
	var start, seg []int32
	for k, r := range order {
		if k == 0 || ids[r] != ids[order[k-1]] {
			start = append(start, int32(k))
			seg = append(seg, ids[r])
		}
	}
	start = append(start, int32(n))
	segments := len(seg)
	d.do(func() {
		p := d.hostArrays(order, start, seg)
		blocks := min(segments, max(d.sms, 1)*64)
		d.launch(d.fn.scatterAdd, [3]int{blocks, 1, 1}, [3]int{128, 1, 1}, 0,
			pt, ps, ptr(p[0]), ptr(p[1]), ptr(p[2]), segments, cols)
		d.endStage()
	})
}

// dropoutParams is kernels' dropoutThreshold and scale: a survivor's draw
// u/2²⁴ is at least p, and it is scaled by 1/(1−p) rounded in float32.
func dropoutParams(op string, p float32) (threshold uint32, scale float32) {
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("cuda: %s: dropout probability %v outside [0, 1)", op, p))
	}
	return uint32(float64(p) * (1 << 24)), 1 / (1 - p)
}

// Dropout implements kernels.Backend with kernels' counter-based masks,
// bit for bit.
func (d *Device) Dropout(out, x kernels.Buf, p float32, seed uint64, streams []uint64, size int) {
	checkSizes("Dropout", size)
	th, scale := dropoutParams("Dropout", p)
	n := len(streams) * size
	if n == 0 {
		return
	}
	po, px := dev("Dropout", "out", out, n), dev("Dropout", "x", x, n)
	d.do(func() {
		if th == 0 {
			// p below 2⁻²⁴ drops nothing: a copy, as on the CPU.
			if po != px {
				d.fail(cuCheck("cuMemcpyDtoDAsync", C.kd_cuMemcpyDtoDAsync(C.CUdeviceptr(po), C.CUdeviceptr(px), C.size_t(4*n), d.stream)))
			}
			return
		}
		s := d.hostArrays(streams)
		d.launch1D(d.fn.dropout, int64(n), po, px, ptr(s[0]), u64(seed), u32(th), scale, i64(len(streams)), i64(size))
		d.endStage()
	})
}

func checkInt32(op string, sizes ...int) {
	for _, s := range sizes {
		if s > math.MaxInt32 {
			panic(fmt.Sprintf("cuda: %s: size %d beyond 32 bits", op, s))
		}
	}
}
