package train

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"testing"
)

// readFixture reads the F32 tensors of a golden safetensors file as
// float64. TODO(training): use package safetensors once it lands on main.
func readFixture(t *testing.T, path string) map[string][]float64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &hdr); err != nil {
		t.Fatalf("%s: header: %v", path, err)
	}
	data := raw[8+n:]
	out := map[string][]float64{}
	for name, m := range hdr {
		if name == "__metadata__" {
			continue
		}
		var info struct {
			Dtype   string
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(m, &info); err != nil {
			t.Fatalf("%s: %s: %v", path, name, err)
		}
		if info.Dtype != "F32" {
			continue
		}
		b := data[info.Offsets[0]:info.Offsets[1]]
		v := make([]float64, len(b)/4)
		for i := range v {
			v[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
		out[name] = v
	}
	return out
}
