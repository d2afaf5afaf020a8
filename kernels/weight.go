package kernels

import "fmt"

// Weight is the weight matrix W of a linear layer, out×in as PyTorch
// stores it (y = x·Wᵀ), in the form a Backend multiplies fastest: made
// once by Backend.PackWeight, then multiplied batch after batch by
// Backend.GemmWeight. On the CPU it is Wᵀ packed by PackB, so products
// skip packing it; a Backend with no packed form of its own keeps W as
// stored (PlainWeight). The zero value is an empty 0×0 weight.
type Weight struct {
	plain   Buf // W as stored, [out, in], when not packed
	out, in int
	packed  *PackedB // Wᵀ in the CPU microkernel's layout, or nil
}

// PlainWeight wraps w, an out×in matrix as stored, as a Weight that
// GemmWeight multiplies as Gemm(false, true, ...) would: what a Backend
// that does not pack returns from PackWeight.
func PlainWeight(w Buf, out, in int) Weight {
	checkWeight("PlainWeight", w, out, in)
	return Weight{plain: w, out: out, in: in}
}

// Out returns the number of rows of W (the layer's outputs).
func (w Weight) Out() int { return w.out }

// In returns the number of columns of W (the layer's inputs).
func (w Weight) In() int { return w.in }

// Plain returns W as stored, [Out, In], for a PlainWeight, or an empty
// Buf for a packed Weight.
func (w Weight) Plain() Buf { return w.plain }

func checkWeight(op string, w Buf, out, in int) {
	if out < 0 || in < 0 {
		panic(fmt.Sprintf("kernels: %s: negative size out=%d in=%d", op, out, in))
	}
	if w.n < out*in {
		panic(fmt.Sprintf("kernels: %s: a Buf of %d for a %d×%d weight", op, w.n, out, in))
	}
}

// PackWeight implements Backend: Wᵀ packed by PackB for the dispatch
// level in use. When the packed form is no larger than W — out a multiple
// of the microkernel's NR columns (32 for AVX-512, 16 for AVX2 and NEON),
// as in every BERT-base and BERT-large layer — it is written over w's own
// storage, so that packing costs no memory beyond a transient copy of W;
// otherwise it is a new allocation and w is left as it was.
func (c *CPU) PackWeight(w Buf, out, in int) Weight {
	checkWeight("PackWeight", w, out, in)
	// The copy of W comes from the scratch pool, so that packing a model's
	// weights one after another reuses one buffer rather than leaving a
	// copy of each to the garbage collector (which would raise the peak
	// memory by up to the size of the weights).
	tmp := c.scores(out * in)
	defer c.scratch.Put(tmp)
	return packWeight(active.gemm, w, out, in, (*tmp)[:out*in])
}

// packWeight packs W (out×in in w) for gk, over w's storage when the
// packed form fits, with tmp (out·in values, or nil to allocate) holding
// the copy of W it packs from.
func packWeight(gk *gemmKernel, w Buf, out, in int, tmp []float32) Weight {
	checkWeight("PackWeight", w, out, in)
	if w.host == nil && out*in > 0 {
		panic("kernels: PackWeight: w is not a host Buf")
	}
	src := w.host[:out*in]
	var dst []float32
	if packedLen(gk, in, out) <= out*in {
		// The panels gather columns from every row of W, so pack from a
		// copy into W's storage.
		if tmp == nil {
			tmp = make([]float32, out*in)
		}
		dst, src = src, tmp[:out*in]
		copy(src, dst)
	}
	return Weight{out: out, in: in, packed: packBInto(gk, dst, true, in, out, src, max(1, in))}
}

// GemmWeight implements Backend: SgemmPacked with the packed Wᵀ on c's
// threads, or Sgemm for a PlainWeight.
func (c *CPU) GemmWeight(m int, alpha float32, a Buf, lda int, w Weight, beta float32, cm Buf, ldc int) {
	if w.packed == nil {
		c.pool.Sgemm(false, true, m, w.out, w.in, alpha, a.host, lda, w.plain.host, max(1, w.in), beta, cm.host, ldc)
		return
	}
	c.pool.SgemmPacked(false, m, alpha, a.host, lda, w.packed, beta, cm.host, ldc)
}
