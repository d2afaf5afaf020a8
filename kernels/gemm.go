package kernels

import "unsafe"

// gemmKernel is one register-blocked microkernel together with the cache
// blocks tuned for it: one row of BLIS's block-size table. Each dispatch
// level names one (see impl.gemm); the loops in gemmSerial are the same for
// all of them.
//
// The microkernel contract. micro(k, a, lda, b, c, ldc, alpha, beta, next)
// computes one MR×NR tile of C from packed panels, for 1 <= k <= KC:
//
//	for i := 0; i < MR; i++ {
//		for j := 0; j < NR; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[i*lda+p] * b[p*NR+j]
//			}
//			if beta == 0 {
//				c[i*ldc+j] = alpha * s // C is not read
//			} else {
//				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//			}
//		}
//	}
//
// a is an A micro-panel: MR rows of k values, row i at a[i*lda:]. b is a B
// micro-panel: k rows of NR values, contiguous. The sum may be evaluated in
// any order and with fused multiply-adds. The kernel has no loops over m
// or n: edges are the caller's business (it pads the panels with zeros and
// lets the kernel write a scratch tile). next is a hint: memory the
// caller reads soon, which the kernel may prefetch while it computes (it
// never reads it otherwise, and nil is fine). Assembly kernels read and
// write nothing outside the slices they are given; their Go wrappers
// check the slice lengths once per call.
type gemmKernel struct {
	name   string // e.g. "avx512_12x32": ISA and MR×NR
	mr, nr int    // register tile: rows × columns of C
	kc     int    // depth of packed panels: an A micro-panel (MR×KC) stays in L1
	mc     int    // rows of A packed per block (L3); a multiple of mr
	nc     int    // columns of B packed per block (L2); a multiple of nr
	micro  func(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, next []float32)

	// Optional vector versions of the B packing (packBN for B as stored,
	// packBT for Bᵀ); nil means the portable Go.
	// They pack one micro-panel like gemmCall.packB: dst[p*NR+c] =
	// op(B)[p][c] for p < kb, c < nt, zeros for c >= nt, where b starts
	// at op(B)[0][0].
	packBN, packBT func(dst, b []float32, ldb, kb, nt int)
}

// parallelMinWork is the m·n·k below which a GEMM stays on the calling
// goroutine: waking a worker costs a few microseconds, about what such a
// product takes on one core.
const parallelMinWork = 96 * 96 * 96

func (p *Pool) parallelMinWork() int {
	if p.minWork > 0 {
		return p.minWork
	}
	return parallelMinWork
}

// gemm computes C = alpha*op(A)*op(B) + beta*C with kernel gk on p's
// threads. Arguments are checked.
func (p *Pool) gemm(gk *gemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	p.product(gemmCall{gk: gk, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc})
}

// product performs a checked product on p's threads.
func (p *Pool) product(g gemmCall) {
	gk, m, n, k := g.gk, g.m, g.n, g.k
	if m == 0 || n == 0 {
		return
	}
	if g.alpha == 0 || k == 0 {
		// Reference BLAS: A and B are not read, so their NaNs do not reach C.
		scaleRows(m, n, g.beta, g.c, g.ldc)
		return
	}
	if p.threads == 1 || m*n*k < p.parallelMinWork() {
		g.serial(p, 0, m, 0, n)
		return
	}
	tm, tn := splitThreads(p.threads, m, n, gk.mr, gk.nr)
	rows := roundUp(ceilDiv(m, tm), gk.mr)
	cols := roundUp(ceilDiv(n, tn), gk.nr)
	t := p.newTask()
	t.gemmBody = gemmGrid{g: g, pool: p, rows: rows, cols: cols, tn: ceilDiv(n, cols)}
	t.body = &t.gemmBody
	p.run(t, ceilDiv(m, rows)*t.gemmBody.tn)
}

// gemmGrid is a parallel Sgemm: item t computes block (t/tn, t%tn) of a
// grid of rows×cols blocks over C, each an independent serial product.
type gemmGrid struct {
	g          gemmCall
	pool       *Pool
	rows, cols int
	tn         int
}

func (gg *gemmGrid) item(t int) {
	i0, j0 := (t/gg.tn)*gg.rows, (t%gg.tn)*gg.cols
	gg.g.serial(gg.pool, i0, min(gg.g.m, i0+gg.rows), j0, min(gg.g.n, j0+gg.cols))
}

// splitThreads factors threads into a tm×tn grid over C. Each of the tm·tn
// sub-products packs its own panels, so A is packed tn times and B tm
// times; the grid minimizes that extra packing per flop, tn/n + tm/m.
func splitThreads(threads, m, n, mr, nr int) (tm, tn int) {
	tm, tn = 1, threads
	best := -1.0
	for d := 1; d <= threads; d++ {
		if threads%d != 0 {
			continue
		}
		e := threads / d
		if d > ceilDiv(m, mr) || e > ceilDiv(n, nr) {
			continue
		}
		cost := float64(e)/float64(n) + float64(d)/float64(m)
		if best < 0 || cost < best {
			tm, tn, best = d, e, cost
		}
	}
	if best < 0 { // too small for the grid: split the longer side only
		if m >= n {
			return min(threads, ceilDiv(m, mr)), 1
		}
		return 1, min(threads, ceilDiv(n, nr))
	}
	return tm, tn
}

// gemmCall is one checked Sgemm call.
type gemmCall struct {
	gk             *gemmKernel
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	beta           float32
	c              []float32
	ldc            int
	pb             *PackedB // B packed in advance, or nil
}

// serial computes rows [i0, i1) and columns [j0, j1) of C on the calling
// goroutine: BLIS's five loops around the microkernel. Row-major C = A·B
// is column-major Cᵀ = Bᵀ·Aᵀ, so relative to BLIS's column-major
// description the operands trade places: the microkernel broadcasts A and
// loads B as vectors, an A micro-panel stays in L1 while B micro-panels
// stream from the packed B block in L2, and the packed A block sits in L3.
// Both operands are packed lazily, the first time a micro-panel is used,
// so packing overlaps with the arithmetic around it.
func (g *gemmCall) serial(p *Pool, i0, i1, j0, j1 int) {
	gk := g.gk
	mr, nr := gk.mr, gk.nr
	m, n, k := i1-i0, j1-j0, g.k
	kBlocks := ceilDiv(k, gk.kc)
	kc := ceilDiv(k, kBlocks)
	mc := roundUp(ceilDiv(m, ceilDiv(m, gk.mc)), mr)
	nc := roundUp(ceilDiv(n, ceilDiv(n, gk.nc)), nr)

	// B packed in advance is read in place when few rows of A pass over
	// it. When many do (more than an eighth of MC: 513 rows for AVX-512),
	// each block of it is first copied to the packing buffer, where Sgemm
	// packs it: the microkernel then streams B from a buffer it has just
	// written rather than from the packed matrix, which measured 2-8%
	// faster on BERT-base's 4096-row products (a contiguous copy is still
	// cheaper than packing from PyTorch's layout); on 16 or 128 rows,
	// reading in place is what makes SgemmPacked fast.
	copyB := g.pb != nil && 8*m > gk.mc
	bsize := nc * kc
	if g.pb != nil && !copyB {
		bsize = 0 // the B micro-panels are read from g.pb
	}
	buf := p.getGemmBuf(mc*kc + bsize + mr*nr)
	defer p.putGemmBuf(buf)
	ap := buf.f[:mc*kc]
	bp := buf.f[mc*kc : mc*kc+bsize]
	tile := buf.f[mc*kc+bsize:]

	for ic := 0; ic < m; ic += mc { // Loop 5 (ic): rows of C, A block in L3
		mb := min(mc, m-ic)
		for pc := 0; pc < k; pc += kc { // Loop 4 (pc): depth
			kb := min(kc, k-pc)
			beta := g.beta
			if pc > 0 {
				beta = 1
			}
			for jc := 0; jc < n; jc += nc { // Loop 3 (jc): columns of C, B block in L2
				nb := min(nc, n-jc)
				for ir := 0; ir < mb; ir += mr { // Loop 2 (ir): A micro-panel in L1
					mt := min(mr, mb-ir)
					apanel := ap[ir*kb : (ir+mr)*kb]
					if jc == 0 {
						g.packA(apanel, i0+ic+ir, mt, pc, kb)
					}
					for jr := 0; jr < nb; jr += nr { // Loop 1 (jr): B micro-panels
						nt := min(nr, nb-jr)
						var next []float32
						if q := jr / nr; jc == 0 && q < mr && ir+mr+q < mb && !g.transA {
							// Have the kernel bring the next A micro-panel's
							// rows towards L2, one row per call, so that
							// packing it does not wait on memory.
							o := (i0+ic+ir+mr+q)*g.lda + pc
							next = g.a[o : o+kb]
						}
						var bpanel []float32
						switch {
						case g.pb == nil:
							bpanel = bp[jr*kb : (jr+nr)*kb]
							if ir == 0 {
								g.packB(bpanel, pc, kb, j0+jc+jr, nt)
							}
						case copyB:
							bpanel = bp[jr*kb : (jr+nr)*kb]
							if ir == 0 {
								copy(bpanel, g.pb.panel(pc, kb, j0+jc+jr))
							}
						default:
							bpanel = g.pb.panel(pc, kb, j0+jc+jr)
						}
						ci := (i0+ic+ir)*g.ldc + j0 + jc + jr
						if mt == mr && nt == nr {
							gk.micro(kb, apanel, kb, bpanel, g.c[ci:], g.ldc, g.alpha, beta, next)
							continue
						}
						// Edge tile: the zero-padded panels give a full tile in
						// scratch, holding C's mt×nt corner when beta needs it;
						// only that corner goes back. The kernel does the same
						// arithmetic as on a full tile, so every element of C
						// comes out the same whatever the shape around it.
						if beta != 0 {
							for i := range mt {
								copy(tile[i*nr:i*nr+nt], g.c[ci+i*g.ldc:ci+i*g.ldc+nt])
							}
						}
						gk.micro(kb, apanel, kb, bpanel, tile, nr, g.alpha, beta, next)
						for i := range mt {
							copy(g.c[ci+i*g.ldc:ci+i*g.ldc+nt], tile[i*nr:i*nr+nt])
						}
					}
				}
			}
		}
	}
}

// packA copies rows [i, i+mt) × depth [pc, pc+kb) of op(A) into dst as an
// A micro-panel: MR rows of kb values; rows past mt are zero.
func (g *gemmCall) packA(dst []float32, i, mt, pc, kb int) {
	mr := g.gk.mr
	if !g.transA {
		for r := range mt {
			o := (i+r)*g.lda + pc
			copy(dst[r*kb:(r+1)*kb], g.a[o:o+kb])
		}
	} else {
		// A is stored k×m: op(A)[i+r][pc+p] = a[(pc+p)*lda + i+r].
		for p := range kb {
			src := g.a[(pc+p)*g.lda+i : (pc+p)*g.lda+i+mt]
			for r, v := range src {
				dst[r*kb+p] = v
			}
		}
	}
	clear(dst[mt*kb : mr*kb])
}

// packB copies depth [pc, pc+kb) × columns [j, j+nt) of op(B) into dst as a
// B micro-panel: kb rows of NR values; columns past nt are zero.
func (g *gemmCall) packB(dst []float32, pc, kb, j, nt int) {
	nr := g.gk.nr
	switch {
	case !g.transB && g.gk.packBN != nil:
		g.gk.packBN(dst, g.b[pc*g.ldb+j:], g.ldb, kb, nt)
		return
	case g.transB && g.gk.packBT != nil:
		g.gk.packBT(dst, g.b[j*g.ldb+pc:], g.ldb, kb, nt)
		return
	}
	if !g.transB {
		for p := range kb {
			o := (pc+p)*g.ldb + j
			row := dst[p*nr : (p+1)*nr]
			copy(row, g.b[o:o+nt])
			clear(row[nt:])
		}
		return
	}
	packBTGeneric(dst, g.b[j*g.ldb+pc:], g.ldb, kb, nt, nr)
}

// packBTGeneric packs a B micro-panel of NR columns from Bᵀ as stored
// (n×k): dst[p*nr+c] = b[c*ldb+p] for p < kb, c < nt, zeros past nt.
func packBTGeneric(dst, b []float32, ldb, kb, nt, nr int) {
	if nt < nr {
		clear(dst[:kb*nr])
	}
	for c := range nt {
		src := b[c*ldb : c*ldb+kb]
		for p, v := range src {
			dst[p*nr+c] = v
		}
	}
}

// scaleRows computes C = beta*C for an m×n C; beta == 0 clears C without
// reading it.
func scaleRows(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// gemmBuf holds packing space; each Pool keeps a few for reuse.
type gemmBuf struct {
	raw []float32
	f   []float32 // raw, 64-byte aligned
}

func (p *Pool) getGemmBuf(n int) *gemmBuf {
	var b *gemmBuf
	select {
	case b = <-p.freeBufs:
	default:
		b = new(gemmBuf)
	}
	if cap(b.raw) < n+16 {
		b.raw = make([]float32, n+16)
	}
	off := 0
	if r := uintptr(unsafe.Pointer(unsafe.SliceData(b.raw))) % 64; r != 0 {
		off = int(64-r) / 4
	}
	b.f = b.raw[off : off+n]
	return b
}

func (p *Pool) putGemmBuf(b *gemmBuf) {
	select {
	case p.freeBufs <- b:
	default:
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
func roundUp(a, b int) int { return ceilDiv(a, b) * b }
