package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// IndexSuffix ends the name of a sharded checkpoint's index file
// (model.safetensors.index.json), which maps each tensor name to the
// shard file holding it.
const IndexSuffix = ".safetensors.index.json"

// File is an open safetensors file, or a sharded checkpoint opened
// through its index, seen as one set of tensors. Its methods are safe for
// concurrent use; the Tensors it returns view its memory and are valid
// until Close.
type File struct {
	name     string
	shards   []*shard
	tensors  map[string]location
	names    []string
	metadata map[string]string
}

type location struct {
	sh *shard
	e  *entry
}

// shard is one safetensors file's bytes and parsed header.
type shard struct {
	name  string
	data  []byte // the data section
	hdr   *header
	unmap func() error
	// mapped is the whole file when it is memory-mapped (nil otherwise),
	// for Evict.
	mapped []byte
}

// Open opens a safetensors file, memory-mapping it where the platform
// allows. A name ending in IndexSuffix opens every shard it lists as one
// File. Every header is validated before Open returns.
func Open(name string) (*File, error) {
	if strings.HasSuffix(name, IndexSuffix) {
		return openIndex(name, func(shardName string) (*shard, error) {
			return openShard(filepath.Join(filepath.Dir(name), shardName))
		}, os.ReadFile)
	}
	sh, err := openShard(name)
	if err != nil {
		return nil, err
	}
	return newFile(name, []*shard{sh})
}

// OpenFS is Open for a file in fsys. The files are read into memory
// rather than mapped.
func OpenFS(fsys fs.FS, name string) (*File, error) {
	read := func(n string) ([]byte, error) { return fs.ReadFile(fsys, n) }
	if strings.HasSuffix(name, IndexSuffix) {
		return openIndex(name, func(shardName string) (*shard, error) {
			p := path.Join(path.Dir(name), shardName)
			b, err := read(p)
			if err != nil {
				return nil, fmt.Errorf("safetensors: %w", err)
			}
			return newShard(p, b, nil)
		}, read)
	}
	b, err := read(name)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	sh, err := newShard(name, b, nil)
	if err != nil {
		return nil, err
	}
	return newFile(name, []*shard{sh})
}

// Parse reads a safetensors file held in b, which the File's tensors
// then view; b must not change while they are in use.
func Parse(b []byte) (*File, error) {
	sh, err := newShard("", b, nil)
	if err != nil {
		return nil, err
	}
	return newFile("", []*shard{sh})
}

func openShard(name string) (*shard, error) {
	b, unmap, err := mapFile(name)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	sh, err := newShard(name, b, unmap)
	if err != nil {
		if unmap != nil {
			unmap()
		}
		return nil, err
	}
	if unmap != nil {
		sh.mapped = b
	}
	return sh, nil
}

func newShard(name string, b []byte, unmap func() error) (*shard, error) {
	hdr, data, err := splitHeader(b)
	if err == nil {
		var h *header
		if h, err = parseHeader(hdr, int64(len(data))); err == nil {
			return &shard{name: name, data: data, hdr: h, unmap: unmap}, nil
		}
	}
	if name != "" {
		err = fmt.Errorf("%s: %w", name, err)
	}
	return nil, err
}

// index is the JSON of a sharded checkpoint's index file.
type index struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

func openIndex(name string, open func(shardName string) (*shard, error), read func(string) ([]byte, error)) (*File, error) {
	b, err := read(name)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var ix index
	if err := json.Unmarshal(b, &ix); err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w: %v", name, ErrFormat, err)
	}
	if len(ix.WeightMap) == 0 {
		return nil, fmt.Errorf("safetensors: %s: %w: no weight_map", name, ErrFormat)
	}
	var shardNames []string
	seen := map[string]bool{}
	for _, s := range ix.WeightMap {
		if s == "" || s != filepath.Base(s) || s == "." || s == ".." || strings.ContainsAny(s, `/\`) {
			return nil, fmt.Errorf("safetensors: %s: %w: shard %q is not a file name beside the index", name, ErrFormat, s)
		}
		if !seen[s] {
			seen[s] = true
			shardNames = append(shardNames, s)
		}
	}
	sort.Strings(shardNames)
	var shards []*shard
	closeAll := func() {
		for _, sh := range shards {
			if sh.unmap != nil {
				sh.unmap()
			}
		}
	}
	for _, s := range shardNames {
		sh, err := open(s)
		if err != nil {
			closeAll()
			return nil, err
		}
		shards = append(shards, sh)
	}
	f, err := newFile(name, shards)
	if err != nil {
		closeAll()
		return nil, err
	}
	for t, s := range ix.WeightMap {
		loc, ok := f.tensors[t]
		if !ok || filepath.Base(loc.sh.name) != s {
			closeAll()
			return nil, fmt.Errorf("safetensors: %s: %w: index puts %q in %s, which does not hold it", name, ErrFormat, t, s)
		}
	}
	return f, nil
}

func newFile(name string, shards []*shard) (*File, error) {
	f := &File{name: name, shards: shards, tensors: map[string]location{}}
	for _, sh := range shards {
		for _, n := range sh.hdr.order {
			if prev, dup := f.tensors[n]; dup {
				return nil, fmt.Errorf("safetensors: %w: tensor %q is in both %s and %s", ErrFormat, n, prev.sh.name, sh.name)
			}
			f.tensors[n] = location{sh, sh.hdr.entries[n]}
			f.names = append(f.names, n)
		}
		if len(shards) == 1 {
			f.metadata = sh.hdr.metadata
		}
	}
	return f, nil
}

// Names lists the tensors in file order (by shard, then data offset).
func (f *File) Names() []string { return append([]string(nil), f.names...) }

// Len is the number of tensors.
func (f *File) Len() int { return len(f.names) }

// Metadata is the header's "__metadata__" map of a single file (nil for
// a sharded checkpoint or when absent).
func (f *File) Metadata() map[string]string { return f.metadata }

// Tensor returns the named tensor. A missing name is an error wrapping
// ErrNotFound that names the file.
func (f *File) Tensor(name string) (Tensor, error) {
	loc, ok := f.tensors[name]
	if !ok {
		where := f.name
		if where == "" {
			where = "safetensors data"
		}
		return Tensor{}, fmt.Errorf("%s: %w: %q", where, ErrNotFound, name)
	}
	e := loc.e
	return Tensor{
		Name:  name,
		DType: e.dtype,
		Shape: append([]int(nil), e.shape...),
		Data:  loc.sh.data[e.begin:e.end:e.end],
	}, nil
}

// Has reports whether the file holds a tensor of that name.
func (f *File) Has(name string) bool { _, ok := f.tensors[name]; return ok }

// Evict tells the operating system that the named tensor's bytes are not
// needed for now, so their pages leave the process's resident memory (a
// loader calls it after converting each tensor, which keeps the peak
// memory of loading near the size of the converted weights). The tensor
// stays valid: a later read brings the pages back from the file. Evict
// does nothing for files read into memory, and for names not in f.
func (f *File) Evict(name string) {
	loc, ok := f.tensors[name]
	if !ok || loc.sh.mapped == nil || loc.e.end == loc.e.begin {
		return
	}
	whole := loc.sh.mapped
	// The data section ends the mapping.
	base := int64(len(whole) - len(loc.sh.data))
	evict(whole, base+loc.e.begin, base+loc.e.end)
}

// Close releases the file's memory. Tensors obtained from f must not be
// used afterwards.
func (f *File) Close() error {
	var errs []error
	for _, sh := range f.shards {
		if sh.unmap != nil {
			errs = append(errs, sh.unmap())
			sh.unmap = nil
		}
		sh.data, sh.mapped = nil, nil
	}
	f.tensors = nil
	return errors.Join(errs...)
}
