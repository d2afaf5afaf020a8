package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestPoolForCoversOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		for _, n := range []int{0, 1, 2, 7, 64, 1000} {
			for _, grain := range []int{0, 1, 3, 100} {
				hits := make([]atomic.Int32, n)
				p.For(n, grain, func(lo, hi int) {
					if lo >= hi || (grain > 0 && hi-lo < grain && hi != n) {
						t.Errorf("threads=%d n=%d grain=%d: range [%d,%d)", threads, n, grain, lo, hi)
					}
					for i := lo; i < hi; i++ {
						hits[i].Add(1)
					}
				})
				for i := range hits {
					if h := hits[i].Load(); h != 1 {
						t.Fatalf("threads=%d n=%d grain=%d: item %d run %d times", threads, n, grain, i, h)
					}
				}
			}
		}
		p.Close()
	}
}

// TestPoolNestedAndConcurrent runs GEMMs on one pool from inside its own
// For bodies and from several goroutines at once: nothing may deadlock
// and every result must be right.
func TestPoolNestedAndConcurrent(t *testing.T) {
	p := testPool(t, 3)
	const m, n, k = 37, 45, 29
	a, b := make([]float32, m*k), make([]float32, k*n)
	for i := range a {
		a[i] = float32(i%7) - 3
	}
	for i := range b {
		b[i] = float32(i%5) - 2
	}
	want := make([]float32, m*n)
	sgemmGeneric(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	check := func(c []float32) {
		for i := range c {
			if c[i] != want[i] { // small integers: exact in any order
				t.Errorf("C[%d] = %v, want %v", i, c[i], want[i])
				return
			}
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			p.For(6, 1, func(lo, hi int) {
				for range hi - lo {
					c := make([]float32, m*n)
					p.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
					check(c)
				}
			})
		})
	}
	wg.Wait()
}

func TestPoolPanic(t *testing.T) {
	p := testPool(t, 2)
	defer func() {
		if v := recover(); v != "boom" {
			t.Fatalf("recovered %v, want boom", v)
		}
	}()
	p.For(100, 1, func(lo, hi int) {
		if lo >= 50 {
			panic("boom")
		}
	})
	t.Fatal("For returned after a panicking body")
}

func TestPoolThreads(t *testing.T) {
	if got, want := NewPool(0).Threads(), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("NewPool(0).Threads() = %d, want GOMAXPROCS %d", got, want)
	}
	p := NewPool(4)
	p.Close()
	p.Close() // twice is fine
	var sum atomic.Int64
	p.For(10, 1, func(lo, hi int) { sum.Add(int64(hi - lo)) })
	if sum.Load() != 10 {
		t.Errorf("closed pool ran %d of 10 items", sum.Load())
	}
	Default().Close() // a no-op
	if Default().Threads() < 1 {
		t.Error("Default pool has no threads")
	}
}

// TestNoAllocs: once a Pool has its buffers, GEMMs and For allocate
// nothing, on one thread or several.
func TestNoAllocs(t *testing.T) {
	const m, n, k = 64, 96, 80
	a, b, c := make([]float32, 4*m*k), make([]float32, 4*k*n), make([]float32, 4*m*n)
	body := func(lo, hi int) { Scale(2, c[lo:hi]) }
	w := make([]float32, n*k)
	for _, p := range []*Pool{serialPool, testPool(t, 2)} {
		pb := PackB(true, k, n, w, k)
		for name, f := range map[string]func(){
			"SgemmPacked":  func() { p.SgemmPacked(false, m, 1, a, k, pb, 0, c, n) },
			"Sgemm":        func() { p.Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n) },
			"SgemmStrided": func() { p.SgemmStrided(true, false, m, n, k, 1, a, m, m*k, b, n, k*n, 1, c, n, m*n, 4) },
			"For":          func() { p.For(len(c), 64, body) },
		} {
			f()
			if got := testing.AllocsPerRun(10, f); got != 0 {
				t.Errorf("%d threads: %s allocates %v times per call", p.Threads(), name, got)
			}
		}
	}
}
