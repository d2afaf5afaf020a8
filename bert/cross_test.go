package bert

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kotodama-ai/kotodama/kernels"
)

// TestCrossIsSelfAttention runs a one-layer model's layer as a decoder
// layer whose two streams are the same and whose visibility rows are all
// the key mask: output, input gradient (dx + dkv) and every parameter
// gradient must be what the encoder path gives.
func TestCrossIsSelfAttention(t *testing.T) {
	m := tinyModel(t, 5)
	m.Params.Layers = m.Params.Layers[:1]
	m.Config.NumHiddenLayers = 1
	be := m.Backend
	const batch, seq = 2, 5
	H := m.Config.HiddenSize
	ids := []int32{1, 5, 9, 2, 0, 1, 7, 7, 3, 2}
	mask := []int32{1, 1, 1, 1, 0, 1, 1, 1, 1, 1}
	a, err := m.NewActivations(batch*seq, seq, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Forward(a, ids, nil, mask, batch, seq); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	dOut := make([]float32, batch*seq*H)
	for i := range dOut {
		dOut[i] = float32(r.NormFloat64())
	}
	gEnc, _ := NewParams(be, m.Config)
	if err := m.Backward(gEnc, a, kernels.HostBuf(dOut)); err != nil {
		t.Fatal(err)
	}

	visible := make([]int32, batch*seq*seq)
	for b := range batch {
		for i := range seq {
			copy(visible[(b*seq+i)*seq:], mask[b*seq:(b+1)*seq])
		}
	}
	l := &m.Params.Layers[0]
	ca, err := l.NewCrossActs(be, batch*seq, seq)
	if err != nil {
		t.Fatal(err)
	}
	x := a.Embeddings.Out
	if err := l.ForwardCross(be, ca, x, x, visible, batch, seq); err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want []float32, tol float64) {
		t.Helper()
		var worst float64
		for i := range want {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if worst > tol {
			t.Errorf("%s: max |diff| %g", name, worst)
		}
	}
	near("output", ca.FFN.Out.Host(), a.Hidden.Host(), 1e-5)
	gl, _ := NewParams(be, m.Config)
	dx, dkv := make([]float32, batch*seq*H), make([]float32, batch*seq*H)
	if err := l.BackwardCross(be, &gl.Layers[0], ca, kernels.HostBuf(dx), kernels.HostBuf(dkv), kernels.HostBuf(dOut), x, x); err != nil {
		t.Fatal(err)
	}
	for i := range dx {
		dx[i] += dkv[i]
	}
	near("dx + dkv", dx, a.DEmbedding.Host(), 1e-4)
	want := gEnc.Layers[0].Tensors("")
	for i, p := range gl.Layers[0].Tensors("") {
		near(p.Name, p.Buf.Host(), want[i].Buf.Host(), 1e-4)
	}
}

// TestCrossBackwardFiniteDifferences checks BackwardCross with distinct
// streams, a random visibility matrix (with a row that sees nothing) and
// dropout against central differences of ForwardCross, for both streams
// and every parameter tensor. The forward is float32: entries are
// sampled and 1% allowed, as in TestBackwardFiniteDifferences.
func TestCrossBackwardFiniteDifferences(t *testing.T) {
	m := tinyModel(t, 7)
	be := m.Backend
	l := &m.Params.Layers[1]
	const batch, seq = 2, 4
	H := m.Config.HiddenSize
	r := rand.New(rand.NewPCG(3, 3))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	x, kv, R := rnd(batch*seq*H), rnd(batch*seq*H), rnd(batch*seq*H)
	visible := make([]int32, batch*seq*seq)
	for i := range visible {
		visible[i] = int32(r.IntN(2))
	}
	visible[seq] = 1              // row 1 sees key 0 at least
	clear(visible[2*seq : 3*seq]) // row 2 sees nothing
	ca, err := l.NewCrossActs(be, batch*seq, seq)
	if err != nil {
		t.Fatal(err)
	}
	ca.Dropout = Dropout{Hidden: 0.1, Attention: 0.2, Seed: 11}
	lossAt := func() float64 {
		if err := l.ForwardCross(be, ca, kernels.HostBuf(x), kernels.HostBuf(kv), visible, batch, seq); err != nil {
			t.Fatal(err)
		}
		var s float64
		for i, v := range ca.FFN.Out.Host() {
			s += float64(v) * float64(R[i])
		}
		return s
	}
	lossAt()
	g, _ := NewParams(be, m.Config)
	gl := &g.Layers[1]
	dx, dkv := make([]float32, batch*seq*H), make([]float32, batch*seq*H)
	if err := l.BackwardCross(be, gl, ca, kernels.HostBuf(dx), kernels.HostBuf(dkv), kernels.HostBuf(R), kernels.HostBuf(x), kernels.HostBuf(kv)); err != nil {
		t.Fatal(err)
	}
	type tensor struct {
		name    string
		w, grad []float32
	}
	tensors := []tensor{{"x", x, dx}, {"kv", kv, dkv}}
	grads := gl.Tensors("")
	for i, p := range l.Tensors("") {
		tensors = append(tensors, tensor{p.Name, p.Buf.Host(), grads[i].Buf.Host()})
	}
	for _, tt := range tensors {
		idx := []int{argmaxAbs(tt.grad)}
		for range 3 {
			idx = append(idx, r.IntN(len(tt.w)))
		}
		var scale float64
		for _, v := range tt.grad {
			scale = max(scale, math.Abs(float64(v)))
		}
		for _, i := range idx {
			const h = 1e-2
			old := tt.w[i]
			tt.w[i] = old + h
			fp := lossAt()
			tt.w[i] = old - h
			fm := lossAt()
			tt.w[i] = old
			num := (fp - fm) / (2 * h)
			if err := math.Abs(num - float64(tt.grad[i])); err > 1e-2*(math.Abs(num)+scale)+1e-4 {
				t.Errorf("%s[%d]: backward %v, finite differences %v", tt.name, i, tt.grad[i], num)
			}
		}
	}
	// Padding rows: nothing visible, so their attention output is zero.
	for h := range H {
		if v := ca.Attention.Ctx.Host()[2*H+h]; v != 0 {
			t.Fatalf("attention output of a row that sees nothing: %v", v)
		}
	}
}
