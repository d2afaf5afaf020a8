package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

func roundTrip(t *testing.T, ts []Tensor, meta map[string]string) *File {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, ts, meta); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRoundTrip(t *testing.T) {
	vals := []float32{0, 1, -2.5, 256, 0.0078125, float32(math.Inf(-1)), 3.140625}
	half, err := Float32("h", []int{7}, vals).As(F16)
	if err != nil {
		t.Fatal(err)
	}
	bf, err := Float32("b", []int{7}, vals).As(BF16)
	if err != nil {
		t.Fatal(err)
	}
	f := roundTrip(t, []Tensor{
		Float32("w", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		Int64("ids", []int{3}, []int64{-1, 0, 1 << 40}),
		half, bf,
		Float32("scalar", nil, []float32{42}),
		Float32("empty", []int{0, 4}, nil),
	}, map[string]string{"format": "pt"})
	if got := f.Metadata()["format"]; got != "pt" {
		t.Errorf("metadata format = %q", got)
	}
	if f.Len() != 6 {
		t.Errorf("Len = %d, want 6", f.Len())
	}
	w, err := f.Tensor("w")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, w.NumElements())
	if err := w.Float32s(got); err != nil || !slices.Equal(got, []float32{1, 2, 3, 4, 5, 6}) || !slices.Equal(w.Shape, []int{2, 3}) {
		t.Errorf("w = %v %v (%v)", w.Shape, got, err)
	}
	ids, _ := f.Tensor("ids")
	gi := make([]int64, 3)
	if err := ids.Int64s(gi); err != nil || !slices.Equal(gi, []int64{-1, 0, 1 << 40}) {
		t.Errorf("ids = %v (%v)", gi, err)
	}
	// Values exactly representable in both F16 and BF16 come back exactly.
	for _, name := range []string{"h", "b"} {
		tt, _ := f.Tensor(name)
		g := make([]float32, len(vals))
		if err := tt.Float32s(g); err != nil || !slices.Equal(g, vals) {
			t.Errorf("%s = %v, want %v (%v)", name, g, vals, err)
		}
	}
	s, _ := f.Tensor("scalar")
	if s.NumElements() != 1 || len(s.Shape) != 0 {
		t.Errorf("scalar shape %v", s.Shape)
	}
	e, _ := f.Tensor("empty")
	if e.NumElements() != 0 || len(e.Data) != 0 {
		t.Errorf("empty tensor %v %d bytes", e.Shape, len(e.Data))
	}
	if _, err := f.Tensor("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tensor: err = %v, want ErrNotFound", err)
	}
	if err := w.Int64s(make([]int64, 6)); !errors.Is(err, ErrDType) {
		t.Errorf("Int64s on F32: err = %v, want ErrDType", err)
	}
	if err := ids.Float32s(make([]float32, 3)); !errors.Is(err, ErrDType) {
		t.Errorf("Float32s on I64: err = %v, want ErrDType", err)
	}
	if err := w.Float32s(make([]float32, 5)); err == nil {
		t.Error("Float32s into a short slice: no error")
	}
}

// The layout puts wider dtypes first, so every tensor is aligned to its
// element size and conversions can view the bytes directly.
func TestEncodeAligns(t *testing.T) {
	h, _ := Float32("a", []int{3}, []float32{1, 2, 3}).As(F16)
	f := roundTrip(t, []Tensor{h, Float32("b", []int{2}, []float32{4, 5}), Int64("c", []int{1}, []int64{7})}, nil)
	for _, n := range f.Names() {
		tt, _ := f.Tensor(n)
		if off := f.tensors[n].e.begin; off%int64(tt.DType.Size()) != 0 {
			t.Errorf("%s at offset %d, not aligned to %d", n, off, tt.DType.Size())
		}
	}
	if got := f.Names(); !slices.Equal(got, []string{"c", "b", "a"}) {
		t.Errorf("order %v", got)
	}
}

// Data that is not aligned in memory converts through the slow path.
func TestUnaligned(t *testing.T) {
	h, _ := Float32("h", []int{5}, []float32{1, 2, 3, 4, 5}).As(F16)
	var buf bytes.Buffer
	if err := Encode(&buf, []Tensor{Float32("f", []int{5}, []float32{1, 2, 3, 4, 5}), h}, nil); err != nil {
		t.Fatal(err)
	}
	b := append([]byte{0}, buf.Bytes()...)[1:]
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"f", "h"} {
		tt, _ := f.Tensor(n)
		g := make([]float32, 5)
		if err := tt.Float32s(g); err != nil || !slices.Equal(g, []float32{1, 2, 3, 4, 5}) {
			t.Errorf("%s = %v (%v)", n, g, err)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	for name, ts := range map[string][]Tensor{
		"duplicate":  {Float32("a", []int{1}, []float32{1}), Float32("a", []int{1}, []float32{1})},
		"shape":      {Float32("a", []int{2, 2}, []float32{1, 2, 3})},
		"reserved":   {Float32("__metadata__", []int{1}, []float32{1})},
		"dtype":      {{Name: "x", DType: "F7", Shape: []int{1}, Data: []byte{1}}},
		"negative":   {{Name: "x", DType: F32, Shape: []int{-1}, Data: nil}},
		"empty name": {Float32("", []int{1}, []float32{1})},
	} {
		if err := Encode(&bytes.Buffer{}, ts, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// file builds a safetensors file from a raw header and n data bytes.
func file(hdr string, n int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	b = append(b, hdr...)
	return append(b, make([]byte, n)...)
}

func TestParseErrors(t *testing.T) {
	for name, b := range map[string][]byte{
		"short":          {1, 2, 3},
		"header too big": binary.LittleEndian.AppendUint64(nil, 1<<40),
		"truncated hdr":  file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4)[:20],
		"not object":     file(`[1,2]`, 0),
		"not json":       file(`{"a":`, 0),
		"trailing":       file(`{}{}`, 0),
		"duplicate":      file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4),
		"unknown dtype":  file(`{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}`, 4),
		"size mismatch":  file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 8),
		"out of range":   file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 4),
		"reversed":       file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, 4),
		"negative dim":   file(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, 4),
		"float dim":      file(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, 4),
		"huge shape":     file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}`, 4),
		"three offsets":  file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, 8),
		"missing field":  file(`{"a":{"dtype":"F32","shape":[1]}}`, 4),
		"overlap":        file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12),
		"bad metadata":   file(`{"__metadata__":{"a":1}}`, 0),
		"invalid utf8":   file("{\"\xff\":{}}", 0),
	} {
		_, err := Parse(b)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
	// Padding spaces and a gap between tensors are fine.
	if _, err := Parse(file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}   `, 4)); err != nil {
		t.Errorf("padded header: %v", err)
	}
}

func TestOpenTruncatedNamesFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors")
	if err := WriteFile(p, []Tensor{Float32("w", []int{4}, []float32{1, 2, 3, 4})}, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-3], 0o644)
	_, err := Open(p)
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated file: err = %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	os.WriteFile(p, nil, 0o644)
	if _, err := Open(p); !errors.Is(err, ErrFormat) {
		t.Errorf("empty file: err = %v", err)
	}
}

func TestWriteFileOpen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors")
	vals := make([]float32, 1000)
	for i := range vals {
		vals[i] = float32(i) * 0.5
	}
	if err := WriteFile(p, []Tensor{Float32("w", []int{10, 100}, vals)}, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := f.Tensor("w")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 1000)
	if err := w.Float32s(got); err != nil || !slices.Equal(got, vals) {
		t.Errorf("read back differs (%v)", err)
	}
	f2, err := OpenFS(os.DirFS(dir), "m.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if f2.Metadata()["k"] != "v" || !f2.Has("w") {
		t.Errorf("OpenFS: metadata %v", f2.Metadata())
	}
}

func TestSharded(t *testing.T) {
	dir := t.TempDir()
	WriteFile(filepath.Join(dir, "model-00001-of-00002.safetensors"), []Tensor{Float32("a", []int{2}, []float32{1, 2})}, nil)
	WriteFile(filepath.Join(dir, "model-00002-of-00002.safetensors"), []Tensor{Float32("b", []int{1}, []float32{3})}, nil)
	writeIndex := func(m map[string]string) string {
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 12}, "weight_map": m})
		p := filepath.Join(dir, "model.safetensors.index.json")
		os.WriteFile(p, b, 0o644)
		return p
	}
	p := writeIndex(map[string]string{"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"})
	for _, open := range []func() (*File, error){
		func() (*File, error) { return Open(p) },
		func() (*File, error) { return OpenFS(os.DirFS(dir), "model.safetensors.index.json") },
	} {
		f, err := open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.Tensor("b")
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float32, 1)
		b.Float32s(g)
		if g[0] != 3 || !slices.Equal(f.Names(), []string{"a", "b"}) {
			t.Errorf("sharded: b = %v, names %v", g, f.Names())
		}
		f.Close()
	}
	for name, m := range map[string]map[string]string{
		"wrong shard": {"a": "model-00002-of-00002.safetensors"},
		"escape":      {"a": "../x.safetensors"},
		"missing":     {"a": "model-00003-of-00002.safetensors"},
		"empty":       {},
	} {
		p := writeIndex(m)
		if _, err := Open(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The fixtures' files were written by the reference (Python) writer: read
// every one, and check each tensor's bytes convert.
func TestGoldenFiles(t *testing.T) {
	for _, dir := range golden.Dirs(t, "models", "model.safetensors") {
		for _, name := range []string{"model.safetensors", "expected.safetensors"} {
			f, err := Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range f.Names() {
				tt, _ := f.Tensor(n)
				switch {
				case tt.DType.IsFloat():
					v := make([]float32, tt.NumElements())
					if err := tt.Float32s(v); err != nil {
						t.Errorf("%s %s: %v", name, n, err)
					}
					for _, x := range v {
						if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
							t.Errorf("%s %s: non-finite value", name, n)
							break
						}
					}
				case tt.DType.IsInt():
					if err := tt.Int64s(make([]int64, tt.NumElements())); err != nil {
						t.Errorf("%s %s: %v", name, n, err)
					}
				}
			}
			if name == "model.safetensors" {
				w, err := f.Tensor("embeddings.word_embeddings.weight")
				if err != nil || len(w.Shape) != 2 {
					t.Errorf("%s: word embeddings %v (%v)", dir, w.Shape, err)
				}
			}
			f.Close()
		}
	}
}

// Evict leaves the tensor readable.
func TestEvict(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.safetensors")
	vals := make([]float32, 5000)
	for i := range vals {
		vals[i] = float32(i)
	}
	if err := WriteFile(p, []Tensor{Float32("a", []int{5000}, vals), Float32("b", []int{3}, []float32{1, 2, 3})}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Evict("a")
	f.Evict("missing")
	for _, n := range []string{"a", "b"} {
		tt, _ := f.Tensor(n)
		got := make([]float32, tt.NumElements())
		if err := tt.Float32s(got); err != nil || got[len(got)-1] != float32(len(got)-1)+map[string]float32{"a": 0, "b": 1}[n] {
			t.Errorf("%s after Evict: %v (%v)", n, got[len(got)-1], err)
		}
	}
}
