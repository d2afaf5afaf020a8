package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/kotodama-ai/kotodama/internal/atomicfile"
)

// Encode writes tensors and optional string metadata to w in the
// safetensors format. Tensors are laid out by descending element size,
// then name, so every tensor's data is aligned to its element size (as
// the reference writer does). Names must be unique and not
// "__metadata__", and each tensor's bytes must match its dtype and shape.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	ts := slices.Clone(tensors)
	seen := map[string]bool{}
	for _, t := range ts {
		if t.Name == metadataKey || t.Name == "" {
			return fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
		}
		if seen[t.Name] {
			return fmt.Errorf("safetensors: tensor %q given twice", t.Name)
		}
		seen[t.Name] = true
		if err := t.checkLen(); err != nil {
			return err
		}
	}
	slices.SortStableFunc(ts, func(a, b Tensor) int {
		if sa, sb := a.DType.Size(), b.DType.Size(); sa != sb {
			return sb - sa
		}
		return strings.Compare(a.Name, b.Name)
	})
	// Build the header by hand so tensors appear in data order.
	var hb strings.Builder
	hb.WriteByte('{')
	if len(metadata) > 0 {
		m, err := json.Marshal(metadata)
		if err != nil {
			return fmt.Errorf("safetensors: metadata: %w", err)
		}
		hb.WriteString(`"__metadata__":`)
		hb.Write(m)
	}
	var off int64
	for i, t := range ts {
		if i > 0 || len(metadata) > 0 {
			hb.WriteByte(',')
		}
		name, _ := json.Marshal(t.Name)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		sh, _ := json.Marshal(shape)
		end := off + int64(len(t.Data))
		fmt.Fprintf(&hb, `%s:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, name, string(t.DType), sh, off, end)
		off = end
	}
	hb.WriteByte('}')
	for hb.Len()%8 != 0 {
		hb.WriteByte(' ')
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(hb.Len()))
	bw.Write(n[:])
	bw.WriteString(hb.String())
	for _, t := range ts {
		if _, err := bw.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// WriteFile writes tensors and metadata to path atomically: readers and
// crashes see either the previous file or the complete new one.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	err := atomicfile.Write(path, 0o644, func(w *os.File) error {
		return Encode(w, tensors, metadata)
	})
	if err != nil {
		return fmt.Errorf("safetensors: writing %s: %w", path, err)
	}
	return nil
}
