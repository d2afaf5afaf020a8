package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gemmCase is one Sgemm call: shape, transposes, scalars and the padding
// of each leading dimension past its minimum.
type gemmCase struct {
	transA, transB   bool
	m, n, k          int
	alpha, beta      float32
	padA, padB, padC int
}

func (gc gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s/m=%d/n=%d/k=%d/alpha=%g/beta=%g/pad=%d,%d,%d", t(gc.transA), t(gc.transB), gc.m, gc.n, gc.k, gc.alpha, gc.beta, gc.padA, gc.padB, gc.padC)
}

// dims returns the stored rows and columns of A and B and the leading
// dimensions.
func (gc gemmCase) dims() (rowsA, colsA, rowsB, colsB, lda, ldb, ldc int) {
	rowsA, colsA = gc.m, gc.k
	if gc.transA {
		rowsA, colsA = gc.k, gc.m
	}
	rowsB, colsB = gc.k, gc.n
	if gc.transB {
		rowsB, colsB = gc.n, gc.k
	}
	return rowsA, colsA, rowsB, colsB, max(1, colsA) + gc.padA, max(1, colsB) + gc.padB, max(1, gc.n) + gc.padC
}

// run performs gc with kernel gk on pool p and checks C against the
// float64 reference, everything around C against writes, and A and B
// against changes. special, when not nil, edits the operands first.
func (gc gemmCase) run(t *testing.T, rng *rand.Rand, p *Pool, gk *gemmKernel, special func(a, b, c []float32)) bool {
	t.Helper()
	rowsA, colsA, rowsB, colsB, lda, ldb, ldc := gc.dims()
	a := newGuarded(rng, span(rowsA, colsA, lda))
	b := newGuarded(rng, span(rowsB, colsB, ldb))
	c := newGuarded(rng, span(gc.m, gc.n, ldc))
	if special != nil {
		special(a.data, b.data, c.data)
	}
	want, bound := refGemm(gc.transA, gc.transB, gc.m, gc.n, gc.k, gc.alpha, a.data, lda, b.data, ldb, gc.beta, c.data, ldc)
	sa, sb, sc := a.snapshot(), b.snapshot(), c.snapshot()

	p.gemm(gk, gc.transA, gc.transB, gc.m, gc.n, gc.k, gc.alpha, a.data, lda, b.data, ldb, gc.beta, c.data, ldc)

	ok := true
	for i := range gc.m {
		for j := range gc.n {
			if !checkClose(t, fmt.Sprintf("%v: C[%d,%d]", gc, i, j), c.data[i*ldc+j], want[i*gc.n+j], bound[i*gc.n+j]) {
				ok = false
				if !t.Failed() {
					continue
				}
				return false
			}
		}
	}
	inC := func(d int) bool { return d%ldc < gc.n && d/ldc < gc.m }
	c.checkUnchanged(t, gc.String()+": around C", sc, inC)
	a.checkUnchanged(t, gc.String()+": A", sa, nil)
	b.checkUnchanged(t, gc.String()+": B", sb, nil)
	return ok && !t.Failed()
}

// oddDims are the sizes the shape sweeps draw from: every size up to a few
// tiles of every kernel, primes, and powers of two with their neighbours.
var oddDims = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 19, 23, 24, 25, 29, 31, 32, 33, 37, 41, 47, 48, 49, 53, 59, 61, 63, 64, 65, 67, 70}

var scalars = []float32{1, 0, -1, 0.5, 2.25}

// TestSgemmShapes sweeps shapes, transposes, scalars and leading
// dimensions at every level, on one goroutine and on a three-thread grid,
// with the kernel's real cache blocks and with tiny ones that put every
// loop boundary inside small shapes.
func TestSgemmShapes(t *testing.T) {
	cases := 400
	if testing.Short() {
		cases = 100
	}
	eachLevel(t, func(t *testing.T, im *impl) {
		pools := map[string]*Pool{"serial": serialPool, "threads=3": testPool(t, 3)}
		blocks := map[string]*gemmKernel{"blocks=table": im.gemm, "blocks=tiny": tinyBlocks(im.gemm)}
		for pn, p := range pools {
			for bn, gk := range blocks {
				t.Run(pn+"/"+bn, func(t *testing.T) {
					rng := rand.New(rand.NewPCG(1, uint64(len(pn)*7+len(bn))))
					for range cases {
						gc := gemmCase{
							transA: rng.IntN(2) == 1, transB: rng.IntN(2) == 1,
							m: oddDims[rng.IntN(len(oddDims))], n: oddDims[rng.IntN(len(oddDims))], k: oddDims[rng.IntN(len(oddDims))],
							alpha: scalars[rng.IntN(len(scalars))], beta: scalars[rng.IntN(len(scalars))],
							padA: rng.IntN(3) * rng.IntN(5), padB: rng.IntN(3) * rng.IntN(5), padC: rng.IntN(3) * rng.IntN(5),
						}
						if !gc.run(t, rng, p, gk, nil) {
							return
						}
					}
				})
			}
		}
	})
}

// TestSgemmEveryEdge runs every m from 1 to two tiles past the kernel's
// MR against full and partial column tiles, and every n likewise against
// full and partial row tiles, in all four transpose combinations, so every
// partial-tile shape at both edges is seen.
func TestSgemmEveryEdge(t *testing.T) {
	eachLevel(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(2, 2))
		gk := tinyBlocks(im.gemm)
		var shapes [][2]int
		for m := 1; m <= 2*gk.mr+1; m++ {
			for _, n := range []int{gk.nr - 1, gk.nr, 2*gk.nr + 1} {
				shapes = append(shapes, [2]int{m, n})
			}
		}
		for n := 1; n <= 2*gk.nr+1; n++ {
			for _, m := range []int{gk.mr - 1, gk.mr, 2*gk.mr + 1} {
				shapes = append(shapes, [2]int{m, n})
			}
		}
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, sh := range shapes {
				gc := gemmCase{transA: tr[0], transB: tr[1], m: sh[0], n: sh[1], k: 11, alpha: 1.5, beta: -0.5, padA: 1, padB: 2, padC: 3}
				if !gc.run(t, rng, serialPool, gk, nil) {
					return
				}
			}
		}
	})
}

// TestSgemmLarge crosses the table's real KC, MC and NC boundaries.
func TestSgemmLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large shapes in -short mode")
	}
	eachLevel(t, func(t *testing.T, im *impl) {
		gk := im.gemm
		rng := rand.New(rand.NewPCG(3, 3))
		p := testPool(t, 2)
		for _, gc := range []gemmCase{
			{m: gk.mc + gk.mr + 1, n: 2*gk.nr + 3, k: gk.kc + 7, alpha: 1, beta: 0},
			{transA: true, transB: true, m: 2*gk.mr - 1, n: gk.nc + gk.nr + 5, k: 2*gk.kc + 1, alpha: -0.5, beta: 2, padA: 3, padC: 1},
			{transB: true, m: 97, n: 131, k: gk.kc + 1, alpha: 1, beta: 1, padB: 5},
		} {
			gc.run(t, rng, p, gk, nil)
		}
	})
}

// TestSgemmSpecialValues checks that NaN and Inf propagate as reference
// BLAS defines: through A, B and C when alpha != 0 and beta != 0; C is
// not read when beta == 0; A and B are not read when alpha == 0.
func TestSgemmSpecialValues(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	specials := map[string]func(a, b, c []float32){
		"NaN in A":  func(a, b, c []float32) { a[len(a)/2] = nan },
		"Inf in A":  func(a, b, c []float32) { a[0] = inf },
		"-Inf in B": func(a, b, c []float32) { b[len(b)-1] = -inf },
		"Inf and -Inf": func(a, b, c []float32) {
			a[1%len(a)], b[len(b)/3] = inf, -inf
		},
		"NaN in C": func(a, b, c []float32) {
			for i := range c {
				if i%3 == 0 {
					c[i] = nan
				}
			}
		},
		"Inf in C": func(a, b, c []float32) { c[len(c)/2] = -inf },
		"zeros and Inf": func(a, b, c []float32) {
			clear(a)
			b[0] = inf
		},
	}
	eachLevel(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(4, 4))
		for name, special := range specials {
			for _, ab := range [][2]float32{{1, 0}, {1, 1}, {0, 0}, {0, 1}, {0, -2}, {-0.5, 0.25}, {2, float32(math.Copysign(0, -1))}} {
				for _, tr := range [][2]bool{{false, false}, {true, true}, {false, true}} {
					for _, sh := range [][3]int{{1, 1, 1}, {13, 35, 9}, {im.gemm.mr, im.gemm.nr, 3}} {
						gc := gemmCase{transA: tr[0], transB: tr[1], m: sh[0], n: sh[1], k: sh[2], alpha: ab[0], beta: ab[1]}
						t.Run(name, func(t *testing.T) {
							gc.run(t, rng, serialPool, tinyBlocks(im.gemm), special)
						})
					}
				}
			}
		}
	})
}

// TestSgemmStrided checks the batched product against Sgemm per item, with
// gaps between items and every transpose, on one and three threads.
func TestSgemmStrided(t *testing.T) {
	eachLevel(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(5, 5))
		for _, p := range []*Pool{serialPool, testPool(t, 3)} {
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				for _, sh := range [][4]int{{7, 9, 5, 4}, {16, 16, 64, 3}, {1, 33, 2, 5}, {30, 2, 17, 1}, {3, 4, 0, 2}, {0, 3, 3, 2}} {
					m, n, k, batch := sh[0], sh[1], sh[2], sh[3]
					gc := gemmCase{transA: tr[0], transB: tr[1], m: m, n: n, k: k, alpha: 0.75, beta: -1, padA: 1, padB: 2, padC: 3}
					rowsA, colsA, rowsB, colsB, lda, ldb, ldc := gc.dims()
					sA, sB, sC := span(rowsA, colsA, lda)+3, span(rowsB, colsB, ldb)+1, span(m, n, ldc)+2
					a := newGuarded(rng, sA*batch)
					b := newGuarded(rng, sB*batch)
					c := newGuarded(rng, sC*batch)
					type ref struct{ want, bound []float64 }
					refs := make([]ref, batch)
					for i := range batch {
						w, bd := refGemm(gc.transA, gc.transB, m, n, k, gc.alpha, a.data[i*sA:], lda, b.data[i*sB:], ldb, gc.beta, c.data[i*sC:], ldc)
						refs[i] = ref{w, bd}
					}
					snapA, snapB, snapC := a.snapshot(), b.snapshot(), c.snapshot()
					p.gemmStrided(im.gemm, gc.transA, gc.transB, m, n, k, gc.alpha, a.data, lda, sA, b.data, ldb, sB, gc.beta, c.data, ldc, sC, batch)
					for i := range batch {
						for r := range m {
							for j := range n {
								checkClose(t, fmt.Sprintf("%v batch %d C[%d,%d]", gc, i, r, j), c.data[i*sC+r*ldc+j], refs[i].want[r*n+j], refs[i].bound[r*n+j])
							}
						}
					}
					inC := func(d int) bool {
						o := d % sC
						return d/sC < batch && o%ldc < n && o/ldc < m
					}
					c.checkUnchanged(t, gc.String()+": around C", snapC, inC)
					a.checkUnchanged(t, "A", snapA, nil)
					b.checkUnchanged(t, "B", snapB, nil)
				}
			}
		}
	})
}

// TestSgemmPublic checks that the exported functions run the active level
// and validate their arguments.
func TestSgemmPublic(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6} // 2×3
	b := []float32{1, 0, 0, 1, 1, 1} // 3×2
	c := []float32{9, 9, 9, 9}       // 2×2
	Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	want := []float32{4, 5, 10, 11}
	for i := range c {
		if c[i] != want[i] {
			t.Fatalf("Sgemm: C = %v, want %v", c, want)
		}
	}
	cs := make([]float32, 8)
	SgemmStrided(false, false, 2, 2, 3, 1, append(a, a...), 3, 6, append(b, b...), 2, 6, 0, cs, 2, 4, 2)
	for i := range cs {
		if cs[i] != want[i%4] {
			t.Fatalf("SgemmStrided: C = %v, want %v twice", cs, want)
		}
	}
	for name, f := range map[string]func(){
		"negative m":    func() { Sgemm(false, false, -1, 2, 3, 1, a, 3, b, 2, 0, c, 2) },
		"small lda":     func() { Sgemm(false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2) },
		"short a":       func() { Sgemm(false, false, 2, 2, 3, 1, a[:5], 3, b, 2, 0, c, 2) },
		"short c":       func() { Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c[:3], 2) },
		"small ldb^T":   func() { Sgemm(false, true, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2) },
		"batch < 0":     func() { SgemmStrided(false, false, 2, 2, 3, 1, a, 3, 6, b, 2, 6, 0, cs, 2, 4, -1) },
		"overlapping C": func() { SgemmStrided(false, false, 2, 2, 3, 1, a, 3, 0, b, 2, 0, 0, cs, 2, 3, 2) },
		"short batch":   func() { SgemmStrided(false, false, 2, 2, 3, 1, a, 3, 6, b, 2, 6, 0, cs, 2, 4, 3) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// FuzzSgemm drives shapes, transposes, strides and scalars from the fuzzer
// through every level, single- and multi-threaded, against the float64
// reference.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint8(1), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0))
	f.Add(uint8(13), uint8(35), uint8(9), uint8(3), uint8(1), uint8(2), uint8(3), uint8(0x1b))
	f.Add(uint8(64), uint8(64), uint8(64), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0x0f))
	f.Add(uint8(70), uint8(1), uint8(33), uint8(1), uint8(7), uint8(0), uint8(1), uint8(0x26))
	f.Add(uint8(0), uint8(5), uint8(5), uint8(2), uint8(0), uint8(0), uint8(0), uint8(0x35))
	f.Fuzz(func(t *testing.T, m, n, k, trans, padA, padB, padC, scal uint8) {
		gc := gemmCase{
			transA: trans&1 != 0, transB: trans&2 != 0,
			m: int(m % 80), n: int(n % 80), k: int(k % 80),
			alpha: scalars[int(scal&7)%len(scalars)], beta: scalars[int(scal>>3&7)%len(scalars)],
			padA: int(padA % 9), padB: int(padB % 9), padC: int(padC % 9),
		}
		rng := rand.New(rand.NewPCG(uint64(m)<<8|uint64(n), uint64(k)))
		p := testPool(t, 3)
		for _, im := range levels {
			gk := im.gemm
			if scal&0x40 != 0 {
				gk = tinyBlocks(gk)
			}
			if !gc.run(t, rng, serialPool, gk, nil) || !gc.run(t, rng, p, gk, nil) {
				t.Fatalf("level %s failed", im.level)
			}
		}
	})
}

// TestSgemmBatchInvariant: an element of C comes out bit for bit the same
// whether its row is computed alone, in a batch, or on any number of
// threads, and whatever the columns around it. Encoders rely on this: a
// text embeds to the same vector in any batch.
func TestSgemmBatchInvariant(t *testing.T) {
	eachLevel(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(6, 6))
		gk := im.gemm
		p3 := testPool(t, 3)
		for _, transB := range []bool{false, true} {
			for _, beta := range []float32{0, 0.3} { // 0.3·c rounds: edge and full tiles must round alike
				m, n, k := 2*gk.mr+3, 2*gk.nr+5, gk.kc+9
				a := newGuarded(rng, m*k).data
				b := newGuarded(rng, k*n).data
				c0 := newGuarded(rng, m*n).data
				ldb := n
				if transB {
					ldb = k
				}
				whole := append([]float32(nil), c0...)
				p3.gemm(gk, false, transB, m, n, k, 1.25, a, k, b, ldb, beta, whole, n)
				for i := range m {
					row := append([]float32(nil), c0[i*n:(i+1)*n]...)
					serialPool.gemm(gk, false, transB, 1, n, k, 1.25, a[i*k:], k, b, ldb, beta, row, n)
					for j := range n {
						if math.Float32bits(row[j]) != math.Float32bits(whole[i*n+j]) {
							t.Fatalf("transB=%v beta=%v: C[%d,%d] alone = %v, in the batch = %v", transB, beta, i, j, row[j], whole[i*n+j])
						}
					}
				}
				// Columns [5, 5+nr+3) on their own.
				j0, nc := 5, gk.nr+3
				part := append([]float32(nil), c0...)
				bo := j0
				if transB {
					bo = j0 * ldb
				}
				serialPool.gemm(gk, false, transB, m, nc, k, 1.25, a, k, b[bo:], ldb, beta, part[j0:], n)
				for i := range m {
					for j := j0; j < j0+nc; j++ {
						if math.Float32bits(part[i*n+j]) != math.Float32bits(whole[i*n+j]) {
							t.Fatalf("transB=%v beta=%v: C[%d,%d] in a column block = %v, in the whole = %v", transB, beta, i, j, part[i*n+j], whole[i*n+j])
						}
					}
				}
			}
		}
	})
}
