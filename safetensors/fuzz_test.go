package safetensors

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the header parser: it must never
// panic, and whatever it accepts must describe tensors inside the data
// that re-encode to a file that parses to the same tensors.
func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	h, _ := Float32("h", []int{2}, []float32{1, 2}).As(F16)
	Encode(&buf, []Tensor{Float32("w", []int{2, 2}, []float32{1, 2, 3, 4}), Int64("i", []int{1}, []int64{5}), h}, map[string]string{"format": "pt"})
	f.Add(buf.Bytes())
	f.Add(file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12))
	f.Add(file(`{"a":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`, 2))
	f.Add(file(`{}`, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err != nil {
			return
		}
		var ts []Tensor
		for _, n := range file.Names() {
			tt, err := file.Tensor(n)
			if err != nil {
				t.Fatalf("listed tensor %q: %v", n, err)
			}
			if err := tt.checkLen(); err != nil {
				t.Fatalf("accepted tensor %q: %v", n, err)
			}
			if tt.DType.IsFloat() {
				if err := tt.Float32s(make([]float32, tt.NumElements())); err != nil {
					t.Fatal(err)
				}
			}
			ts = append(ts, tt)
		}
		var out bytes.Buffer
		if err := Encode(&out, ts, file.Metadata()); err != nil {
			t.Fatalf("re-encoding accepted file: %v", err)
		}
		again, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("re-encoded file does not parse: %v", err)
		}
		for _, tt := range ts {
			u, err := again.Tensor(tt.Name)
			if err != nil || !bytes.Equal(u.Data, tt.Data) || u.DType != tt.DType {
				t.Fatalf("tensor %q changed in the round trip", tt.Name)
			}
		}
	})
}
