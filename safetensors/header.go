package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// Errors callers can match with errors.Is; the returned errors wrap them
// with the file and tensor concerned.
var (
	// ErrFormat means the bytes are not a valid safetensors file: a short
	// file, a malformed header, offsets outside the data, overlapping
	// tensors, or a byte length that does not match dtype and shape.
	ErrFormat = errors.New("safetensors: invalid file")
	// ErrNotFound means a tensor name is not in the file.
	ErrNotFound = errors.New("safetensors: tensor not found")
	// ErrDType means a tensor's dtype cannot be read as the type asked for.
	ErrDType = errors.New("safetensors: unsupported dtype")
)

// MaxHeaderSize is the largest header accepted, as in the reference
// implementation: a length beyond it is taken as a corrupt file rather
// than allocated.
const MaxHeaderSize = 100 << 20

const metadataKey = "__metadata__"

// entry is one tensor's header record, validated.
type entry struct {
	name       string
	dtype      DType
	shape      []int
	begin, end int64 // byte offsets into the data section
}

// header is a parsed and validated safetensors header.
type header struct {
	entries  map[string]*entry
	order    []string // names by data offset
	metadata map[string]string
}

// splitHeader returns the JSON header and the data section of a whole
// file's bytes.
func splitHeader(b []byte) (hdr, data []byte, err error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("%w: %d bytes, shorter than the 8-byte header length", ErrFormat, len(b))
	}
	n := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	if n > MaxHeaderSize {
		return nil, nil, fmt.Errorf("%w: header length %d exceeds the %d-byte limit", ErrFormat, n, MaxHeaderSize)
	}
	if n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("%w: header length %d but only %d bytes follow (truncated file?)", ErrFormat, n, len(b)-8)
	}
	return b[8 : 8+n], b[8+n:], nil
}

// rawEntry is a tensor record as the JSON spells it.
type rawEntry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// parseHeader decodes and validates a JSON header describing a data
// section of dataSize bytes.
func parseHeader(hdr []byte, dataSize int64) (*header, error) {
	if !utf8.Valid(hdr) {
		return nil, fmt.Errorf("%w: header is not valid UTF-8", ErrFormat)
	}
	// Writers pad the header with spaces to a multiple of 8 bytes.
	hdr = bytes.TrimRight(hdr, " \t\r\n")
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: header is not a JSON object", ErrFormat)
	}
	h := &header{entries: map[string]*entry{}}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: header JSON: %v", ErrFormat, err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, fmt.Errorf("%w: key %q appears twice in the header", ErrFormat, name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%w: header JSON at %q: %v", ErrFormat, name, err)
		}
		if name == metadataKey {
			if err := json.Unmarshal(raw, &h.metadata); err != nil {
				return nil, fmt.Errorf("%w: __metadata__ is not an object of strings", ErrFormat)
			}
			continue
		}
		e, err := parseEntry(name, raw, dataSize)
		if err != nil {
			return nil, err
		}
		h.entries[name] = e
		h.order = append(h.order, name)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: header JSON: %v", ErrFormat, err)
	}
	if dec.More() || dec.InputOffset() != int64(len(hdr)) {
		return nil, fmt.Errorf("%w: bytes after the header's JSON object", ErrFormat)
	}
	slices.SortFunc(h.order, func(a, b string) int {
		ea, eb := h.entries[a], h.entries[b]
		if ea.begin != eb.begin {
			return cmpInt64(ea.begin, eb.begin)
		}
		return cmpInt64(ea.end, eb.end)
	})
	for i := 1; i < len(h.order); i++ {
		prev, cur := h.entries[h.order[i-1]], h.entries[h.order[i]]
		if cur.begin < prev.end {
			return nil, fmt.Errorf("%w: tensors %q [%d,%d) and %q [%d,%d) overlap", ErrFormat,
				prev.name, prev.begin, prev.end, cur.name, cur.begin, cur.end)
		}
	}
	return h, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func parseEntry(name string, raw json.RawMessage, dataSize int64) (*entry, error) {
	var r rawEntry
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%w: tensor %q: %v", ErrFormat, name, err)
	}
	if r.DType == nil || r.Shape == nil || r.DataOffsets == nil {
		return nil, fmt.Errorf("%w: tensor %q: missing dtype, shape or data_offsets", ErrFormat, name)
	}
	e := &entry{name: name, dtype: DType(*r.DType)}
	size := e.dtype.Size()
	if size == 0 {
		return nil, fmt.Errorf("%w: tensor %q: unknown dtype %q", ErrFormat, name, *r.DType)
	}
	numel := uint64(1)
	e.shape = make([]int, len(*r.Shape))
	for i, d := range *r.Shape {
		if d < 0 || d > math.MaxInt32*int64(1<<16) {
			return nil, fmt.Errorf("%w: tensor %q: dimension %d", ErrFormat, name, d)
		}
		e.shape[i] = int(d)
		hi, lo := bits.Mul64(numel, uint64(d))
		if hi != 0 || lo > 1<<62 {
			return nil, fmt.Errorf("%w: tensor %q: shape %v is too large", ErrFormat, name, *r.Shape)
		}
		numel = lo
	}
	if len(*r.DataOffsets) != 2 {
		return nil, fmt.Errorf("%w: tensor %q: data_offsets has %d values, want 2", ErrFormat, name, len(*r.DataOffsets))
	}
	e.begin, e.end = (*r.DataOffsets)[0], (*r.DataOffsets)[1]
	if e.begin < 0 || e.end < e.begin || e.end > dataSize {
		return nil, fmt.Errorf("%w: tensor %q: data_offsets [%d,%d) outside the %d data bytes (truncated file?)", ErrFormat, name, e.begin, e.end, dataSize)
	}
	hi, want := bits.Mul64(numel, uint64(size))
	if hi != 0 || uint64(e.end-e.begin) != want {
		return nil, fmt.Errorf("%w: tensor %q: %d bytes for %s%v, want %d", ErrFormat, name, e.end-e.begin, e.dtype, e.shape, want)
	}
	return e, nil
}
