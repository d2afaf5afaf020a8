package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSgemmPacked: a product with B packed in advance equals Sgemm bit for
// bit, at every level, on one and three threads, for every transpose, at
// shapes that cross the tile edges and (with tiny blocks) every cache
// block; one PackedB serves products of several row counts.
func TestSgemmPacked(t *testing.T) {
	eachLevel(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(7, 7))
		for _, gk := range []*gemmKernel{im.gemm, tinyBlocks(im.gemm)} {
			for _, p := range []*Pool{serialPool, testPool(t, 3)} {
				for range 40 {
					transA, transB := rng.IntN(2) == 1, rng.IntN(2) == 1
					n, k := oddDims[1+rng.IntN(len(oddDims)-1)], oddDims[rng.IntN(len(oddDims))]
					if rng.IntN(4) == 0 {
						k = gk.kc + 1 + rng.IntN(gk.kc)
					}
					ldb := n + rng.IntN(3)
					if transB {
						ldb = max(1, k) + rng.IntN(3)
					}
					rowsB := k
					if transB {
						rowsB = n
					}
					b := newGuarded(rng, span(rowsB, max(1, ldb-rng.IntN(1)), ldb)+ldb).data
					pb := packB(gk, transB, k, n, b, ldb)
					for _, m := range []int{1, gk.mr - 1, 2*gk.mr + 3} {
						alpha, beta := scalars[rng.IntN(len(scalars))], scalars[rng.IntN(len(scalars))]
						lda := k + rng.IntN(3)
						if transA {
							lda = m + rng.IntN(3)
						}
						lda = max(1, lda)
						rowsA := m
						if transA {
							rowsA = k
						}
						a := newGuarded(rng, rowsA*lda).data
						ldc := n + rng.IntN(3)
						c0 := newGuarded(rng, m*ldc).data
						want := append([]float32(nil), c0...)
						p.gemm(gk, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
						got := append([]float32(nil), c0...)
						p.SgemmPacked(transA, m, alpha, a, lda, pb, beta, got, ldc)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s transA=%v transB=%v m=%d n=%d k=%d alpha=%v beta=%v: C[%d] packed = %v, Sgemm = %v",
									gk.name, transA, transB, m, n, k, alpha, beta, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	})
}

func TestPackedPublic(t *testing.T) {
	w := []float32{1, 0, 0, 1, 1, 1} // 2×3 weight, out×in
	pb := PackB(true, 3, 2, w, 3)
	if pb.K() != 3 || pb.N() != 2 {
		t.Fatalf("PackB: K, N = %d, %d", pb.K(), pb.N())
	}
	c := make([]float32, 4)
	SgemmPacked(false, 2, 1, []float32{1, 2, 3, 4, 5, 6}, 3, pb, 0, c, 2)
	if c[0] != 1 || c[1] != 6 || c[2] != 4 || c[3] != 15 {
		t.Errorf("SgemmPacked = %v, want [1 6 4 15]", c)
	}
	empty := PackB(false, 0, 5, nil, 5)
	SgemmPacked(false, 1, 1, nil, 1, empty, 0, make([]float32, 5), 5) // k = 0: C = beta·C
	for name, f := range map[string]func(){
		"PackB k < 0":     func() { PackB(false, -1, 2, w, 2) },
		"PackB small ldb": func() { PackB(true, 3, 2, w, 2) },
		"PackB short b":   func() { PackB(true, 3, 2, w[:5], 3) },
		"SgemmPacked nil": func() { SgemmPacked(false, 1, 1, w, 3, nil, 0, c, 2) },
		"SgemmPacked lda": func() { SgemmPacked(false, 2, 1, w, 2, pb, 0, c, 2) },
		"SgemmPacked c":   func() { SgemmPacked(false, 2, 1, w, 3, pb, 0, c[:3], 2) },
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

// BenchmarkSgemmPacked compares products with B packed in advance against
// Sgemm on the rows of a few queries and of a batch, e.g.
// BenchmarkSgemmPacked/avx512/m=16/n=768/k=768/packed.
func BenchmarkSgemmPacked(b *testing.B) {
	for _, im := range levels {
		for _, m := range []int{16, 128, 512, 1024, 4096} {
			const n, k = 768, 768
			a := make([]float32, m*k)
			w := make([]float32, n*k)
			c := make([]float32, m*n)
			for i := range w {
				w[i] = float32(i%13) * 0.01
			}
			pb := packB(im.gemm, true, k, n, w, k)
			for _, packed := range []bool{false, true} {
				name := fmt.Sprintf("%s/m=%d/n=%d/k=%d/packed=%v", im.level, m, n, k, packed)
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if packed {
							Default().product(gemmCall{gk: pb.gk, m: m, n: n, k: k, alpha: 1, a: a, lda: k, c: c, ldc: n, pb: pb})
						} else {
							Default().gemm(im.gemm, false, true, m, n, k, 1, a, k, w, k, 0, c, n)
						}
					}
					b.ReportMetric(2*float64(m)*n*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// TestPackWeight: a Weight packed by the CPU backend multiplies bit for
// bit as Gemm does on the weight as stored, at every level, for widths
// whose packed form fits in the weight's storage (packed there) and
// widths that need a copy (the weight left as it was); a PlainWeight
// multiplies as Gemm too.
func TestPackWeight(t *testing.T) {
	eachLevel(t, func(t *testing.T, im *impl) {
		gk := im.gemm
		rng := rand.New(rand.NewPCG(9, 9))
		cpu := NewCPUPool(testPool(t, 3))
		for _, out := range []int{gk.nr, 3 * gk.nr, gk.nr + 1, 2*gk.nr - 3, 1} {
			for _, in := range []int{1, 7, gk.kc + 5} {
				w := randSlice(rng, out*in)
				stored := append([]float32(nil), w...)
				pw := packWeight(gk, HostBuf(w), out, in, nil)
				inPlace := out%gk.nr == 0
				if shares := &pw.packed.data[0] == &w[0]; shares != inPlace {
					t.Errorf("%s out=%d in=%d: packed in the weight's storage = %v, want %v", gk.name, out, in, shares, inPlace)
				}
				if !inPlace && !slices.Equal(w, stored) {
					t.Errorf("%s out=%d in=%d: packing a copy changed the weight", gk.name, out, in)
				}
				if pw.Out() != out || pw.In() != in || pw.Plain().Len() != 0 {
					t.Errorf("%s: Weight %d×%d, Plain of %d", gk.name, pw.Out(), pw.In(), pw.Plain().Len())
				}
				for _, m := range []int{1, gk.mr + 1, 100} {
					a := randSlice(rng, m*in)
					c0 := randSlice(rng, m*out)
					// A PlainWeight multiplies at the active level, the packed
					// one at the level it was packed for.
					for _, w := range []Weight{pw, PlainWeight(HostBuf(stored), out, in)} {
						want := slices.Clone(c0)
						level := gk
						if w.packed == nil {
							level = active.gemm
						}
						cpu.pool.gemm(level, false, true, m, out, in, 0.5, a, in, stored, in, 1, want, out)
						got := slices.Clone(c0)
						cpu.GemmWeight(m, 0.5, HostBuf(a), in, w, 1, HostBuf(got), out)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s m=%d out=%d in=%d packed=%v: C[%d] = %v, Gemm = %v", gk.name, m, out, in, w.packed != nil, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	})
	for name, f := range map[string]func(){
		"short Buf":     func() { NewCPU().PackWeight(HostBuf(make([]float32, 5)), 2, 3) },
		"negative size": func() { PlainWeight(Buf{}, -1, 2) },
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
