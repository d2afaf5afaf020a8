package index

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"unsafe"

	"github.com/kotodama-ai/kotodama/internal/atomicfile"
)

// The file format is documented at Save.
const (
	magic      = "KTDMIDX\x00"
	version    = 1
	headerSize = 128
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is the decoded header.
type header struct {
	metric    Metric
	dtype     DType
	dim       int
	count     int
	vecOff    uint64
	normOff   uint64
	idOffOff  uint64
	idDataOff uint64
	idDataLen uint64
	size      uint64
	vecSum    uint32
	normSum   uint32
	idSum     uint32
}

func align8(v uint64) uint64 { return (v + 7) &^ 7 }

// layout fills in the section offsets and file size of h from its dtype,
// dim, count and id length, or reports that they overflow.
func (h *header) layout() bool {
	elem := h.dtype.size()
	n, d := uint64(h.count), uint64(h.dim)
	if d != 0 && n > (1<<62)/d/elem {
		return false
	}
	h.vecOff = headerSize
	h.normOff = align8(h.vecOff + n*d*elem)
	h.idOffOff = h.normOff + align8(4*n)
	h.idDataOff = h.idOffOff + 8*(n+1)
	if h.idDataLen > 1<<62 {
		return false
	}
	h.size = h.idDataOff + h.idDataLen
	return h.size >= h.idDataOff
}

func (h *header) encode() []byte {
	b := make([]byte, headerSize)
	le := binary.LittleEndian
	copy(b, magic)
	le.PutUint32(b[8:], version)
	le.PutUint32(b[12:], uint32(h.metric))
	le.PutUint32(b[16:], uint32(h.dtype))
	le.PutUint32(b[20:], uint32(h.dim))
	le.PutUint64(b[24:], uint64(h.count))
	le.PutUint64(b[32:], h.vecOff)
	le.PutUint64(b[40:], h.normOff)
	le.PutUint64(b[48:], h.idOffOff)
	le.PutUint64(b[56:], h.idDataOff)
	le.PutUint64(b[64:], h.idDataLen)
	le.PutUint64(b[72:], h.size)
	le.PutUint32(b[80:], h.vecSum)
	le.PutUint32(b[84:], h.normSum)
	le.PutUint32(b[88:], h.idSum)
	le.PutUint32(b[124:], crc32.Checksum(b[:124], castagnoli))
	return b
}

// decodeHeader checks and decodes the header of an index file of size
// bytes; name is for errors.
func decodeHeader(b []byte, size int64, name string) (*header, error) {
	if len(b) < headerSize {
		if len(b) >= len(magic) && string(b[:len(magic)]) != magic {
			return nil, fmt.Errorf("%w: %s: not an index file (bad magic)", ErrCorrupt, name)
		}
		return nil, fmt.Errorf("%w: %s: truncated: %d bytes, shorter than the %d-byte header", ErrCorrupt, name, len(b), headerSize)
	}
	le := binary.LittleEndian
	if string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: %s: not an index file (bad magic)", ErrCorrupt, name)
	}
	if v := le.Uint32(b[8:]); v != version {
		return nil, fmt.Errorf("%w: %s: format version %d, this build reads version %d", ErrVersion, name, v, version)
	}
	if got, want := crc32.Checksum(b[:124], castagnoli), le.Uint32(b[124:]); got != want {
		return nil, fmt.Errorf("%w: %s: header checksum mismatch", ErrCorrupt, name)
	}
	for _, c := range b[92:124] {
		if c != 0 {
			return nil, fmt.Errorf("%w: %s: reserved header bytes are not zero", ErrCorrupt, name)
		}
	}
	h := &header{
		metric:    Metric(le.Uint32(b[12:])),
		dtype:     DType(le.Uint32(b[16:])),
		dim:       int(le.Uint32(b[20:])),
		idDataLen: le.Uint64(b[64:]),
		vecSum:    le.Uint32(b[80:]),
		normSum:   le.Uint32(b[84:]),
		idSum:     le.Uint32(b[88:]),
	}
	count := le.Uint64(b[24:])
	switch {
	case !h.metric.valid():
		return nil, fmt.Errorf("%w: %s: unknown metric %d", ErrCorrupt, name, h.metric)
	case h.dtype != Float32 && h.dtype != Float16:
		return nil, fmt.Errorf("%w: %s: unknown dtype %d", ErrCorrupt, name, h.dtype)
	case h.dim <= 0:
		return nil, fmt.Errorf("%w: %s: dimension %d", ErrCorrupt, name, h.dim)
	case count > 1<<40:
		return nil, fmt.Errorf("%w: %s: row count %d", ErrCorrupt, name, count)
	}
	h.count = int(count)
	want := *h
	if !want.layout() {
		return nil, fmt.Errorf("%w: %s: sizes overflow (dim %d, count %d)", ErrCorrupt, name, h.dim, h.count)
	}
	got := [...]uint64{le.Uint64(b[32:]), le.Uint64(b[40:]), le.Uint64(b[48:]), le.Uint64(b[56:]), le.Uint64(b[72:])}
	if got != [...]uint64{want.vecOff, want.normOff, want.idOffOff, want.idDataOff, want.size} {
		return nil, fmt.Errorf("%w: %s: section offsets %v do not match the layout %v", ErrCorrupt, name, got,
			[...]uint64{want.vecOff, want.normOff, want.idOffOff, want.idDataOff, want.size})
	}
	if uint64(size) != want.size {
		what := "truncated"
		if uint64(size) > want.size {
			what = "trailing bytes"
		}
		return nil, fmt.Errorf("%w: %s: %s: %d bytes, the header says %d", ErrCorrupt, name, what, size, want.size)
	}
	return &want, nil
}

// Save writes the index to path, atomically: a reader (or a crash) sees
// the old file or the whole new one. An open index mapped from path keeps
// reading the old file.
//
// The file format, version 1. All integers are little-endian. The file is
// a 128-byte header followed by four sections, each starting at the
// offset the header gives (the layout below is the only valid one, so a
// reader can also compute the offsets):
//
//	offset  size  header field
//	     0     8  magic "KTDMIDX\x00"
//	     8     4  format version (1)
//	    12     4  metric: 0 inner product, 1 cosine, 2 L2
//	    16     4  dtype: 0 float32, 1 float16
//	    20     4  dim, the vector dimension (> 0)
//	    24     8  count, the number of rows n
//	    32     8  offset of the vectors (128)
//	    40     8  offset of the norms
//	    48     8  offset of the id offsets
//	    56     8  offset of the id bytes
//	    64     8  length of the id bytes
//	    72     8  total file size
//	    80     4  CRC-32C of the vectors section
//	    84     4  CRC-32C of the norms section
//	    88     4  CRC-32C of the id offsets and id bytes sections together
//	    92    32  zero (reserved)
//	   124     4  CRC-32C of header bytes [0, 124)
//
//	section      at                          size
//	vectors      128                         n·dim·(4 or 2): row-major rows as float32
//	                                         or IEEE half bits; cosine rows normalized
//	norms        align8(128 + vectors)       4·n: each row's squared L2 norm (float32 of
//	                                         the float64 sum): of the row as added for
//	                                         cosine, of the row as stored otherwise
//	id offsets   norms + align8(4·n)         8·(n+1): uint64, first 0, non-decreasing
//	id bytes     id offsets + 8·(n+1)        row i's id is bytes [off[i], off[i+1])
//
// Padding between sections is zero bytes (checked, not checksummed).
// The vectors start 64-byte aligned relative to the file, so a page-aligned
// mapping gives aligned rows.
func (x *Index) Save(path string) error {
	return atomicfile.Write(path, 0o644, func(f *os.File) error {
		w := bufio.NewWriterSize(f, 1<<20)
		if _, err := x.WriteTo(w); err != nil {
			return fmt.Errorf("index: saving %s: %w", path, err)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("index: saving %s: %w", path, err)
		}
		return nil
	})
}

// WriteTo writes the index in the file format to w.
func (x *Index) WriteTo(w io.Writer) (int64, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return 0, ErrClosed
	}
	h := header{metric: x.metric, dtype: x.dtype, dim: x.dim, count: x.n, idDataLen: uint64(len(x.idData))}
	if !h.layout() {
		return 0, fmt.Errorf("index: too large to save")
	}
	vec := x.vectorBytes()
	h.vecSum = crc32.Checksum(vec, castagnoli)
	norms := le32Bytes(x.sqNorms)
	h.normSum = crc32.Checksum(norms, castagnoli)
	offs := le64Bytes(x.idOff)
	h.idSum = crc32.Update(crc32.Checksum(offs, castagnoli), castagnoli, x.idData)

	var zero [8]byte
	cw := &countWriter{w: w}
	cw.write(h.encode())
	cw.write(vec)
	cw.write(zero[:h.normOff-(h.vecOff+uint64(len(vec)))])
	cw.write(norms)
	cw.write(zero[:h.idOffOff-(h.normOff+uint64(len(norms)))])
	cw.write(offs)
	cw.write(x.idData)
	return cw.n, cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) write(b []byte) {
	if c.err != nil || len(b) == 0 {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
}

// vectorBytes returns the stored rows as their little-endian bytes.
func (x *Index) vectorBytes() []byte {
	if x.dtype == Float16 {
		return le16Bytes(x.f16)
	}
	return le32Bytes(x.f32)
}

// Open loads the index file at path, mapping it into memory where the
// platform allows (the file's pages are then shared with the page cache
// and read on first use) and reading it otherwise. It checks the header,
// sizes and checksums (see WithoutVectorChecksum). Close releases it.
func Open(path string, opts ...Option) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	return openFile(f, path, opts)
}

// OpenFS is Open on a file of fsys. Files that are *os.File (as os.DirFS
// gives) are mapped; others are read into memory.
func OpenFS(fsys fs.FS, name string, opts ...Option) (*Index, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	if of, ok := f.(*os.File); ok {
		return openFile(of, name, opts)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("index: %s: %w", name, err)
	}
	b, err := readAll(f, st.Size(), name)
	if err != nil {
		return nil, err
	}
	return parse(b, name, nil, opts)
}

func openFile(f *os.File, name string, opts []Option) (*Index, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("index: %s: %w", name, err)
	}
	size := st.Size()
	// Check the header before mapping, so a wrong file fails fast.
	hb := make([]byte, min(size, headerSize))
	if _, err := io.ReadFull(f, hb); err != nil {
		return nil, fmt.Errorf("index: %s: %w", name, err)
	}
	if _, err := decodeHeader(hb, size, name); err != nil {
		return nil, err
	}
	b, unmap, err := mapFile(f, size)
	if err != nil {
		// No mapping on this platform (or it failed): read instead.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("index: %s: %w", name, err)
		}
		b, err = readAll(f, size, name)
		if err != nil {
			return nil, err
		}
		unmap = nil
	}
	x, err := parse(b, name, unmap, opts)
	if err != nil && unmap != nil {
		unmap()
	}
	return x, err
}

// readAll reads size bytes of r into an 8-byte-aligned buffer, so the
// sections can be viewed in place.
func readAll(r io.Reader, size int64, name string) ([]byte, error) {
	if size < 0 || size > 1<<50 {
		return nil, fmt.Errorf("%w: %s: size %d", ErrCorrupt, name, size)
	}
	words := make([]uint64, (size+7)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)[:size]
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
	}
	return b, nil
}

// Parse decodes an index file held in b (8-byte aligned), viewing the
// sections in place where the host is little-endian. unmap, if not nil,
// is what Close calls to release b.
func parse(b []byte, name string, unmap func() error, opts []Option) (*Index, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	h, err := decodeHeader(b, int64(len(b)), name)
	if err != nil {
		return nil, err
	}
	n, d := h.count, h.dim
	vec := b[h.vecOff:h.normOff][:uint64(n)*uint64(d)*h.dtype.size()]
	norms := b[h.normOff:][:4*n]
	offs := b[h.idOffOff:h.idDataOff]
	ids := b[h.idDataOff:h.size]
	if !c.skipVecSum && crc32.Checksum(vec, castagnoli) != h.vecSum {
		return nil, fmt.Errorf("%w: %s: vectors checksum mismatch", ErrCorrupt, name)
	}
	if crc32.Checksum(norms, castagnoli) != h.normSum {
		return nil, fmt.Errorf("%w: %s: norms checksum mismatch", ErrCorrupt, name)
	}
	if crc32.Update(crc32.Checksum(offs, castagnoli), castagnoli, ids) != h.idSum {
		return nil, fmt.Errorf("%w: %s: ids checksum mismatch", ErrCorrupt, name)
	}
	for _, pad := range [][]byte{b[h.vecOff+uint64(len(vec)) : h.normOff], b[h.normOff+uint64(len(norms)) : h.idOffOff]} {
		for _, c := range pad {
			if c != 0 {
				return nil, fmt.Errorf("%w: %s: padding between sections is not zero", ErrCorrupt, name)
			}
		}
	}
	x := &Index{dim: d, metric: h.metric, dtype: h.dtype, threads: c.threads, n: n, unmap: unmap}
	if h.dtype == Float16 {
		x.f16 = viewU16(vec)
	} else {
		x.f32 = viewF32(vec)
	}
	x.sqNorms = viewF32(norms)
	if h.metric == L2 {
		x.bias = appendBias(make([]float32, 0, n), x.sqNorms)
	}
	x.idOff = viewU64(offs)
	x.idData = ids[:len(ids):len(ids)]
	prev := uint64(0)
	if x.idOff[0] != 0 {
		return nil, fmt.Errorf("%w: %s: first id offset is %d, want 0", ErrCorrupt, name, x.idOff[0])
	}
	for i, o := range x.idOff {
		if o < prev || o > h.idDataLen {
			return nil, fmt.Errorf("%w: %s: id offset %d (%d) out of order or past the %d id bytes", ErrCorrupt, name, i, o, h.idDataLen)
		}
		prev = o
	}
	if prev != h.idDataLen {
		return nil, fmt.Errorf("%w: %s: id offsets end at %d, the id bytes are %d long", ErrCorrupt, name, prev, h.idDataLen)
	}
	return x, nil
}
