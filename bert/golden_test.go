package bert

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// tolerance is the fixture README's: a float32 implementation matches the
// float64 reference to ~1e-5 absolute.
const tolerance = 1e-5

// expected is a model fixture's padded batch and reference outputs.
type expected struct {
	batch, seq       int
	ids, types, mask []int32
	tensors          map[string][]float32
	shapes           map[string][]int
}

func readExpected(t *testing.T, dir string) *expected {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e := &expected{tensors: map[string][]float32{}, shapes: map[string][]int{}}
	ints := func(name string) []int32 {
		tt, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]int64, tt.NumElements())
		if err := tt.Int64s(v); err != nil {
			t.Fatal(err)
		}
		e.batch, e.seq = tt.Shape[0], tt.Shape[1]
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return out
	}
	e.ids, e.types, e.mask = ints("input_ids"), ints("token_type_ids"), ints("attention_mask")
	for _, n := range f.Names() {
		tt, _ := f.Tensor(n)
		if tt.DType == safetensors.F32 {
			v := make([]float32, tt.NumElements())
			if err := tt.Float32s(v); err != nil {
				t.Fatal(err)
			}
			e.tensors[n], e.shapes[n] = v, tt.Shape
		}
	}
	return e
}

// TestGoldenLastHiddenState runs every model fixture's padded batch and
// compares the last hidden state at real (mask 1) positions, with the
// weights as stored and packed for inference.
func TestGoldenLastHiddenState(t *testing.T) {
	for _, dir := range golden.Dirs(t, "models", "expected.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			e := readExpected(t, dir)
			for _, pack := range []bool{false, true} {
				testGoldenLastHiddenState(t, dir, e, pack)
			}
		})
	}
}

func testGoldenLastHiddenState(t *testing.T, dir string, e *expected, pack bool) {
	m, err := Load(kernels.NewCPU(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if pack {
		m.Pack()
	}
	for _, keep := range []bool{false, true} {
		a, err := m.NewActivations(e.batch*e.seq, e.seq, keep)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Forward(a, e.ids, e.types, e.mask, e.batch, e.seq); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, a.Hidden.Len())
		if err := m.Backend.Download(got, a.Hidden); err != nil {
			t.Fatal(err)
		}
		want := e.tensors["last_hidden_state"]
		H := m.Config.HiddenSize
		var dMasked, dAll float64
		for i := range e.batch * e.seq {
			for c := range H {
				d := math.Abs(float64(got[i*H+c] - want[i*H+c]))
				dAll = max(dAll, d)
				if e.mask[i] != 0 {
					dMasked = max(dMasked, d)
				}
			}
		}
		t.Logf("pack=%v keep=%v: last_hidden_state max |diff| %.3g at mask==1 positions, %.3g over all positions", pack, keep, dMasked, dAll)
		if dMasked > tolerance || math.IsNaN(dMasked) {
			t.Errorf("pack=%v keep=%v: last_hidden_state max |diff| %g > %g", pack, keep, dMasked, tolerance)
		}
	}
}

func ExampleConfig_NumParams() {
	c := Config{ModelType: "bert", VocabSize: 30522, HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12,
		IntermediateSize: 3072, HiddenAct: "gelu", MaxPositionEmbeddings: 512, TypeVocabSize: 2, LayerNormEps: 1e-12,
		PositionEmbeddingType: "absolute"}
	fmt.Println(c.NumParams())
	// Output: 108891648
}
