package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// eachLevel runs f once per dispatch level this machine and build can run,
// calling the level's kernels directly (active is never changed).
func eachLevel(t *testing.T, f func(t *testing.T, im *impl)) {
	t.Helper()
	for _, im := range levels {
		t.Run(im.level, func(t *testing.T) { f(t, im) })
	}
}

// testPool returns a Pool of the given threads that splits even the
// smallest GEMM, so tiny shapes exercise the parallel grid.
func testPool(t testing.TB, threads int) *Pool {
	p := NewPool(threads)
	p.minWork = 1
	t.Cleanup(p.Close)
	return p
}

// tinyBlocks returns gk with cache blocks of a few tiles, so that small
// shapes cross every KC, MC and NC boundary of the loop nest.
func tinyBlocks(gk *gemmKernel) *gemmKernel {
	s := *gk
	s.kc = 5
	s.mc = 2 * s.mr
	s.nc = 2 * s.nr
	return &s
}

// guarded is a slice inside a larger buffer whose surroundings hold
// sentinel values, so a test can see writes outside it.
type guarded struct {
	buf  []float32
	data []float32
}

const guardLen = 17

var sentinel = math.Float32frombits(0x7fa5a5a5) // a signalling NaN no kernel produces

func newGuarded(rng *rand.Rand, n int) guarded {
	buf := make([]float32, n+2*guardLen)
	for i := range buf {
		buf[i] = sentinel
	}
	g := guarded{buf: buf, data: buf[guardLen : guardLen+n : guardLen+n]}
	for i := range g.data {
		g.data[i] = float32(rng.Float64()*2 - 1)
	}
	return g
}

func (g guarded) snapshot() []uint32 {
	s := make([]uint32, len(g.buf))
	for i, v := range g.buf {
		s[i] = math.Float32bits(v)
	}
	return s
}

// checkUnchanged reports every element of g's buffer whose bits differ from
// the snapshot, skipping those for which skip returns true (indices into
// g.data).
func (g guarded) checkUnchanged(t *testing.T, name string, snap []uint32, skip func(i int) bool) {
	t.Helper()
	bad := 0
	for i, v := range g.buf {
		d := i - guardLen
		if d >= 0 && d < len(g.data) && skip != nil && skip(d) {
			continue
		}
		if math.Float32bits(v) != snap[i] {
			if bad < 5 {
				t.Errorf("%s: element %d (data index %d) changed from %#x to %#x", name, i, d, snap[i], math.Float32bits(v))
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d elements changed in all", name, bad)
	}
}

// refGemm computes C = alpha*op(A)*op(B) + beta*C in float64 with reference
// BLAS semantics, and an error bound per element for a float32
// implementation that sums k products in any order.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, bound []float64) {
	want = make([]float64, m*n)
	bound = make([]float64, m*n)
	eps := float64(k+4) * 0x1p-23
	for i := range m {
		for j := range n {
			var cij float64
			if beta != 0 {
				cij = float64(beta) * float64(c[i*ldc+j])
			}
			var s, abs float64
			if alpha != 0 {
				for l := range k {
					ia, ib := i*lda+l, l*ldb+j
					if transA {
						ia = l*lda + i
					}
					if transB {
						ib = j*ldb + l
					}
					av, bv := a[ia], b[ib]
					s += float64(av) * float64(bv)
					abs += math.Abs(float64(av) * float64(bv))
				}
			}
			want[i*n+j] = float64(alpha)*s + cij
			bound[i*n+j] = eps*(math.Abs(float64(alpha))*abs+math.Abs(cij)) + 1e-37
		}
	}
	return want, bound
}

// checkClose compares got with want within bound; NaN and ±Inf in want
// must be matched exactly in kind.
func checkClose(t *testing.T, name string, got float32, want, bound float64) bool {
	t.Helper()
	g := float64(got)
	switch {
	case math.IsNaN(want):
		if !math.IsNaN(g) {
			t.Errorf("%s = %v, want NaN", name, got)
			return false
		}
	case math.IsInf(want, 0):
		if g != want {
			t.Errorf("%s = %v, want %v", name, got, want)
			return false
		}
	default:
		if math.IsNaN(g) || math.Abs(g-want) > bound {
			t.Errorf("%s = %v, want %v (|diff| %.3g > %.3g)", name, got, want, math.Abs(g-want), bound)
			return false
		}
	}
	return true
}
