package loss

import (
	"testing"

	"github.com/kotodama-ai/kotodama/safetensors"
)

// readFixture reads every floating-point tensor of a golden safetensors
// file as float64.
func readFixture(t *testing.T, path string) map[string][]float64 {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]float64{}
	for _, name := range f.Names() {
		ts, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if !ts.DType.IsFloat() {
			continue
		}
		v := make([]float32, ts.NumElements())
		if err := ts.Float32s(v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		w := make([]float64, len(v))
		for i, x := range v {
			w[i] = float64(x)
		}
		out[name] = w
	}
	return out
}
