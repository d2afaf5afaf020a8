package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"sort"
	"unicode/utf8"
)

// malformed returns an error wrapping ErrFormat.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// jsonLines yields parse(line) for each non-blank line of r (JSON Lines;
// a trailing "\r" and surrounding white space are ignored). The first
// failure ends the iteration with an *Error naming name and the line.
func jsonLines[T any](r io.Reader, name string, parse func(line []byte) (T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		br := bufio.NewReaderSize(r, 64<<10)
		for lineNo := 1; ; lineNo++ {
			line, err := br.ReadBytes('\n')
			if t := bytes.TrimSpace(line); len(t) > 0 {
				if !utf8.Valid(t) {
					yield(zero, formatErr(name, lineNo, "invalid UTF-8"))
					return
				}
				v, perr := parse(t)
				if perr != nil {
					yield(zero, &Error{File: name, Line: lineNo, Err: perr})
					return
				}
				if !yield(v, nil) {
					return
				}
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(zero, &Error{File: name, Line: lineNo, Err: err})
				return
			}
		}
	}
}

// decodeObject unmarshals one JSON object into v, turning decoding
// failures into ErrFormat errors.
func decodeObject(line []byte, v any) error {
	if len(line) == 0 || line[0] != '{' {
		return malformed("not a JSON object")
	}
	if err := json.Unmarshal(line, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return malformed("field %q: JSON %s where a %s belongs", te.Field, te.Value, te.Type)
		}
		return malformed("%v", err)
	}
	return nil
}

// idString renders a JSON id that may be a string or a number. An absent
// id (nil or null) is "".
func idString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return "", false
		}
		return n.String(), true
	}
	return "", false
}

// idList renders a JSON value that is one id or a list of ids.
func idList(raw json.RawMessage) ([]string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil, false
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			s, ok := idString(it)
			if !ok || len(bytes.TrimSpace(it)) == 0 || string(bytes.TrimSpace(it)) == "null" {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	s, ok := idString(raw)
	if !ok {
		return nil, false
	}
	return []string{s}, true
}

// trackReader passes bytes through from r while remembering where lines
// start, so a byte offset reported by encoding/json can be turned into a
// line number, and checks that the stream is valid UTF-8 (encoding/json
// would silently replace invalid bytes). Offsets before the last forget
// are dropped, keeping memory bounded by what the decoder buffers.
type trackReader struct {
	r        io.Reader
	off      int64   // bytes passed through so far
	base     int64   // offsets below base are forgotten
	baseLine int     // 1-based line number at offset base
	nl       []int64 // offsets of '\n' at or after base
	pending  []byte  // an incomplete UTF-8 sequence ending the last chunk
	badAt    int64   // offset of invalid UTF-8, or -1
}

func newTrackReader(r io.Reader) *trackReader {
	return &trackReader{r: r, baseLine: 1, badAt: -1}
}

func (t *trackReader) Read(p []byte) (int, error) {
	if t.badAt >= 0 {
		return 0, errInvalidUTF8
	}
	n, err := t.r.Read(p)
	chunk := p[:n]
	for i, c := range chunk {
		if c == '\n' {
			t.nl = append(t.nl, t.off+int64(i))
		}
	}
	if bad := t.checkUTF8(chunk, err == io.EOF); bad >= 0 {
		t.badAt = t.off + int64(bad)
		// Deliver nothing past the bad byte so the decoder stops there.
		t.off += int64(bad)
		return bad, errInvalidUTF8
	}
	t.off += int64(n)
	return n, err
}

var errInvalidUTF8 = errors.New("invalid UTF-8")

// checkUTF8 validates chunk, continuing a sequence split across chunks,
// and returns the index in chunk of the first invalid byte, or -1.
func (t *trackReader) checkUTF8(chunk []byte, eof bool) int {
	start := -len(t.pending) // index in chunk of the first byte checked
	buf := chunk
	if len(t.pending) > 0 {
		buf = append(t.pending, chunk...)
		t.pending = nil
	}
	for i := 0; i < len(buf); {
		if buf[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(buf[i:])
		if r == utf8.RuneError && size <= 1 {
			if !eof && !utf8.FullRune(buf[i:]) {
				t.pending = append([]byte(nil), buf[i:]...)
				return -1
			}
			return max(0, i+start)
		}
		i += size
	}
	return -1
}

// line returns the 1-based line holding byte offset off (off ≥ base).
func (t *trackReader) line(off int64) int {
	if off < t.base {
		off = t.base
	}
	return t.baseLine + sort.Search(len(t.nl), func(i int) bool { return t.nl[i] >= off })
}

// forget drops line bookkeeping for offsets before off.
func (t *trackReader) forget(off int64) {
	if off <= t.base {
		return
	}
	k := sort.Search(len(t.nl), func(i int) bool { return t.nl[i] >= off })
	t.baseLine += k
	t.nl = append(t.nl[:0], t.nl[k:]...)
	t.base = off
}

// jsonErr turns an error from a json.Decoder reading through t into an
// *Error with the line where it happened; at is the offset to blame when
// the error carries none.
func (t *trackReader) jsonErr(name string, err error, at int64) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, errInvalidUTF8):
		return formatErr(name, t.line(t.badAt), "invalid UTF-8")
	case errors.As(err, &se):
		return formatErr(name, t.line(max(se.Offset-1, 0)), "%v", err)
	case errors.As(err, &te):
		return formatErr(name, t.line(max(te.Offset-1, 0)), "field %q: JSON %s where a %s belongs", te.Field, te.Value, te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return formatErr(name, t.line(t.off), "unexpected end of file")
	}
	return &Error{File: name, Line: t.line(at), Err: err}
}
