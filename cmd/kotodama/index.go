package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/index"
	"github.com/kotodama-ai/kotodama/internal/progress"
	"github.com/kotodama-ai/kotodama/kernels"
)

func init() {
	register(&command{
		name:  "index",
		short: "build a search index file from a corpus (encoded by a model) or from precomputed vectors",
		run:   runIndex,
	})
}

func runIndex(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "index", "index (-model DIR [-in corpus.jsonl] | -vectors FILE [-dim N] [-ids FILE]) -out FILE [-metric cosine|ip|l2] [-f16] [-json]")
	out := fs.String("out", "", "index `file` to write (required)")
	model := fs.String("model", "", "encode the corpus with this model `directory` (as `kotodama encode`)")
	in := fs.String("in", "", "with -model: the corpus `file`, one text per line or JSONL {\"id\":..,\"text\":..} (also \"_id\" or \"docid\"); default stdin. Ids default to line numbers from 0")
	prompt := fs.String("prompt", "", "with -model: prepend the model's prompt of this `name` to every document (e.g. document)")
	batch := fs.Int("batch", 32, "with -model: texts per forward pass")
	maxLength := fs.Int("max-length", 0, "with -model: truncate texts to this many `tokens` (default: the model's max_seq_length)")
	vecPath := fs.String("vectors", "", "precomputed vectors `file`: a .npy array (float32, float16 or float64; n×dim) or raw little-endian float32 (needs -dim)")
	dim := fs.Int("dim", 0, "vector dimension of a raw float32 -vectors file (checked against an NPY file's shape if given)")
	idsPath := fs.String("ids", "", "with -vectors: `file` of row ids, one per line, in the order of the vectors (default: the row numbers 0, 1, ...)")
	metricName := fs.String("metric", "cosine", "score: cosine (rows normalized as sentence-transformers cos_sim), ip (inner product) or l2 (squared Euclidean distance, smallest first)")
	f16 := fs.Bool("f16", false, "store vectors in half precision (half the memory and file size; scores are float32 from the stored halves)")
	asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
	quiet := fs.Bool("q", false, "no progress bar on stderr")
	devName := deviceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("index: unexpected arguments %q", fs.Args())
	}
	if *out == "" {
		return errors.New("index: -out is required")
	}
	if (*vecPath == "") == (*model == "") {
		return errors.New("index: give exactly one of -model and -vectors")
	}
	if *vecPath != "" && *devName != "cpu" {
		return errors.New("index: -device encodes with -model; -vectors needs none")
	}
	metric, err := index.ParseMetric(*metricName)
	if err != nil {
		return fmt.Errorf("index: -metric: %w", err)
	}
	var opts []index.Option
	if *f16 {
		opts = append(opts, index.WithFloat16())
	}
	errw := e.stderr
	if *quiet {
		errw = nil
	}
	start := time.Now()
	var ix *index.Index
	if *model != "" {
		enc := encodeOptions(*prompt, *batch, *maxLength)
		ix, err = indexTexts(ctx, e, errw, *model, *devName, *in, enc, metric, opts)
	} else {
		if *in != "" {
			return errors.New("index: -in goes with -model; -vectors reads its own file")
		}
		ix, err = indexVectors(ctx, errw, *vecPath, *dim, *idsPath, metric, opts)
	}
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer ix.Close()
	if err := ix.Save(*out); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	secs := time.Since(start).Seconds()
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{
			"out": *out, "rows": ix.Len(), "dim": ix.Dim(), "metric": metric.String(),
			"dtype": ix.DType().String(), "seconds": secs,
		})
	}
	fmt.Fprintf(e.stderr, "wrote %s: %d rows of dimension %d (%s, %s) in %.1fs\n", *out, ix.Len(), ix.Dim(), metric, ix.DType(), secs)
	return nil
}

// encodeOptions are the embed options the -prompt, -batch and
// -max-length flags of index and search ask for.
func encodeOptions(prompt string, batch, maxLength int) []embed.EncodeOption {
	opts := []embed.EncodeOption{embed.WithBatchSize(batch)}
	if prompt != "" {
		opts = append(opts, embed.WithPromptName(prompt))
	}
	if maxLength != 0 {
		opts = append(opts, embed.WithMaxLength(maxLength))
	}
	return opts
}

// indexVectors builds an index from a vectors file, a chunk of rows at a
// time.
func indexVectors(ctx context.Context, errw io.Writer, vecPath string, dim int, idsPath string, metric index.Metric, opts []index.Option) (*index.Index, error) {
	vf, err := openVectors(vecPath, dim)
	if err != nil {
		return nil, err
	}
	defer vf.Close()
	var ids []string
	if idsPath != "" {
		if ids, err = readLines(idsPath); err != nil {
			return nil, fmt.Errorf("-ids: %w", err)
		}
		if len(ids) != vf.rows {
			return nil, fmt.Errorf("-ids %s has %d ids, -vectors %s has %d rows", idsPath, len(ids), vecPath, vf.rows)
		}
	}
	ix, err := index.New(vf.dim, metric, opts...)
	if err != nil {
		return nil, err
	}
	ix.Grow(vf.rows)
	bar := progress.New(errw, "index", int64(vf.rows), "rows")
	defer bar.Finish()
	const chunk = 1 << 14
	buf := make([]float32, chunk*vf.dim)
	for done := 0; done < vf.rows; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := vf.next(buf)
		if err != nil {
			return nil, err
		}
		var part []string
		if ids != nil {
			part = ids[done : done+n]
		}
		if err := ix.Add(buf[:n*vf.dim], part); err != nil {
			// Add names the row within the part; say where it is.
			return nil, fmt.Errorf("%s rows %d..%d: %w", vecPath, done, done+n-1, err)
		}
		done += n
		bar.Add(int64(n))
	}
	return ix, nil
}

// indexTexts encodes the documents of path (stdin when empty) with the
// model in dir and indexes them, a chunk at a time.
func indexTexts(ctx context.Context, e *env, errw io.Writer, dir, devName, path string, enc []embed.EncodeOption, metric index.Metric, opts []index.Option) (*index.Index, error) {
	dev, err := openDevice(devName)
	if err != nil {
		return nil, err
	}
	defer dev.close()
	m, err := embed.Load(dir, dev.loadOptions()...)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	r := e.stdin
	name := "stdin"
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r, name = f, path
	}
	var ix *index.Index
	bar := progress.New(errw, "index", 0, "texts")
	defer bar.Finish()
	var ids, texts []string
	flush := func() error {
		if len(texts) == 0 {
			return nil
		}
		reported := 0
		vecs, err := m.Encode(ctx, texts, append(enc, embed.WithProgress(func(done int) {
			bar.Add(int64(done - reported))
			reported = done
		}))...)
		if err != nil {
			return err
		}
		if ix == nil {
			if ix, err = index.New(len(vecs[0]), metric, opts...); err != nil {
				return err
			}
		}
		flat := make([]float32, 0, len(vecs)*ix.Dim())
		for _, v := range vecs {
			flat = append(flat, v...)
		}
		if err := ix.Add(flat, ids); err != nil {
			return fmt.Errorf("the model's vectors: %w", err)
		}
		ids, texts = ids[:0], texts[:0]
		return nil
	}
	for doc, err := range readDocs(r, name) {
		if err != nil {
			return nil, err
		}
		ids, texts = append(ids, doc.id), append(texts, doc.text)
		if len(texts) == encodeChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if ix == nil {
		return nil, fmt.Errorf("%s: no documents", name)
	}
	return ix, nil
}

// doc is one corpus document.
type doc struct{ id, text string }

// docIDKeys are the JSONL fields a document id is read from, in order.
var docIDKeys = []string{"id", "_id", "docid", "doc_id"}

// readDocs yields the documents of r: one text per line, with the line
// number (from 0) as id, or — when the first line is a JSON object with a
// string "text" field — JSONL, each line such an object whose id is its
// first present field of docIDKeys (a string or a number), or else the
// line number. It follows readTexts's rules otherwise.
func readDocs(r io.Reader, name string) iter.Seq2[doc, error] {
	return func(yield func(doc, error) bool) {
		br := bufio.NewReaderSize(r, 1<<16)
		jsonl := false
		for n := 0; ; n++ {
			line, err := br.ReadBytes('\n')
			if len(line) == 0 && err != nil {
				if err != io.EOF {
					yield(doc{}, fmt.Errorf("reading %s: %w", name, err))
				}
				return
			}
			line = bytes.TrimSuffix(line, []byte("\n"))
			line = bytes.TrimSuffix(line, []byte("\r"))
			if n == 0 {
				_, jsonl = jsonText(line)
			}
			d := doc{id: strconv.Itoa(n)}
			if jsonl {
				var obj map[string]json.RawMessage
				text, ok := jsonText(line)
				if !ok || json.Unmarshal(line, &obj) != nil {
					yield(doc{}, fmt.Errorf("%s line %d: not a JSON object with a string \"text\" field", name, n+1))
					return
				}
				d.text = text
				for _, k := range docIDKeys {
					raw, ok := obj[k]
					if !ok {
						continue
					}
					var s string
					if json.Unmarshal(raw, &s) == nil {
						d.id = s
					} else if num := bytes.TrimSpace(raw); len(num) > 0 && (num[0] == '-' || num[0] >= '0' && num[0] <= '9') {
						d.id = string(num)
					} else {
						yield(doc{}, fmt.Errorf("%s line %d: %q is neither a string nor a number", name, n+1, k))
						return
					}
					break
				}
			} else {
				if !utf8.Valid(line) {
					yield(doc{}, fmt.Errorf("%s line %d: invalid UTF-8", name, n+1))
					return
				}
				d.text = string(line)
			}
			if !yield(d, nil) || err != nil {
				return
			}
		}
	}
}

// readLines returns the lines of a file (a trailing "\r" dropped).
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<30)
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return lines, nil
}

// vectorFile streams the rows of a file of vectors: an NPY array (a 1-D
// array is one row; 2-D is rows × dim, C order; little-endian float32,
// float16 or float64) or raw little-endian float32 rows of a given
// dimension.
type vectorFile struct {
	name string
	r    *bufio.Reader
	c    io.Closer
	rows int
	dim  int
	elem int // bytes per value: 4 (f4), 2 (f2) or 8 (f8)
	read int // rows read so far
	raw  []byte
}

// openVectors opens path; dim is required for a raw file and, when not
// zero, must match an NPY file's shape.
func openVectors(path string, dim int) (*vectorFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	v, err := newVectorFile(f, st.Size(), path, dim)
	if err != nil {
		f.Close()
		return nil, err
	}
	v.c = f
	return v, nil
}

// newVectorFile reads the header (if any) of a vectors file of size bytes
// from r.
func newVectorFile(r io.Reader, size int64, name string, dim int) (*vectorFile, error) {
	if dim < 0 {
		return nil, fmt.Errorf("-dim %d is negative", dim)
	}
	br := bufio.NewReaderSize(r, 1<<20)
	v := &vectorFile{name: name, r: br}
	magic, _ := br.Peek(len(npyMagic))
	if string(magic) != npyMagic {
		if dim == 0 {
			return nil, fmt.Errorf("%s is not an NPY file: raw float32 vectors need -dim", name)
		}
		if size%int64(4*dim) != 0 {
			return nil, fmt.Errorf("%s: %d bytes is not a whole number of float32 rows of dimension %d", name, size, dim)
		}
		v.rows, v.dim, v.elem = int(size/int64(4*dim)), dim, 4
		return v, nil
	}
	h, err := readNPYHeader(br, name)
	if err != nil {
		return nil, err
	}
	v.rows, v.dim, v.elem = h.rows, h.dim, h.elem
	if dim != 0 && dim != v.dim {
		return nil, fmt.Errorf("%s: vectors have dimension %d, -dim says %d", name, v.dim, dim)
	}
	if want := int64(h.headerLen) + int64(v.rows)*int64(v.dim)*int64(v.elem); size != want {
		return nil, fmt.Errorf("%s: %d bytes, the NPY header describes %d (truncated or trailing data)", name, size, want)
	}
	return v, nil
}

// next reads up to len(dst)/dim rows into dst and returns how many; 0 at
// the end.
func (v *vectorFile) next(dst []float32) (int, error) {
	n := min(len(dst)/v.dim, v.rows-v.read)
	if n == 0 {
		return 0, nil
	}
	vals := n * v.dim
	if cap(v.raw) < vals*v.elem {
		v.raw = make([]byte, vals*v.elem)
	}
	raw := v.raw[:vals*v.elem]
	if _, err := io.ReadFull(v.r, raw); err != nil {
		return 0, fmt.Errorf("%s: reading rows %d..%d: %w", v.name, v.read, v.read+n-1, err)
	}
	le := binary.LittleEndian
	switch v.elem {
	case 4:
		for i := range vals {
			dst[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case 2:
		h := make([]uint16, vals)
		for i := range h {
			h[i] = le.Uint16(raw[2*i:])
		}
		kernels.F16ToF32(dst[:vals], h)
	case 8:
		for i := range vals {
			dst[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
		}
	}
	v.read += n
	return n, nil
}

// all reads every remaining row.
func (v *vectorFile) all() ([]float32, error) {
	out := make([]float32, (v.rows-v.read)*v.dim)
	for off := 0; off < len(out); {
		n, err := v.next(out[off:])
		if err != nil {
			return nil, err
		}
		off += n * v.dim
	}
	return out, nil
}

// Close closes the underlying file, if any.
func (v *vectorFile) Close() error {
	if v.c != nil {
		return v.c.Close()
	}
	return nil
}

const npyMagic = "\x93NUMPY"

type npyHeader struct {
	rows, dim int
	elem      int
	headerLen int // bytes before the data
}

var (
	npyDescr   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// readNPYHeader reads the magic, version and header dictionary of an NPY
// file (format versions 1 to 3).
func readNPYHeader(r io.Reader, name string) (*npyHeader, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("%s: NPY preamble: %w", name, err)
	}
	if string(pre[:6]) != npyMagic {
		return nil, fmt.Errorf("%s: not an NPY file", name)
	}
	var hlen, pre2 int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%s: NPY header length: %w", name, err)
		}
		hlen, pre2 = int(binary.LittleEndian.Uint16(b[:])), 10
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%s: NPY header length: %w", name, err)
		}
		hlen, pre2 = int(binary.LittleEndian.Uint32(b[:])), 12
	default:
		return nil, fmt.Errorf("%s: NPY format version %d.%d is not supported", name, pre[6], pre[7])
	}
	if hlen > 1<<20 {
		return nil, fmt.Errorf("%s: NPY header of %d bytes is implausibly long", name, hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("%s: NPY header: %w", name, err)
	}
	hdr := string(hb)
	h := &npyHeader{headerLen: pre2 + hlen}
	m := npyDescr.FindStringSubmatch(hdr)
	if m == nil {
		return nil, fmt.Errorf("%s: NPY header has no descr: %q", name, hdr)
	}
	switch m[1] {
	case "<f4":
		h.elem = 4
	case "<f2":
		h.elem = 2
	case "<f8":
		h.elem = 8
	default:
		return nil, fmt.Errorf("%s: NPY dtype %q: want little-endian float32, float16 or float64 (<f4, <f2, <f8)", name, m[1])
	}
	if m := npyFortran.FindStringSubmatch(hdr); m == nil || m[1] != "False" {
		return nil, fmt.Errorf("%s: NPY array must be in C order (fortran_order False)", name)
	}
	m = npyShape.FindStringSubmatch(hdr)
	if m == nil {
		return nil, fmt.Errorf("%s: NPY header has no shape: %q", name, hdr)
	}
	var shape []int
	for _, f := range strings.Split(m[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(f, "L"))
		if err != nil || n < 0 || n > 1<<40 {
			return nil, fmt.Errorf("%s: NPY shape (%s) is not a list of sizes", name, m[1])
		}
		shape = append(shape, n)
	}
	switch len(shape) {
	case 1:
		h.rows, h.dim = 1, shape[0]
	case 2:
		h.rows, h.dim = shape[0], shape[1]
	default:
		return nil, fmt.Errorf("%s: NPY array has shape (%s); want rows × dim", name, m[1])
	}
	if h.dim == 0 {
		return nil, fmt.Errorf("%s: NPY vectors have dimension 0", name)
	}
	if h.rows > (1<<50)/h.dim/h.elem {
		return nil, fmt.Errorf("%s: NPY shape (%s) is too large", name, m[1])
	}
	return h, nil
}
