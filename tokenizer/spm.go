package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SentencePiece .model files are a serialized ModelProto (protobuf, proto2).
// Only the fields tokenization needs are read; the rest are skipped:
//
//	ModelProto     { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2; NormalizerSpec normalizer_spec = 3; }
//	SentencePiece  { string piece = 1; float score = 2; Type type = 3 [default NORMAL]; }
//	               Type: NORMAL=1 UNKNOWN=2 CONTROL=3 USER_DEFINED=4 UNUSED=5 BYTE=6
//	TrainerSpec    { ModelType model_type = 3 [default UNIGRAM=1, BPE=2, WORD=3, CHAR=4];
//	                 bool treat_whitespace_as_suffix = 24; bool byte_fallback = 35;
//	                 int32 unk_id = 40; bos_id = 41; eos_id = 42; pad_id = 43;
//	                 string unk_surface = 44; }
//	NormalizerSpec { string name = 1; bytes precompiled_charsmap = 2;
//	                 bool add_dummy_prefix = 3 [default true];
//	                 bool remove_extra_whitespaces = 4 [default true];
//	                 bool escape_whitespaces = 5 [default true]; }

// SentencePiece piece types.
const (
	spmNormal      = 1
	spmUnknown     = 2
	spmControl     = 3
	spmUserDefined = 4
	spmUnused      = 5
	spmByte        = 6
)

type spmPiece struct {
	piece string
	score float32
	typ   int
}

type spmModelProto struct {
	pieces                 []spmPiece
	modelType              int
	treatWhitespaceAsSufix bool
	byteFallback           bool
	unkID, bosID, eosID    int
	padID                  int
	unkSurface             string
	normName               string
	charsmap               []byte
	addDummyPrefix         bool
	removeExtraWhitespaces bool
	escapeWhitespaces      bool
}

// pbReader reads protobuf wire format.
type pbReader struct {
	b   []byte
	off int
}

var errTruncatedProto = errors.New("truncated protobuf")

func (r *pbReader) done() bool { return r.off >= len(r.b) }

func (r *pbReader) varint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.off >= len(r.b) {
			return 0, errTruncatedProto
		}
		c := r.b[r.off]
		r.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("protobuf varint longer than 10 bytes")
}

// key reads a field key: field number and wire type.
func (r *pbReader) key() (int, int, error) {
	v, err := r.varint()
	if err != nil {
		return 0, 0, err
	}
	if v>>3 == 0 || v>>3 > math.MaxInt32 {
		return 0, 0, fmt.Errorf("protobuf field number %d at offset %d", v>>3, r.off)
	}
	return int(v >> 3), int(v & 7), nil
}

func (r *pbReader) bytes() ([]byte, error) {
	n, err := r.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)-r.off) {
		return nil, errTruncatedProto
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

func (r *pbReader) fixed32() (uint32, error) {
	if len(r.b)-r.off < 4 {
		return 0, errTruncatedProto
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v, nil
}

// skip skips a field of wire type wt.
func (r *pbReader) skip(wt int) error {
	switch wt {
	case 0:
		_, err := r.varint()
		return err
	case 1:
		if len(r.b)-r.off < 8 {
			return errTruncatedProto
		}
		r.off += 8
		return nil
	case 2:
		_, err := r.bytes()
		return err
	case 5:
		_, err := r.fixed32()
		return err
	}
	return fmt.Errorf("unsupported protobuf wire type %d at offset %d", wt, r.off)
}

// parseSPM decodes a ModelProto.
func parseSPM(b []byte) (*spmModelProto, error) {
	m := &spmModelProto{modelType: 1, unkID: 0, bosID: 1, eosID: 2, padID: -1, unkSurface: " \u2047 ",
		addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true}
	r := pbReader{b: b}
	for !r.done() {
		f, wt, err := r.key()
		if err != nil {
			return nil, err
		}
		switch {
		case f == 1 && wt == 2:
			sub, err := r.bytes()
			if err != nil {
				return nil, err
			}
			p, err := parseSPMPiece(sub)
			if err != nil {
				return nil, fmt.Errorf("piece %d: %w", len(m.pieces), err)
			}
			m.pieces = append(m.pieces, p)
		case f == 2 && wt == 2:
			sub, err := r.bytes()
			if err != nil {
				return nil, err
			}
			if err := parseTrainerSpec(sub, m); err != nil {
				return nil, fmt.Errorf("trainer_spec: %w", err)
			}
		case f == 3 && wt == 2:
			sub, err := r.bytes()
			if err != nil {
				return nil, err
			}
			if err := parseNormalizerSpec(sub, m); err != nil {
				return nil, fmt.Errorf("normalizer_spec: %w", err)
			}
		default:
			if err := r.skip(wt); err != nil {
				return nil, err
			}
		}
	}
	if len(m.pieces) == 0 {
		return nil, errors.New("no pieces (not a SentencePiece model?)")
	}
	return m, nil
}

func parseSPMPiece(b []byte) (spmPiece, error) {
	p := spmPiece{typ: spmNormal}
	r := pbReader{b: b}
	for !r.done() {
		f, wt, err := r.key()
		if err != nil {
			return p, err
		}
		switch {
		case f == 1 && wt == 2:
			s, err := r.bytes()
			if err != nil {
				return p, err
			}
			if !utf8.Valid(s) {
				return p, errors.New("piece is not valid UTF-8")
			}
			p.piece = string(s)
		case f == 2 && wt == 5:
			v, err := r.fixed32()
			if err != nil {
				return p, err
			}
			p.score = math.Float32frombits(v)
		case f == 3 && wt == 0:
			v, err := r.varint()
			if err != nil {
				return p, err
			}
			p.typ = int(v)
		default:
			if err := r.skip(wt); err != nil {
				return p, err
			}
		}
	}
	if p.piece == "" {
		return p, errors.New("empty piece")
	}
	return p, nil
}

func parseTrainerSpec(b []byte, m *spmModelProto) error {
	r := pbReader{b: b}
	for !r.done() {
		f, wt, err := r.key()
		if err != nil {
			return err
		}
		if wt == 0 && (f == 3 || f == 24 || f == 35 || (f >= 40 && f <= 43)) {
			v, err := r.varint()
			if err != nil {
				return err
			}
			switch f {
			case 3:
				m.modelType = int(v)
			case 24:
				m.treatWhitespaceAsSufix = v != 0
			case 35:
				m.byteFallback = v != 0
			case 40:
				m.unkID = int(int32(v))
			case 41:
				m.bosID = int(int32(v))
			case 42:
				m.eosID = int(int32(v))
			case 43:
				m.padID = int(int32(v))
			}
			continue
		}
		if f == 44 && wt == 2 {
			s, err := r.bytes()
			if err != nil {
				return err
			}
			m.unkSurface = string(s)
			continue
		}
		if err := r.skip(wt); err != nil {
			return err
		}
	}
	return nil
}

func parseNormalizerSpec(b []byte, m *spmModelProto) error {
	r := pbReader{b: b}
	for !r.done() {
		f, wt, err := r.key()
		if err != nil {
			return err
		}
		switch {
		case f == 1 && wt == 2:
			s, err := r.bytes()
			if err != nil {
				return err
			}
			m.normName = string(s)
		case f == 2 && wt == 2:
			s, err := r.bytes()
			if err != nil {
				return err
			}
			m.charsmap = s
		case f >= 3 && f <= 5 && wt == 0:
			v, err := r.varint()
			if err != nil {
				return err
			}
			switch f {
			case 3:
				m.addDummyPrefix = v != 0
			case 4:
				m.removeExtraWhitespaces = v != 0
			case 5:
				m.escapeWhitespaces = v != 0
			}
		default:
			if err := r.skip(wt); err != nil {
				return err
			}
		}
	}
	return nil
}

// spmNormalizer is SentencePiece's own normalizer: at each position the
// longest user-defined symbol passes through unchanged, else the longest
// rule of the charsmap applies, else one character is copied (an invalid
// byte becomes U+FFFD). With remove_extra_whitespaces, leading, trailing
// and repeated spaces (after the rules) go; add_dummy_prefix puts "▁"
// first (last with treat_whitespace_as_suffix) and escape_whitespaces
// turns spaces into "▁".
type spmNormalizer struct {
	m                      *charsmap // nil: identity
	user                   *matcher  // user-defined symbols, or nil
	addDummyPrefix         bool
	removeExtraWhitespaces bool
	escapeWhitespaces      bool
	suffix                 bool
}

// prefix returns the normalized form of the start of b and how many bytes
// it consumes.
func (n *spmNormalizer) prefix(b []byte) ([]byte, int) {
	if n.user != nil {
		if e, _, ok := n.user.at(b, 0); ok {
			return b[:e], e
		}
	}
	if n.m != nil {
		if k, rep := n.m.longest(b); k > 0 {
			return rep, k
		}
	}
	_, sz := utf8.DecodeRune(b)
	return b[:sz], sz
}

func (n *spmNormalizer) normalize(st *state, p piece) piece {
	src := st.text(p)
	var space []byte
	if n.escapeWhitespaces {
		space = []byte("\u2581")
	} else {
		space = []byte(" ")
	}
	i := 0
	if n.removeExtraWhitespaces {
		for i < len(src) {
			rep, k := n.prefix(src[i:])
			if string(rep) != " " {
				break
			}
			i += k
		}
	}
	if i == len(src) {
		return piece{off: p.off + int32(i), end: p.off + int32(i), added: -1}
	}
	out := int32(len(st.buf))
	emit := func(c byte, a span) {
		st.buf = append(st.buf, c)
		st.aln = append(st.aln, a)
	}
	emitSpace := func(a span) {
		for _, c := range space {
			emit(c, a)
		}
	}
	if !n.suffix && n.addDummyPrefix {
		a := st.aln[p.off+int32(i)]
		emitSpace(span{a.start, a.start})
	}
	prevSpace := n.removeExtraWhitespaces
	for i < len(src) {
		rep, k := n.prefix(src[i:])
		a := span{st.aln[p.off+int32(i)].start, st.aln[p.off+int32(i+k-1)].end}
		for prevSpace && len(rep) > 0 && rep[0] == ' ' {
			rep = rep[1:]
		}
		if len(rep) > 0 {
			for _, c := range rep {
				if n.escapeWhitespaces && c == ' ' {
					emitSpace(a)
				} else {
					emit(c, a)
				}
			}
			prevSpace = rep[len(rep)-1] == ' '
		}
		i += k
		if !n.removeExtraWhitespaces {
			prevSpace = false
		}
	}
	if n.removeExtraWhitespaces {
		for int32(len(st.buf))-out >= int32(len(space)) && string(st.buf[len(st.buf)-len(space):]) == string(space) {
			st.buf = st.buf[:len(st.buf)-len(space)]
			st.aln = st.aln[:len(st.aln)-len(space)]
		}
	}
	if n.suffix && n.addDummyPrefix {
		e := st.aln[p.end-1].end
		emitSpace(span{e, e})
	}
	return piece{off: out, end: int32(len(st.buf)), added: p.added}
}

// spmUnigram is SentencePiece's unigram model (EncodeOptimized): Viterbi
// over normal, user-defined and unused pieces (unused ones never chosen),
// user-defined pieces scored length×max_score−0.1 so they always win,
// each unknown character its own unknown token (no fusing, unlike Hugging
// Face), float32 scores. With byte_fallback an unknown piece becomes its
// <0xXX> byte pieces.
type spmUnigram struct {
	tokens   []string
	types    []int
	scores   []float32
	pieces   *trie
	unk      int32
	maxScore float32
	unkScore float32
	bytes    bool
	byteIDs  [256]int32
}

type spmViterbiNode struct {
	score float32
	start int32
	id    int32
}

func newSPMUnigram(mp *spmModelProto, tokens []string, byteIDs [256]int32) (*spmUnigram, error) {
	m := &spmUnigram{tokens: tokens, unk: int32(mp.unkID), bytes: mp.byteFallback, byteIDs: byteIDs}
	var keys []string
	var ids []int32
	minScore, maxScore := float32(math.MaxFloat32), float32(-math.MaxFloat32)
	m.types = make([]int, len(mp.pieces))
	m.scores = make([]float32, len(mp.pieces))
	seen := make(map[string]bool, len(mp.pieces))
	for i, p := range mp.pieces {
		m.types[i] = p.typ
		m.scores[i] = p.score
		if p.typ == spmNormal || p.typ == spmUserDefined || p.typ == spmUnused {
			if seen[p.piece] {
				return nil, fmt.Errorf("piece %d %q is defined twice", i, p.piece)
			}
			seen[p.piece] = true
			keys = append(keys, p.piece)
			ids = append(ids, int32(i))
		}
		if p.typ == spmNormal {
			minScore = min(minScore, p.score)
			maxScore = max(maxScore, p.score)
		}
	}
	if m.unk < 0 || int(m.unk) >= len(mp.pieces) || mp.pieces[m.unk].typ != spmUnknown {
		return nil, fmt.Errorf("unk_id %d is not an UNKNOWN piece", m.unk)
	}
	m.pieces = newTrie(keys, ids)
	m.maxScore = maxScore
	m.unkScore = minScore - 10
	return m, nil
}

func (m *spmUnigram) vocab() []string { return m.tokens }

func (m *spmUnigram) tokenize(st *state, p piece) error {
	b := st.text(p)
	n := len(b)
	if n == 0 {
		return nil
	}
	if cap(st.spmViterbi) < n+1 {
		st.spmViterbi = make([]spmViterbiNode, n+1, 2*(n+1))
	}
	best := st.spmViterbi[:n+1]
	for i := range best {
		best[i] = spmViterbiNode{start: -1, id: -1}
	}
	t := m.pieces
	for start := 0; start < n; {
		mblen := 1
		if b[start] >= utf8.RuneSelf {
			_, mblen = utf8.DecodeRune(b[start:])
		}
		here := best[start].score
		single := false
		s := int32(0)
		for i := start; i < n; i++ {
			if s = t.next(s, b[i]); s < 0 {
				break
			}
			id := t.value(s)
			if id < 0 || m.types[id] == spmUnused {
				continue
			}
			end := i + 1
			length := end - start
			score := m.scores[id]
			if m.types[id] == spmUserDefined {
				score = float32(length)*m.maxScore - 0.1
			}
			cand := here + score
			if node := &best[end]; node.start < 0 || cand > node.score {
				*node = spmViterbiNode{score: cand, start: int32(start), id: id}
			}
			if length == mblen {
				single = true
			}
		}
		if !single {
			cand := here + m.unkScore
			if node := &best[start+mblen]; node.start < 0 || cand > node.score {
				*node = spmViterbiNode{score: cand, start: int32(start), id: m.unk}
			}
		}
		start += mblen
	}
	mark := len(st.mtoks)
	for end := n; end > 0; {
		node := best[end]
		st.mtoks = append(st.mtoks, mtok{id: node.id, start: p.off + node.start, end: p.off + int32(end), surface: node.id == m.unk})
		end = int(node.start)
	}
	toks := st.mtoks[mark:]
	for i, j := 0, len(toks)-1; i < j; i, j = i+1, j-1 {
		toks[i], toks[j] = toks[j], toks[i]
	}
	if m.bytes {
		spmByteFallback(st, mark, m.unk, &m.byteIDs)
	}
	return nil
}

// spmByteFallback replaces unknown tokens from mark on by the byte pieces
// of their text.
func spmByteFallback(st *state, mark int, unk int32, byteIDs *[256]int32) {
	has := false
	for _, tk := range st.mtoks[mark:] {
		if tk.id == unk {
			has = true
			break
		}
	}
	if !has {
		return
	}
	toks := append([]mtok(nil), st.mtoks[mark:]...)
	st.mtoks = st.mtoks[:mark]
	for _, tk := range toks {
		if tk.id != unk {
			st.mtoks = append(st.mtoks, tk)
			continue
		}
		for _, c := range st.buf[tk.start:tk.end] {
			id := byteIDs[c]
			if id < 0 {
				id = unk
			}
			st.mtoks = append(st.mtoks, mtok{id: id, start: tk.start, end: tk.end})
		}
	}
}

// spmBPE is SentencePiece's BPE model: starting from characters (and
// user-defined symbols), repeatedly merge the adjacent pair whose
// concatenation is the highest-scoring piece (leftmost on ties); pieces
// that are not in the vocabulary (or unused) end as unknown tokens, or
// bytes with byte_fallback.
type spmBPE struct {
	tokens  []string
	types   []int
	scores  []float32
	pieces  *trie
	user    *matcher
	unk     int32
	bytes   bool
	byteIDs [256]int32
}

func (m *spmBPE) vocab() []string { return m.tokens }

func (m *spmBPE) tokenize(st *state, p piece) error {
	b := st.text(p)
	if len(b) == 0 {
		return nil
	}
	type sym struct {
		start, end int // byte range within b
		prev, next int
		dead       bool
	}
	var syms []sym
	for i := 0; i < len(b); {
		sz := 0
		if m.user != nil {
			if e, _, ok := m.user.at(b, i); ok {
				sz = e - i
			}
		}
		if sz == 0 {
			_, sz = utf8.DecodeRune(b[i:])
		}
		syms = append(syms, sym{start: i, end: i + sz, prev: len(syms) - 1, next: len(syms) + 1})
		i += sz
	}
	syms[len(syms)-1].next = -1
	lookup := func(a, c int) (int32, float32, bool) {
		id := m.pieces.lookup(b[a:c])
		if id < 0 || m.types[id] == spmUnused {
			return 0, 0, false
		}
		return id, m.scores[id], true
	}
	for {
		bestPos, bestScore := -1, float32(0)
		for i := 0; i >= 0 && i < len(syms); i = syms[i].next {
			j := syms[i].next
			if j < 0 {
				break
			}
			if _, sc, ok := lookup(syms[i].start, syms[j].end); ok && (bestPos < 0 || sc > bestScore) {
				bestPos, bestScore = i, sc
			}
		}
		if bestPos < 0 {
			break
		}
		j := syms[bestPos].next
		syms[bestPos].end = syms[j].end
		syms[bestPos].next = syms[j].next
		syms[j].dead = true
		if syms[j].next >= 0 {
			syms[syms[j].next].prev = bestPos
		}
	}
	mark := len(st.mtoks)
	for i := 0; i >= 0 && i < len(syms); i = syms[i].next {
		s := syms[i]
		id := m.pieces.lookup(b[s.start:s.end])
		if id < 0 || m.types[id] == spmUnused {
			id = m.unk
		}
		st.mtoks = append(st.mtoks, mtok{id: id, start: p.off + int32(s.start), end: p.off + int32(s.end), surface: id == m.unk})
	}
	if m.bytes {
		spmByteFallback(st, mark, m.unk, &m.byteIDs)
	}
	return nil
}

// spmDecoder is SentencePiece's decoding: byte pieces back to bytes,
// control pieces dropped, the unknown piece shown as unk_surface, "▁" as
// a space, the dummy prefix's space dropped.
type spmDecoder struct {
	types          map[string]int
	unkSurface     string
	addDummyPrefix bool
	suffix         bool
}

func (d spmDecoder) decodeChain(tokens []string) []string {
	var sb strings.Builder
	var pending []byte
	flush := func() {
		if len(pending) > 0 {
			sb.WriteString(strings.ToValidUTF8(string(pending), "\uFFFD"))
			pending = pending[:0]
		}
	}
	first := true
	for _, t := range tokens {
		switch d.types[t] {
		case spmControl:
			continue
		case spmByte:
			if v, ok := bytePiece(t); ok {
				pending = append(pending, v)
				first = false
				continue
			}
		case spmUnknown:
			flush()
			sb.WriteString(d.unkSurface)
			first = false
			continue
		}
		flush()
		if first && d.addDummyPrefix && !d.suffix {
			t = strings.TrimPrefix(t, "\u2581")
		}
		first = false
		sb.WriteString(strings.ReplaceAll(t, "\u2581", " "))
	}
	flush()
	s := sb.String()
	if d.addDummyPrefix && d.suffix {
		s = strings.TrimSuffix(s, " ")
	}
	return []string{s}
}

// bytePiece parses a byte piece "<0xXX>".
func bytePiece(t string) (byte, bool) {
	if len(t) != 6 || t[:3] != "<0x" || t[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(t[3:5], 16, 8)
	return byte(v), err == nil
}
