package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// fdCheck compares the analytic gradient got (float32) of
// L(x) = Σ w·f(x) with central differences of the float64 function f64L
// over every entry of x.
func fdCheck(t *testing.T, name string, x []float64, got []float32, f64L func([]float64) float64) {
	t.Helper()
	const h = 1e-6
	num := make([]float64, len(x))
	var scale float64
	for i := range x {
		old := x[i]
		x[i] = old + h
		fp := f64L(x)
		x[i] = old - h
		fm := f64L(x)
		x[i] = old
		num[i] = (fp - fm) / (2 * h)
		scale = max(scale, math.Abs(num[i]))
	}
	// Relative error, with entries far below the largest judged against
	// a thousandth of it (float32 cannot resolve them better).
	var worst float64
	for i, n := range num {
		worst = max(worst, math.Abs(n-float64(got[i]))/(math.Abs(n)+1e-3*scale+1e-12))
	}
	// float32 analytic gradient against a float64 reference.
	if worst > 2e-4 {
		t.Errorf("%s: worst relative error against finite differences %.3g", name, worst)
	} else {
		t.Logf("%s: worst relative error %.3g", name, worst)
	}
}

func rnd(r *rand.Rand, n int, sd, mean float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = mean + sd*r.NormFloat64()
	}
	return x
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func layerNorm64(x, gamma, beta []float64, cols int, eps float64) []float64 {
	out := make([]float64, len(x))
	for r := 0; r < len(x)/cols; r++ {
		row := x[r*cols : (r+1)*cols]
		var mu, v float64
		for _, e := range row {
			mu += e
		}
		mu /= float64(cols)
		for _, e := range row {
			v += (e - mu) * (e - mu)
		}
		rs := 1 / math.Sqrt(v/float64(cols)+eps)
		for c, e := range row {
			out[r*cols+c] = (e-mu)*rs*gamma[c] + beta[c]
		}
	}
	return out
}

func weighted(w, y []float64) float64 {
	var s float64
	for i := range y {
		s += w[i] * y[i]
	}
	return s
}

func TestLayerNormBackwardFD(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, cols := range []int{1, 2, 3, 7, 32} {
		const rows = 3
		const eps = 1e-12
		x := rnd(r, rows*cols, 1.5, 0.3)
		gamma := rnd(r, cols, 0.5, 1)
		beta := rnd(r, cols, 0.5, 0)
		w := rnd(r, rows*cols, 1, 0)
		mean := make([]float32, rows)
		rstd := make([]float32, rows)
		out := make([]float32, rows*cols)
		LayerNorm(out, to32(x), to32(gamma), to32(beta), cols, eps, mean, rstd)
		dx := make([]float32, rows*cols)
		dg := make([]float32, cols)
		db := make([]float32, cols)
		LayerNormBackward(dx, dg, db, to32(w), to32(x), to32(gamma), mean, rstd, cols)
		if cols <= 2 {
			// One or two columns: x̂ is 0 or ±1 whatever x is, so dx = 0.
			for i, v := range dx {
				if math.Abs(float64(v)) > 1e-5 {
					t.Fatalf("cols=%d: dx[%d] = %v", cols, i, v)
				}
			}
			continue
		}
		fdCheck(t, "dx", x, dx, func(x []float64) float64 { return weighted(w, layerNorm64(x, gamma, beta, cols, eps)) })
		fdCheck(t, "dgamma", gamma, dg, func(g []float64) float64 { return weighted(w, layerNorm64(x, g, beta, cols, eps)) })
		fdCheck(t, "dbeta", beta, db, func(b []float64) float64 { return weighted(w, layerNorm64(x, gamma, b, cols, eps)) })
	}
}

func TestGELUBackwardFD(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	x := append(rnd(r, 64, 2, 0), 0, -8, 8, 1e-3)
	w := rnd(r, len(x), 1, 0)
	gelu := func(x []float64) []float64 {
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
		}
		return y
	}
	geluTanh := func(x []float64) []float64 {
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
		}
		return y
	}
	dx := make([]float32, len(x))
	GELUBackward(dx, to32(w), to32(x))
	fdCheck(t, "gelu", x, dx, func(x []float64) float64 { return weighted(w, gelu(x)) })
	dx = make([]float32, len(x))
	GELUTanhBackward(dx, to32(w), to32(x))
	fdCheck(t, "gelu_tanh", x, dx, func(x []float64) float64 { return weighted(w, geluTanh(x)) })
}

func TestSoftmaxBackwardFD(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	const rows, cols = 4, 9
	x := rnd(r, rows*cols, 2, 0)
	w := rnd(r, rows*cols, 1, 0)
	mask := make([]float32, cols)
	mask[7] = float32(math.Inf(-1)) // a padded key
	softmax := func(x []float64) []float64 {
		y := make([]float64, len(x))
		for r := 0; r < rows; r++ {
			var m float64 = math.Inf(-1)
			for c := 0; c < cols; c++ {
				if c != 7 {
					m = max(m, x[r*cols+c])
				}
			}
			var s float64
			for c := 0; c < cols; c++ {
				if c != 7 {
					y[r*cols+c] = math.Exp(x[r*cols+c] - m)
					s += y[r*cols+c]
				}
			}
			for c := 0; c < cols; c++ {
				y[r*cols+c] /= s
			}
		}
		return y
	}
	y := to32(x)
	Softmax(y, cols, mask)
	dy := to32(w)
	SoftmaxBackward(dy, y, cols)
	fdCheck(t, "softmax", x, dy, func(x []float64) float64 { return weighted(w, softmax(x)) })
	for r := 0; r < rows; r++ {
		if dy[r*cols+7] != 0 {
			t.Fatalf("masked column got gradient %v", dy[r*cols+7])
		}
	}
}

func TestBiasBackwardAndMul(t *testing.T) {
	db := []float32{1, 2}
	BiasBackward(db, []float32{1, 10, 2, 20, 3, 30})
	if db[0] != 7 || db[1] != 62 {
		t.Fatalf("BiasBackward: %v", db)
	}
	out := make([]float32, 3)
	Mul(out, []float32{1, 2, 3}, []float32{0, 2, -1})
	if out[0] != 0 || out[1] != 4 || out[2] != -3 {
		t.Fatalf("Mul: %v", out)
	}
}

// TestScatterAddIsGatherAdjoint: ⟨gather(T), Y⟩ = ⟨T, scatter(Y)⟩, the
// definition of the backward pass of a lookup, with repeated ids.
func TestScatterAddIsGatherAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	const rows, cols = 5, 3
	ids := []int32{4, 0, 4, 2, 4}
	table := rnd(r, rows*cols, 1, 0)
	y := rnd(r, len(ids)*cols, 1, 0)
	var lhs float64
	for i, id := range ids {
		for c := range cols {
			lhs += table[int(id)*cols+c] * y[i*cols+c]
		}
	}
	dt := make([]float32, rows*cols)
	ScatterAdd(dt, to32(y), ids, cols)
	var rhs float64
	for i, v := range dt {
		rhs += table[i] * float64(v)
	}
	if math.Abs(lhs-rhs) > 1e-5 {
		t.Fatalf("⟨gather(T), Y⟩ = %v, ⟨T, scatter(Y)⟩ = %v", lhs, rhs)
	}
	if dt[3] != 0 || dt[4] != 0 || dt[5] != 0 {
		t.Fatalf("unused row 1 got %v", dt[3:6])
	}
}

// TestCPUTrainingMethodsMatchSerial: the parallel Backend methods give
// exactly the serial slice functions' bits, at sizes that split across
// threads, so training results do not depend on the core count.
func TestCPUTrainingMethodsMatchSerial(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	const rows, cols = 1031, 64
	T := rows * cols
	be := NewCPU()
	x := to32(rnd(r, T, 1, 0))
	dout := to32(rnd(r, T, 1, 0))
	gamma := to32(rnd(r, cols, 0.5, 1))
	beta := to32(rnd(r, cols, 0.5, 0))
	mean, rstd, out := make([]float32, rows), make([]float32, rows), make([]float32, T)
	LayerNorm(out, x, gamma, beta, cols, 1e-12, mean, rstd)

	dx1, dg1, db1 := make([]float32, T), make([]float32, cols), make([]float32, cols)
	LayerNormBackward(dx1, dg1, db1, dout, x, gamma, mean, rstd, cols)
	dx2, dg2, db2 := make([]float32, T), make([]float32, cols), make([]float32, cols)
	be.LayerNormBackward(HostBuf(dx2), HostBuf(dg2), HostBuf(db2), HostBuf(dout), HostBuf(x), HostBuf(gamma), HostBuf(mean), HostBuf(rstd), rows, cols)
	same := func(name string, a, b []float32) {
		t.Helper()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s[%d]: serial %v, parallel %v", name, i, a[i], b[i])
			}
		}
	}
	same("dx", dx1, dx2)
	same("dgamma", dg1, dg2)
	same("dbeta", db1, db2)

	g1, g2 := make([]float32, T), make([]float32, T)
	GELUBackward(g1, dout, x)
	be.GELUBackward(HostBuf(g2), HostBuf(dout), HostBuf(x), T)
	same("gelu", g1, g2)

	b1, b2 := make([]float32, cols), make([]float32, cols)
	BiasBackward(b1, dout)
	be.BiasBackward(HostBuf(b2), HostBuf(dout), rows, cols)
	same("bias", b1, b2)

	ids := make([]int32, rows)
	for i := range ids {
		ids[i] = int32(r.IntN(50)) // many repeats
	}
	t1, t2 := make([]float32, 50*cols), make([]float32, 50*cols)
	ScatterAdd(t1, dout, ids, cols)
	be.ScatterAdd(HostBuf(t2), HostBuf(dout), ids, cols)
	same("scatter", t1, t2)

	streams := make([]uint64, rows)
	d1 := make([]float32, T)
	for i := range streams {
		streams[i] = uint64(3 * i)
		Dropout(d1[i*cols:(i+1)*cols], x[i*cols:(i+1)*cols], 0.2, 9, streams[i])
	}
	d2 := make([]float32, T)
	be.Dropout(HostBuf(d2), HostBuf(x), 0.2, 9, streams, cols)
	same("dropout", d1, d2)
}
