package kernels

import "fmt"

// PackedB is the B operand of a product packed once, in the layout the
// GEMM microkernel reads, for products that reuse it: a layer's weight
// matrix multiplied by batch after batch. Sgemm packs B on every call;
// that costs about as much as the arithmetic of a 16-row product, so
// SgemmPacked saves most for small batches (a query, a short sequence) and
// a few percent for large ones.
//
// A PackedB is read-only once made and safe for concurrent use. It holds
// a copy (about k·n floats); later changes to B do not reach it. It is
// made for the dispatch level in use when PackB ran.
type PackedB struct {
	gk     *gemmKernel
	k, n   int
	kc     int // depth of each packed block: Sgemm's blocking of k
	panels int // micro-panels of NR columns: ceil(n/NR)
	data   []float32
}

// PackB packs op(B) for SgemmPacked: op(B) is k×n, B as stored is k×n
// with row stride ldb, or n×k when transB (PyTorch's weight layout,
// out×in). Invalid arguments panic, naming the argument, as in Sgemm.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	return packB(active.gemm, transB, k, n, b, ldb)
}

func packB(gk *gemmKernel, transB bool, k, n int, b []float32, ldb int) *PackedB {
	return packBInto(gk, nil, transB, k, n, b, ldb)
}

// packedLen is the number of values a PackedB of a k×n op(B) holds: k
// rows of n columns rounded up to whole micro-panels.
func packedLen(gk *gemmKernel, k, n int) int { return k * ceilDiv(n, gk.nr) * gk.nr }

// packBInto is packB writing the panels into dst when it holds
// packedLen(gk, k, n) values (dst must not overlap b), allocating when dst
// is nil.
func packBInto(gk *gemmKernel, dst []float32, transB bool, k, n int, b []float32, ldb int) *PackedB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("kernels: PackB: negative size k=%d n=%d", k, n))
	}
	rows, cols := k, n
	if transB {
		rows, cols = n, k
	}
	if ldb < max(1, cols) {
		panic(fmt.Sprintf("kernels: PackB: ldb = %d < %d", ldb, max(1, cols)))
	}
	if need := span(rows, cols, ldb); len(b) < need {
		panic(fmt.Sprintf("kernels: PackB: len(b) = %d < %d", len(b), need))
	}
	pb := &PackedB{gk: gk, k: k, n: n, panels: ceilDiv(n, gk.nr)}
	if k == 0 || n == 0 {
		return pb
	}
	pb.kc = ceilDiv(k, ceilDiv(k, gk.kc))
	nr := gk.nr
	if size := packedLen(gk, k, n); dst == nil {
		pb.data = make([]float32, size)
	} else {
		pb.data = dst[:size:size]
	}
	g := gemmCall{gk: gk, transB: transB, k: k, n: n, b: b, ldb: ldb}
	for pc := 0; pc < k; pc += pb.kc {
		kb := min(pb.kc, k-pc)
		for q := range pb.panels {
			j := q * nr
			g.packB(pb.panel(pc, kb, j), pc, kb, j, min(nr, n-j))
		}
	}
	return pb
}

// panel returns the B micro-panel of depth block [pc, pc+kb) and columns
// [j, j+NR): the blocks lie one after another, each holding its panels in
// order.
func (pb *PackedB) panel(pc, kb, j int) []float32 {
	nr := pb.gk.nr
	o := pc*pb.panels*nr + j/nr*kb*nr
	return pb.data[o : o+kb*nr : o+kb*nr]
}

// K and N return the shape of op(B).
func (pb *PackedB) K() int { return pb.k }

// N returns the number of columns of op(B).
func (pb *PackedB) N() int { return pb.n }

// SgemmPacked computes C = alpha*op(A)*B + beta*C with B packed by PackB:
// the same result, bit for bit, as Sgemm with the B that was packed. op(A)
// is m×b.K(), C is m×b.N(). It runs on the Default pool; see
// Pool.SgemmPacked to choose threads.
func SgemmPacked(transA bool, m int, alpha float32, a []float32, lda int, b *PackedB, beta float32, c []float32, ldc int) {
	Default().SgemmPacked(transA, m, alpha, a, lda, b, beta, c, ldc)
}

// SgemmPacked is the package-level SgemmPacked on p's threads.
func (p *Pool) SgemmPacked(transA bool, m int, alpha float32, a []float32, lda int, b *PackedB, beta float32, c []float32, ldc int) {
	if b == nil {
		panic("kernels: SgemmPacked: nil PackedB")
	}
	k, n := b.k, b.n
	checkAC(m, n, k, transA, a, lda, c, ldc) // B was checked when packed
	p.product(gemmCall{gk: b.gk, transA: transA, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, beta: beta, c: c, ldc: ldc, pb: b})
}
