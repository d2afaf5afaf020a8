package retromae

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
)

// oracle is a plain float64 transcription of RetroMAE's forward pass
// (FlagEmbedding's RetroMAEForPretraining on Hugging Face BERT pieces),
// written from the definitions with no code shared with the package: the
// reference that the float32 forward and the hand-written backward are
// checked against by finite differences.
type oracle struct {
	c bert.Config
	w map[string][]float64
}

func newOracle(m *Model) *oracle {
	o := &oracle{c: m.Encoder.Config, w: map[string][]float64{}}
	for _, t := range m.Tensors() {
		v := make([]float64, t.Buf.Len())
		for i, x := range t.Buf.Host() {
			v[i] = float64(x)
		}
		o.w[t.Name] = v
	}
	return o
}

type mat [][]float64 // rows

func (o *oracle) linear(x mat, name string) mat {
	w, b := o.w[name+".weight"], o.w[name+".bias"]
	out := make(mat, len(x))
	in := len(x[0])
	for r, row := range x {
		out[r] = make([]float64, len(b))
		for j := range b {
			s := b[j]
			for k := range in {
				s += row[k] * w[j*in+k]
			}
			out[r][j] = s
		}
	}
	return out
}

func (o *oracle) layerNorm(x mat, name string) mat {
	g, b := o.w[name+".weight"], o.w[name+".bias"]
	out := make(mat, len(x))
	for r, row := range x {
		var mu, v float64
		for _, a := range row {
			mu += a
		}
		mu /= float64(len(row))
		for _, a := range row {
			v += (a - mu) * (a - mu)
		}
		v /= float64(len(row))
		out[r] = make([]float64, len(row))
		for j, a := range row {
			out[r][j] = (a-mu)/math.Sqrt(v+o.c.LayerNormEps)*g[j] + b[j]
		}
	}
	return out
}

func gelu(x mat) mat {
	out := make(mat, len(x))
	for r, row := range x {
		out[r] = make([]float64, len(row))
		for j, a := range row {
			out[r][j] = 0.5 * a * (1 + math.Erf(a/math.Sqrt2))
		}
	}
	return out
}

func add(x, y mat) mat {
	out := make(mat, len(x))
	for r := range x {
		out[r] = make([]float64, len(x[r]))
		for j := range x[r] {
			out[r][j] = x[r][j] + y[r][j]
		}
	}
	return out
}

// layer is a BertLayer of one sequence: queries from x, keys and values
// from kv, query i attending to key j where see(i, j).
func (o *oracle) layer(x, kv mat, pre string, see func(i, j int) bool) mat {
	heads := o.c.NumAttentionHeads
	d := o.c.HeadDim()
	q, k, v := o.linear(x, pre+"attention.self.query"), o.linear(kv, pre+"attention.self.key"), o.linear(kv, pre+"attention.self.value")
	ctx := make(mat, len(x))
	for i := range x {
		ctx[i] = make([]float64, heads*d)
		for h := range heads {
			s := make([]float64, len(kv))
			mx := math.Inf(-1)
			for j := range kv {
				if !see(i, j) {
					s[j] = math.Inf(-1)
					continue
				}
				for e := range d {
					s[j] += q[i][h*d+e] * k[j][h*d+e]
				}
				s[j] /= math.Sqrt(float64(d))
				mx = max(mx, s[j])
			}
			if math.IsInf(mx, -1) {
				continue // sees nothing: zero output
			}
			var sum float64
			for j := range s {
				s[j] = math.Exp(s[j] - mx)
				sum += s[j]
			}
			for j := range s {
				for e := range d {
					ctx[i][h*d+e] += s[j] / sum * v[j][h*d+e]
				}
			}
		}
	}
	att := o.layerNorm(add(o.linear(ctx, pre+"attention.output.dense"), x), pre+"attention.output.LayerNorm")
	ff := o.linear(gelu(o.linear(att, pre+"intermediate.dense")), pre+"output.dense")
	return o.layerNorm(add(ff, att), pre+"output.LayerNorm")
}

// embed is BertEmbeddings with the given input embeddings (word vectors
// or [CLS] everywhere), positions 0… and token type 0.
func (o *oracle) embed(in mat) mat {
	H := o.c.HiddenSize
	pos, typ := o.w["bert.embeddings.position_embeddings.weight"], o.w["bert.embeddings.token_type_embeddings.weight"]
	sum := make(mat, len(in))
	for i := range in {
		sum[i] = make([]float64, H)
		for j := range H {
			sum[i][j] = in[i][j] + pos[i*H+j] + typ[j]
		}
	}
	return o.layerNorm(sum, "bert.embeddings.LayerNorm")
}

func (o *oracle) words(ids []int32) mat {
	H := o.c.HiddenSize
	w := o.w["bert.embeddings.word_embeddings.weight"]
	out := make(mat, len(ids))
	for i, id := range ids {
		out[i] = append([]float64(nil), w[int(id)*H:int(id+1)*H]...)
	}
	return out
}

// mlm returns the summed cross-entropy of the head on rows of h with a
// label, and the number of labels.
func (o *oracle) mlm(h mat, labels []int32) (float64, int) {
	var rows mat
	var labs []int32
	for i, l := range labels {
		if l != Ignore {
			rows, labs = append(rows, h[i]), append(labs, l)
		}
	}
	if len(rows) == 0 {
		return 0, 0
	}
	t := o.layerNorm(gelu(o.linear(rows, "cls.predictions.transform.dense")), "cls.predictions.transform.LayerNorm")
	E, bias := o.w["bert.embeddings.word_embeddings.weight"], o.w["cls.predictions.bias"]
	H := o.c.HiddenSize
	var sum float64
	for r, row := range t {
		logits := make([]float64, len(bias))
		mx := math.Inf(-1)
		for v := range logits {
			s := bias[v]
			for j := range H {
				s += row[j] * E[v*H+j]
			}
			logits[v] = s
			mx = max(mx, s)
		}
		var z float64
		for _, s := range logits {
			z += math.Exp(s - mx)
		}
		sum += mx + math.Log(z) - logits[labs[r]]
	}
	return sum, len(rows)
}

// loss is RetroMAE's objective on b: the mean encoder and decoder
// cross-entropies over the batch (each a mean over its labels).
func (o *oracle) loss(b *Batch) (total, enc, dec float64) {
	L := b.L
	var encSum, decSum float64
	var encN, decN int
	for s := range b.B {
		row := func(v []int32) []int32 { return v[s*L : (s+1)*L] }
		mask := row(b.AttentionMask)
		x := o.embed(o.words(row(b.EncoderInputIDs)))
		for l := range o.c.NumHiddenLayers {
			x = o.layer(x, x, fmt.Sprintf("bert.encoder.layer.%d.", l), func(i, j int) bool { return mask[j] != 0 })
		}
		v, n := o.mlm(x, row(b.EncoderLabels))
		encSum, encN = encSum+v, encN+n
		cls := x[0]
		kv := o.embed(o.words(row(b.DecoderInputIDs)))
		kv[0] = cls
		clsEverywhere := make(mat, L)
		for i := range clsEverywhere {
			clsEverywhere[i] = cls
		}
		q := o.embed(clsEverywhere)
		vis := b.DecoderVisible[s*L*L : (s+1)*L*L]
		h := o.layer(q, kv, "c_head.", func(i, j int) bool { return vis[i*L+j] != 0 })
		v, n = o.mlm(h, row(b.DecoderLabels))
		decSum, decN = decSum+v, decN+n
	}
	if encN > 0 {
		enc = encSum / float64(encN)
	}
	if decN > 0 {
		dec = decSum / float64(decN)
	}
	return enc + dec, enc, dec
}

// tinyModel is a random RetroMAE small enough for finite differences over
// every parameter.
func tinyModel(t *testing.T, seed uint64) *Model {
	t.Helper()
	c := bert.Config{ModelType: "bert", VocabSize: 19, HiddenSize: 8, NumHiddenLayers: 2, NumAttentionHeads: 2,
		IntermediateSize: 12, HiddenAct: "gelu", MaxPositionEmbeddings: 12, TypeVocabSize: 2, LayerNormEps: 1e-12,
		PositionEmbeddingType: "absolute", HiddenDropoutProb: 0.1, AttentionProbsDropoutProb: 0.1}
	enc, err := bert.New(kernels.NewCPU(), c)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(enc)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, seed))
	for _, p := range m.Tensors() {
		for i := range p.Buf.Host() {
			v := 0.5 * r.NormFloat64()
			if strings.HasSuffix(p.Name, "LayerNorm.weight") {
				v += 1
			}
			p.Buf.Host()[i] = float32(v)
		}
	}
	return m
}

// tinyBatch is a batch of two sequences, one padded, with a decoder row
// that sees nothing but [SEP], labels on both sides.
func tinyBatch() *Batch {
	const B, L = 2, 6
	b := &Batch{B: B, L: L,
		DecoderInputIDs: []int32{1, 5, 9, 12, 2, 0, 1, 7, 7, 3, 11, 2},
		EncoderInputIDs: []int32{1, 4, 9, 4, 2, 0, 1, 7, 4, 3, 16, 2},
		AttentionMask:   []int32{1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1},
		EncoderLabels:   []int32{Ignore, 5, Ignore, 12, Ignore, Ignore, Ignore, Ignore, 7, Ignore, 11, Ignore},
		DecoderLabels:   []int32{Ignore, 5, 9, 12, Ignore, Ignore, Ignore, 7, 7, 3, 11, Ignore},
	}
	r := rand.New(rand.NewPCG(2, 2))
	b.DecoderVisible = make([]int32, B*L*L)
	for s := range B {
		n := 0
		for _, m := range b.AttentionMask[s*L : (s+1)*L] {
			n += int(m)
		}
		for i := range n {
			for j := range n {
				if j != i && (j == 0 || j == n-1 || r.IntN(2) == 0) {
					b.DecoderVisible[(s*L+i)*L+j] = 1
				}
			}
		}
	}
	// Row 2 of sequence 0 sees only [SEP].
	for j := range L {
		b.DecoderVisible[2*L+j] = 0
	}
	b.DecoderVisible[2*L+4] = 1
	return b
}

// TestOracleFiniteDifferences checks the float32 forward against the
// float64 oracle, then every entry of every parameter's gradient from
// Backward against central differences of the oracle in float64.
func TestOracleFiniteDifferences(t *testing.T) {
	m := tinyModel(t, 1)
	b := tinyBatch()
	o := newOracle(m)
	// Acts larger than the batch, used first on another shape: nothing
	// of that pass may leak into this one.
	a, err := m.NewActs(b.B+1, b.L+2, true)
	if err != nil {
		t.Fatal(err)
	}
	other := tinyData(4, 4)
	other.BatchSize = 3
	ob, err := other.Batch(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Forward(a, ob); err != nil {
		t.Fatal(err)
	}
	if g, _ := m.NewGrads(); m.Backward(g, a) != nil {
		t.Fatal("backward of the other batch")
	}
	l, err := m.Forward(a, b)
	if err != nil {
		t.Fatal(err)
	}
	total, enc, dec := o.loss(b)
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"total", l.Total, total}, {"encoder", l.Encoder, enc}, {"decoder", l.Decoder, dec}} {
		if d := math.Abs(c.got - c.want); d > 1e-5*math.Abs(c.want) {
			t.Errorf("%s loss %.8f, oracle %.8f", c.name, c.got, c.want)
		}
	}
	g, err := m.NewGrads()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Backward(g, a); err != nil {
		t.Fatal(err)
	}
	const h = 1e-5
	grads := g.Tensors()
	for pi, p := range m.Tensors() {
		w := o.w[p.Name]
		got := grads[pi].Buf.Host()
		var worst, scale float64
		for i := range w {
			old := w[i]
			w[i] = old + h
			fp, _, _ := o.loss(b)
			w[i] = old - h
			fm, _, _ := o.loss(b)
			w[i] = old
			num := (fp - fm) / (2 * h)
			worst = max(worst, math.Abs(num-float64(got[i])))
			scale = max(scale, math.Abs(num))
		}
		// Central differences of the float64 oracle are exact to ~1e-9;
		// the gradient itself is float32.
		if worst > 1e-5*max(scale, 1e-2) {
			t.Errorf("%s: max |backward − finite differences| %.3g (largest |gradient| %.3g)", p.Name, worst, scale)
		} else {
			t.Logf("%s: max |diff| %.3g (largest %.3g)", p.Name, worst, scale)
		}
	}
}

// TestBackwardWithDropout checks that Backward replays every dropout
// mask of a training Forward (encoder, both decoder streams, decoder
// layer): gradients against float32 central differences of Forward with
// the same masks, sampled, to 1%.
func TestBackwardWithDropout(t *testing.T) {
	m := tinyModel(t, 4)
	b := tinyBatch()
	a, err := m.NewActs(b.B, b.L, true)
	if err != nil {
		t.Fatal(err)
	}
	a.Dropout = bert.Dropout{Hidden: 0.2, Attention: 0.2, Seed: 99, Offset: 3}
	lossAt := func() float64 {
		l, err := m.Forward(a, b)
		if err != nil {
			t.Fatal(err)
		}
		return l.Total
	}
	withDrop := lossAt()
	g, _ := m.NewGrads()
	if err := m.Backward(g, a); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 5))
	grads := g.Tensors()
	for pi, p := range m.Tensors() {
		w, gw := p.Buf.Host(), grads[pi].Buf.Host()
		idx := []int{argmaxAbs(gw)}
		for range 2 {
			idx = append(idx, r.IntN(len(w)))
		}
		var scale float64
		for _, v := range gw {
			scale = max(scale, math.Abs(float64(v)))
		}
		for _, i := range idx {
			const h = 1e-2
			old := w[i]
			w[i] = old + h
			fp := lossAt()
			w[i] = old - h
			fm := lossAt()
			w[i] = old
			num := (fp - fm) / (2 * h)
			if d := math.Abs(num - float64(gw[i])); d > 1e-2*(math.Abs(num)+scale)+1e-4 {
				t.Errorf("%s[%d]: backward %v, finite differences %v", p.Name, i, gw[i], num)
			}
		}
	}
	a.Dropout = bert.Dropout{}
	if lossAt() == withDrop {
		t.Fatal("dropout changed nothing")
	}
}

func argmaxAbs(x []float32) int {
	best := 0
	for i, v := range x {
		if math.Abs(float64(v)) > math.Abs(float64(x[best])) {
			best = i
		}
	}
	return best
}
