//go:build cuda

package cuda

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/kernels"
)

// Every op is compared with the CPU backend on random inputs. FP32 ops
// must agree to tol (1e-5, relative to max(1, |cpu|)): the two differ
// only in the order of float32 sums and in the last bits of exp and erf.
// Dropout masks and scatter-adds must agree exactly.
const tol = 1e-5

var cpu = kernels.NewCPU()

func randVec(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (2*r.Float32() - 1) * scale
	}
	return v
}

// up copies v to a new device Buf.
func up(t testing.TB, d *Device, v []float32) kernels.Buf {
	t.Helper()
	b, err := d.Alloc(len(v))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Upload(b, v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Free(b) })
	return b
}

func down(t testing.TB, d *Device, b kernels.Buf) []float32 {
	t.Helper()
	v := make([]float32, b.Len())
	if err := d.Download(v, b); err != nil {
		t.Fatal(err)
	}
	return v
}

// pair holds the same values on the CPU and the GPU.
type pair struct {
	c, g kernels.Buf
}

func newPair(t testing.TB, d *Device, v []float32) pair {
	return pair{kernels.HostBuf(append([]float32(nil), v...)), up(t, d, v)}
}

// zeros returns a pair of n zeros.
func zeros(t testing.TB, d *Device, n int) pair { return newPair(t, d, make([]float32, n)) }

// check compares the GPU copy with the CPU one, reporting the max
// difference.
func (p pair) check(t testing.TB, d *Device, name string, tolerance float64) {
	t.Helper()
	compare(t, name, down(t, d, p.g), p.c.Host(), tolerance)
}

func compare(t testing.TB, name string, got, want []float32, tolerance float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	worst, at := 0.0, -1
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(w) && math.IsNaN(g) {
			continue
		}
		diff := math.Abs(g-w) / max(1, math.Abs(w))
		if math.IsNaN(diff) || math.IsInf(g, 0) != math.IsInf(w, 0) {
			diff = math.Inf(1)
		}
		if diff > worst || at < 0 {
			worst, at = diff, i
		}
	}
	if worst > tolerance {
		t.Errorf("%s: max relative difference %.3g at [%d] (gpu %v, cpu %v) > %g", name, worst, at, got[at], want[at], tolerance)
	} else {
		t.Logf("%s: max relative difference %.3g", name, worst)
	}
}

func exact(t testing.TB, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v on the GPU, %v on the CPU (bits %#x vs %#x)", name, i, got[i], want[i],
				math.Float32bits(got[i]), math.Float32bits(want[i]))
		}
	}
}

func TestName(t *testing.T) {
	d := testDevice(t)
	if !strings.HasPrefix(d.Name(), "cuda/") {
		t.Errorf("Name() = %q", d.Name())
	}
	t.Logf("%s, %.1f GiB, kernels for %s", d.Name(), float64(d.TotalMemory())/(1<<30), d.arch)
}

func TestSignatures(t *testing.T) {
	src, err := source()
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := signatures(src)
	if err != nil {
		t.Fatal(err)
	}
	var f funcs
	for name := range f.table() {
		if sigs[name] == "" {
			t.Errorf("kernel %s not found in the sources", name)
		}
	}
	if got := sigs["kd_topk_select"]; got != "pliipppiii" {
		t.Errorf("kd_topk_select signature %q", got)
	}
}

func TestAllocUploadDownload(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 7, 1 << 20, bulkBytes/4 + 3, 3*bulkBytes/4 + 1} {
		v := randVec(r, n, 1)
		b := up(t, d, v)
		exact(t, fmt.Sprintf("round trip of %d", n), down(t, d, b), v)
	}
	b, err := d.Alloc(1000)
	if err != nil {
		t.Fatal(err)
	}
	exact(t, "Alloc zeroes", down(t, d, b), make([]float32, 1000))
	// A freed block comes back, zeroed again.
	if err := d.Upload(b, randVec(r, 1000, 1)); err != nil {
		t.Fatal(err)
	}
	d.Free(b)
	b2, err := d.Alloc(1000)
	if err != nil {
		t.Fatal(err)
	}
	exact(t, "reused block zeroed", down(t, d, b2), make([]float32, 1000))
	d.Free(b2)
	if err := d.Upload(b2.Slice(0, 10), make([]float32, 11)); err == nil {
		t.Error("Upload of 11 values into 10: no error")
	}
	if err := d.Download(make([]float32, 11), b2.Slice(0, 10)); err == nil {
		t.Error("Download of 11 values from 10: no error")
	}
	if err := d.Upload(kernels.HostBuf(make([]float32, 4)), make([]float32, 4)); err == nil {
		t.Error("Upload into a host Buf: no error")
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestPanics(t *testing.T) {
	d := testDevice(t)
	mustPanic := func(name, want string, f func()) {
		t.Helper()
		defer func() {
			p := recover()
			if p == nil || !strings.Contains(fmt.Sprint(p), want) {
				t.Errorf("%s: panic %v, want one mentioning %q", name, p, want)
			}
		}()
		f()
	}
	x := up(t, d, make([]float32, 16))
	mustPanic("host Buf", "not a device Buf", func() { d.Add(kernels.HostBuf(make([]float32, 16)), x, x, 16) })
	mustPanic("short Buf", "holds 16 values, want 17", func() { d.Add(x, x, x, 17) })
	mustPanic("Free of a view", "Alloc did not return", func() { d.Free(x.Slice(4, 4)) })
	mustPanic("bad id", "outside the table", func() { d.Gather(x, x, []int32{0, 4}, 4, 0) })
	mustPanic("bad lda", "lda", func() { d.Gemm(false, false, 2, 2, 4, 1, x, 3, x, 2, 0, x, 2) })
	mustPanic("dropout p", "outside [0, 1)", func() { d.Dropout(x, x, 1, 0, []uint64{0}, 4) })
	// A panic leaves the Device usable.
	d.Add(x, x, x, 16)
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestGemm(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(2, 2))
	for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {64, 48, 128}, {5, 1, 300}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
					lda, ldb, ldc := k+2, n+1, n+3
					if ta {
						lda = m + 2
					}
					if tb {
						ldb = k + 1
					}
					rowsA, rowsB := m, k
					if ta {
						rowsA = k
					}
					if tb {
						rowsB = n
					}
					a := newPair(t, d, randVec(r, rowsA*lda, 1))
					b := newPair(t, d, randVec(r, rowsB*ldb, 1))
					cv := randVec(r, m*ldc, 1)
					if ab[1] == 0 {
						for i := range cv {
							cv[i] = float32(math.NaN()) // beta = 0: C is not read
						}
					}
					c := newPair(t, d, cv)
					cpu.Gemm(ta, tb, m, n, k, ab[0], a.c, lda, b.c, ldb, ab[1], c.c, ldc)
					d.Gemm(ta, tb, m, n, k, ab[0], a.g, lda, b.g, ldb, ab[1], c.g, ldc)
					c.check(t, d, fmt.Sprintf("Gemm %v ta=%v tb=%v alpha,beta=%v", sz, ta, tb, ab), tol)
				}
			}
		}
	}
	// k = 0 and alpha = 0: C = beta·C, A and B unread.
	c := newPair(t, d, randVec(r, 12, 1))
	nan := newPair(t, d, []float32{float32(math.NaN())})
	cpu.Gemm(false, false, 3, 4, 0, 1, nan.c, 1, nan.c, 4, 0.5, c.c, 4)
	d.Gemm(false, false, 3, 4, 0, 1, nan.g, 1, nan.g, 4, 0.5, c.g, 4)
	c.check(t, d, "Gemm k=0", tol)
}

func TestGemmStrided(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(3, 3))
	m, n, k, batch := 7, 9, 11, 5
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			lda, ldb, ldc := k, n, n+2
			if ta {
				lda = m
			}
			if tb {
				ldb = k
			}
			sa, sb, sc := m*k+3, k*n+1, m*ldc+5
			a := newPair(t, d, randVec(r, batch*sa, 1))
			b := newPair(t, d, randVec(r, batch*sb, 1))
			c := newPair(t, d, randVec(r, batch*sc, 1))
			cpu.GemmStrided(ta, tb, m, n, k, 0.5, a.c, lda, sa, b.c, ldb, sb, 1, c.c, ldc, sc, batch)
			d.GemmStrided(ta, tb, m, n, k, 0.5, a.g, lda, sa, b.g, ldb, sb, 1, c.g, ldc, sc, batch)
			c.check(t, d, fmt.Sprintf("GemmStrided ta=%v tb=%v", ta, tb), tol)
		}
	}
	// Pooling's shape: one row per sequence, a shared stride of 0 for B.
	w := newPair(t, d, randVec(r, batch*k, 1))
	h := newPair(t, d, randVec(r, k*n, 1))
	o := zeros(t, d, batch*n)
	cpu.GemmStrided(false, false, 1, n, k, 1, w.c, k, k, h.c, n, 0, 0, o.c, n, n, batch)
	d.GemmStrided(false, false, 1, n, k, 1, w.g, k, k, h.g, n, 0, 0, o.g, n, n, batch)
	o.check(t, d, "GemmStrided m=1 strideB=0", tol)
}

// TestGemmMath checks the TF32 and BF16 options against the error they
// allow: inputs rounded to 10 (TF32) or 7 (BF16) mantissa bits, each with
// relative error at most 2^-11 or 2^-8, so a product moves by at most
// about 2^-10 or 2^-7 of Σ|a||b|; FP32 accumulation adds far less.
func TestGemmMath(t *testing.T) {
	testDevice(t) // skips without a GPU
	r := rand.New(rand.NewPCG(4, 4))
	m, n, k := 33, 17, 200
	av, bv := randVec(r, m*k, 1), randVec(r, k*n, 1)
	want := make([]float32, m*n)
	kernels.Sgemm(false, false, m, n, k, 1, av, k, bv, n, 0, want, n)
	bound := make([]float64, m*n) // Σ|a||b|
	for i := range m {
		for j := range n {
			for l := range k {
				bound[i*n+j] += math.Abs(float64(av[i*k+l]) * float64(bv[l*n+j]))
			}
		}
	}
	for _, tc := range []struct {
		math Math
		rel  float64
	}{{TF32, math.Ldexp(1, -10)}, {BF16, math.Ldexp(1, -7)}} {
		dm, err := Open(WithMath(tc.math))
		skipUnavailable(t, err)
		upload := func(v []float32) kernels.Buf {
			b, err := dm.Alloc(len(v))
			if err != nil {
				t.Fatal(err)
			}
			if err := dm.Upload(b, v); err != nil {
				t.Fatal(err)
			}
			return b
		}
		a, b, c := upload(av), upload(bv), upload(make([]float32, m*n))
		dm.Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		got := down(t, dm, c)
		worst := 0.0
		for i := range got {
			e := math.Abs(float64(got[i]-want[i])) / bound[i]
			worst = max(worst, e)
		}
		t.Logf("%s: max |gpu-cpu| / Σ|a||b| = %.3g (allowed %.3g)", tc.math, worst, tc.rel)
		if worst > tc.rel || math.IsNaN(worst) {
			t.Errorf("%s: error %.3g of Σ|a||b| > %.3g", tc.math, worst, tc.rel)
		}
		if !strings.HasSuffix(dm.Name(), "/"+tc.math.String()) {
			t.Errorf("Name() = %q", dm.Name())
		}
		if err := dm.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestElementwise(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(5, 5))
	rows, cols := 37, 53
	n := rows * cols
	x := newPair(t, d, randVec(r, n, 4))
	y := newPair(t, d, randVec(r, n, 4))
	bias := newPair(t, d, randVec(r, cols, 1))

	cpu.AddBias(x.c, bias.c, rows, cols)
	d.AddBias(x.g, bias.g, rows, cols)
	x.check(t, d, "AddBias", tol)

	out := zeros(t, d, n)
	cpu.Add(out.c, x.c, y.c, n)
	d.Add(out.g, x.g, y.g, n)
	out.check(t, d, "Add", tol)
	cpu.Add(x.c, x.c, y.c, n) // out aliasing x
	d.Add(x.g, x.g, y.g, n)
	x.check(t, d, "Add in place", tol)

	g := zeros(t, d, n)
	cpu.GELU(g.c, x.c, n)
	d.GELU(g.g, x.g, n)
	g.check(t, d, "GELU", tol)

	dy := newPair(t, d, randVec(r, n, 1))
	dx := zeros(t, d, n)
	cpu.GELUBackward(dx.c, dy.c, x.c, n)
	d.GELUBackward(dx.g, dy.g, x.g, n)
	dx.check(t, d, "GELUBackward", tol)

	// GEGLU: x is rows×2·cols.
	gx := newPair(t, d, randVec(r, 2*n, 3))
	gout := zeros(t, d, n)
	cpu.GEGLU(gout.c, gx.c, rows, cols)
	d.GEGLU(gout.g, gx.g, rows, cols)
	gout.check(t, d, "GEGLU", tol)
	gdx := zeros(t, d, 2*n)
	cpu.GEGLUBackward(gdx.c, dy.c, gx.c, rows, cols)
	d.GEGLUBackward(gdx.g, dy.g, gx.g, rows, cols)
	gdx.check(t, d, "GEGLUBackward", tol)
}

func TestLayerNorm(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(6, 6))
	for _, sz := range [][2]int{{1, 1}, {5, 48}, {33, 300}, {300, 37}} {
		rows, cols := sz[0], sz[1]
		n := rows * cols
		xv := randVec(r, n, 3)
		for i := range xv {
			xv[i] += 5 // an offset, as hidden states have: tests the two-pass variance
		}
		x := newPair(t, d, xv)
		gamma, beta := newPair(t, d, randVec(r, cols, 2)), newPair(t, d, randVec(r, cols, 1))
		out, mean, rstd := zeros(t, d, n), zeros(t, d, rows), zeros(t, d, rows)
		const eps = 1e-12
		cpu.LayerNorm(out.c, mean.c, rstd.c, x.c, gamma.c, beta.c, rows, cols, eps)
		d.LayerNorm(out.g, mean.g, rstd.g, x.g, gamma.g, beta.g, rows, cols, eps)
		name := fmt.Sprintf("LayerNorm %dx%d", rows, cols)
		out.check(t, d, name+" out", tol)
		mean.check(t, d, name+" mean", tol)
		rstd.check(t, d, name+" rstd", tol)

		dout := newPair(t, d, randVec(r, n, 1))
		dx := zeros(t, d, n)
		dg, db := newPair(t, d, randVec(r, cols, 1)), newPair(t, d, randVec(r, cols, 1))
		cpu.LayerNormBackward(dx.c, dg.c, db.c, dout.c, x.c, gamma.c, mean.c, rstd.c, rows, cols)
		d.LayerNormBackward(dx.g, dg.g, db.g, dout.g, x.g, gamma.g, mean.g, rstd.g, rows, cols)
		dx.check(t, d, name+" dx", tol)
		dg.check(t, d, name+" dgamma", 4*tol) // sums over up to 300 rows
		db.check(t, d, name+" dbeta", 4*tol)
		// dx aliasing dout.
		cpu.LayerNormBackward(dout.c, dg.c, db.c, dout.c, x.c, gamma.c, mean.c, rstd.c, rows, cols)
		d.LayerNormBackward(dout.g, dg.g, db.g, dout.g, x.g, gamma.g, mean.g, rstd.g, rows, cols)
		dout.check(t, d, name+" dx in place", tol)

		// Inference: no statistics, out aliasing x.
		cpu.LayerNorm(x.c, kernels.Buf{}, kernels.Buf{}, x.c, gamma.c, beta.c, rows, cols, eps)
		d.LayerNorm(x.g, kernels.Buf{}, kernels.Buf{}, x.g, gamma.g, beta.g, rows, cols, eps)
		x.check(t, d, name+" in place", tol)

		bb := newPair(t, d, randVec(r, cols, 1))
		cpu.BiasBackward(bb.c, dout.c, rows, cols)
		d.BiasBackward(bb.g, dout.g, rows, cols)
		bb.check(t, d, name+" BiasBackward", 4*tol)
	}
}

func TestSoftmax(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(7, 7))
	rows, cols := 9, 300
	v := randVec(r, rows*cols, 20)
	for c := range cols {
		v[2*cols+c] = float32(math.Inf(-1)) // a row of -Inf: zeros
	}
	v[3*cols+5] = float32(math.Inf(-1))
	x := newPair(t, d, v)
	cpu.Softmax(x.c, rows, cols)
	d.Softmax(x.g, rows, cols)
	x.check(t, d, "Softmax", tol)
	dy := newPair(t, d, randVec(r, rows*cols, 1))
	cpu.SoftmaxBackward(dy.c, x.c, rows, cols)
	d.SoftmaxBackward(dy.g, x.g, rows, cols)
	dy.check(t, d, "SoftmaxBackward", tol)
}

// attentionMasks are masks of the shapes that occur: full, right-padded,
// one with holes (not a prefix), and all masked.
func attentionMasks(batch, seq int) []int32 {
	m := make([]int32, batch*seq)
	for b := range batch {
		for l := range seq {
			switch b % 4 {
			case 0:
				m[b*seq+l] = 1
			case 1:
				if l < seq-1-b%seq {
					m[b*seq+l] = 1
				}
			case 2:
				if l%3 != 1 {
					m[b*seq+l] = 1
				}
			}
		}
	}
	return m
}

func TestAttention(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(8, 8))
	batch, seq, heads, hd := 5, 11, 3, 8
	hidden := heads * hd
	T, BH := batch*seq, batch*heads
	mask := attentionMasks(batch, seq)
	qkv := newPair(t, d, randVec(r, T*3*hidden, 2))
	for _, keep := range []bool{false, true} {
		ctx := zeros(t, d, T*hidden)
		probs := pair{}
		if keep {
			probs = zeros(t, d, BH*seq*seq)
		}
		cpu.Attention(ctx.c, probs.c, qkv.c, mask, batch, seq, heads, hd)
		d.Attention(ctx.g, probs.g, qkv.g, mask, batch, seq, heads, hd)
		ctx.check(t, d, fmt.Sprintf("Attention keep=%v ctx", keep), tol)
		if !keep {
			continue
		}
		probs.check(t, d, "Attention probs", tol)

		streams := make([]uint64, BH)
		for i := range streams {
			streams[i] = r.Uint64()
		}
		const seed, p = 42, 0.25
		cpu.AttentionDropout(ctx.c, probs.c, qkv.c, batch, seq, heads, hd, p, seed, streams)
		d.AttentionDropout(ctx.g, probs.g, qkv.g, batch, seq, heads, hd, p, seed, streams)
		ctx.check(t, d, "AttentionDropout ctx", tol)

		dctx := newPair(t, d, randVec(r, T*hidden, 1))
		for _, pp := range []float32{0, p} {
			dqkv := zeros(t, d, T*3*hidden)
			cpu.AttentionBackward(dqkv.c, dctx.c, probs.c, qkv.c, mask, batch, seq, heads, hd, pp, seed, streams)
			d.AttentionBackward(dqkv.g, dctx.g, probs.g, qkv.g, mask, batch, seq, heads, hd, pp, seed, streams)
			dqkv.check(t, d, fmt.Sprintf("AttentionBackward p=%v", pp), tol)
		}
	}
}

func TestAttentionVisible(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(9, 9))
	batch, seq, heads, hd := 3, 7, 2, 4
	hidden := heads * hd
	vis := make([]int32, batch*seq*seq)
	for i := range vis {
		if r.IntN(3) != 0 {
			vis[i] = 1
		}
	}
	for j := range seq {
		vis[seq+j] = 0 // query 1 of sequence 0 sees nothing
	}
	qkv := up(t, d, randVec(r, batch*seq*3*hidden, 2))
	ctx := up(t, d, make([]float32, batch*seq*hidden))
	probs := up(t, d, make([]float32, batch*heads*seq*seq))
	d.AttentionVisible(ctx, probs, qkv, vis, batch, seq, heads, hd)
	P := down(t, d, probs)
	// Each row sums to 1 over its visible keys, 0 elsewhere; a row seeing
	// nothing is all zeros.
	for bh := range batch * heads {
		b := bh / heads
		for i := range seq {
			var sum float64
			any := false
			for j := range seq {
				p := P[(bh*seq+i)*seq+j]
				if vis[(b*seq+i)*seq+j] == 0 {
					if p != 0 {
						t.Fatalf("invisible key has probability %v", p)
					}
					continue
				}
				any = true
				sum += float64(p)
			}
			if want := map[bool]float64{true: 1, false: 0}[any]; math.Abs(sum-want) > 1e-5 {
				t.Fatalf("row (%d, %d) sums to %v, want %v", bh, i, sum, want)
			}
		}
	}
}

func TestGatherScatter(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(10, 10))
	rows, cols, n := 50, 33, 200
	table := newPair(t, d, randVec(r, rows*cols, 1))
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(r.IntN(rows / 3)) // many repeats
	}
	out := zeros(t, d, n*cols)
	cpu.Gather(out.c, table.c, ids, cols, 0)
	d.Gather(out.g, table.g, ids, cols, 0)
	exact(t, "Gather", down(t, d, out.g), out.c.Host())
	cpu.Gather(out.c, table.c, ids, cols, 1)
	d.Gather(out.g, table.g, ids, cols, 1)
	exact(t, "Gather accumulate", down(t, d, out.g), out.c.Host())

	src := newPair(t, d, randVec(r, n*cols, 1))
	cpu.ScatterAdd(table.c, src.c, ids, cols)
	d.ScatterAdd(table.g, src.g, ids, cols)
	// The same additions in the same order: the same bits.
	exact(t, "ScatterAdd", down(t, d, table.g), table.c.Host())
}

func TestDropout(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(11, 11))
	size, slabs := 333, 7
	streams := make([]uint64, slabs)
	for i := range streams {
		streams[i] = r.Uint64()
	}
	for _, p := range []float32{0, 1e-9, 0.1, 0.5} {
		x := newPair(t, d, randVec(r, size*slabs, 1))
		out := zeros(t, d, size*slabs)
		cpu.Dropout(out.c, x.c, p, 1234, streams, size)
		d.Dropout(out.g, x.g, p, 1234, streams, size)
		exact(t, fmt.Sprintf("Dropout p=%v", p), down(t, d, out.g), out.c.Host())
		cpu.Dropout(x.c, x.c, p, 99, streams, size)
		d.Dropout(x.g, x.g, p, 99, streams, size)
		exact(t, fmt.Sprintf("Dropout p=%v in place", p), down(t, d, x.g), x.c.Host())
	}
}

func TestMaskedMax(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(12, 12))
	batch, seq, cols := 8, 9, 21
	mask := attentionMasks(batch, seq)
	x := newPair(t, d, randVec(r, batch*seq*cols, 3))
	ld := 2 * cols
	out := zeros(t, d, batch*ld)
	cpu.MaskedMax(out.c, x.c, mask, batch, seq, cols, ld)
	d.MaskedMax(out.g, x.g, mask, batch, seq, cols, ld)
	exact(t, "MaskedMax", down(t, d, out.g), out.c.Host())
	dout := newPair(t, d, randVec(r, batch*ld, 1))
	dx := newPair(t, d, randVec(r, batch*seq*cols, 1))
	cpu.MaskedMaxBackward(dx.c, dout.c, x.c, mask, batch, seq, cols, ld)
	d.MaskedMaxBackward(dx.g, dout.g, x.g, mask, batch, seq, cols, ld)
	exact(t, "MaskedMaxBackward", down(t, d, dx.g), dx.c.Host())
}

// TestTopK compares GPU search with kernels.TopKDot on integer-valued
// vectors, whose inner products are exact in float32 on both sides, so
// the rankings — exact ties broken by row — must be identical.
func TestTopK(t *testing.T) {
	d := testDevice(t)
	r := rand.New(rand.NewPCG(13, 13))
	n, dim, nq := 3000, 24, 37
	ints := func(m int) []float32 {
		v := make([]float32, m)
		for i := range v {
			v[i] = float32(r.IntN(5) - 2)
		}
		return v
	}
	x, q := ints(n*dim), ints(nq*dim)
	bias := make([]float32, n)
	for i := range bias {
		bias[i] = float32(r.IntN(7) - 3)
	}
	half := make([]uint16, len(x))
	kernels.F32ToF16(half, x)
	for _, tc := range []struct {
		name string
		f16  bool
		bias []float32
	}{{"f32", false, nil}, {"f16", true, nil}, {"f32+bias", false, bias}} {
		var c *Corpus
		var err error
		if tc.f16 {
			c, err = d.NewCorpusF16(half, n, dim, tc.bias)
		} else {
			c, err = d.NewCorpus(x, n, dim, tc.bias)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []int{1, 10, 100, 1024} {
			wantI, wantS := make([]int, nq*k), make([]float32, nq*k)
			if err := kernels.TopKDot(context.Background(), wantI, wantS, q, x, tc.bias, nq, n, dim, k, 1); err != nil {
				t.Fatal(err)
			}
			gotI, gotS := make([]int, nq*k), make([]float32, nq*k)
			if err := c.TopK(context.Background(), gotI, gotS, q, nq, k); err != nil {
				t.Fatal(err)
			}
			for i := range wantI {
				if gotI[i] != wantI[i] || gotS[i] != wantS[i] {
					t.Fatalf("%s k=%d: query %d rank %d: row %d score %v, want row %d score %v",
						tc.name, k, i/k, i%k, gotI[i], gotS[i], wantI[i], wantS[i])
				}
			}
		}
		c.Close()
	}
	// Fewer rows than k: the rest is -1, -Inf.
	c, err := d.NewCorpus(x[:5*dim], 5, dim, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ids, scores := make([]int, 8), make([]float32, 8)
	if err := c.TopK(context.Background(), ids, scores, q[:dim], 1, 8); err != nil {
		t.Fatal(err)
	}
	for j := 5; j < 8; j++ {
		if ids[j] != -1 || !math.IsInf(float64(scores[j]), -1) {
			t.Errorf("slot %d: (%d, %v), want (-1, -Inf)", j, ids[j], scores[j])
		}
	}
	if err := c.TopK(context.Background(), ids, scores, q[:dim], 1, MaxK+1); err == nil {
		t.Error("k > MaxK: no error")
	}
}

// An allocation beyond the GPU's memory fails with ErrOutOfMemory, after
// the cached blocks were given back, and leaves the Device usable.
func TestOutOfMemory(t *testing.T) {
	d := testDevice(t)
	b, err := d.Alloc(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	d.Free(b) // cached, to be released by the retry
	n := int(d.TotalMemory()/4) + 1
	if _, err := d.Alloc(n); !errors.Is(err, ErrOutOfMemory) {
		t.Fatalf("Alloc(%d): %v, want ErrOutOfMemory", n, err)
	}
	x := up(t, d, []float32{1, 2, 3})
	d.Add(x, x, x, 3)
	exact(t, "after OOM", down(t, d, x), []float32{2, 4, 6})
}
