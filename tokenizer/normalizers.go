package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A normalizer rewrites one piece of text (Hugging Face's Normalizer).
type normalizer interface {
	normalize(st *state, p piece) piece
}

// seqNormalizer applies normalizers in order (Sequence).
type seqNormalizer []normalizer

func (s seqNormalizer) normalize(st *state, p piece) piece {
	for _, n := range s {
		p = n.normalize(st, p)
	}
	return p
}

// bertNormalizer is BertNormalizer: clean_text, handle_chinese_chars,
// strip_accents, lowercase, in that order.
type bertNormalizer struct {
	cleanText, chineseChars, stripAccents, lowercase bool
}

func (n bertNormalizer) normalize(st *state, p piece) piece {
	if n.cleanText {
		p = mapRunes(st, p, func(r rune) (rune, bool) {
			if r == 0 || r == 0xFFFD || isBertControl(r) {
				return 0, false
			}
			if isBertWhitespace(r) {
				return ' ', true
			}
			return r, true
		})
	}
	if n.chineseChars {
		p = spaceAround(st, p, isChineseChar)
	}
	if n.stripAccents {
		p = unicodeNormalize(st, p, norm.NFD, notMn)
	}
	if n.lowercase {
		p = lowercase(st, p)
	}
	return p
}

// spaceAround puts a space before and after every character f accepts
// (handle_chinese_chars), the spaces aligned to the characters beside
// them.
func spaceAround(st *state, p piece, f func(rune) bool) piece {
	b := st.text(p)
	w := st.rewrite(p)
	run := 0
	for i := 0; i < len(b); {
		r, sz := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, sz = utf8.DecodeRune(b[i:])
		}
		i += sz
		if !f(r) {
			run += sz
			continue
		}
		w.keep(run)
		run = 0
		w.insert(' ')
		w.keep(sz)
		w.insert(' ')
	}
	w.keep(run)
	return w.done()
}

// mapRunes rewrites p character by character: f returns the replacement
// and whether to keep the character at all.
func mapRunes(st *state, p piece, f func(rune) (rune, bool)) piece {
	b := st.text(p)
	w := st.rewrite(p)
	run := 0 // unchanged bytes not yet passed to w
	for i := 0; i < len(b); {
		r, sz := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, sz = utf8.DecodeRune(b[i:])
		}
		i += sz
		q, ok := f(r)
		if ok && q == r {
			run += sz
			continue
		}
		w.keep(run)
		run = 0
		if !ok {
			w.skip(sz)
		} else {
			w.replace(sz, q)
		}
	}
	w.keep(run)
	return w.done()
}

// lowercase is Rust's char::to_lowercase over every character.
func lowercase(st *state, p piece) piece {
	b := st.text(p)
	w := st.rewrite(p)
	run := 0
	for i := 0; i < len(b); {
		r, sz := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, sz = utf8.DecodeRune(b[i:])
		}
		i += sz
		if r < utf8.RuneSelf {
			if r < 'A' || r > 'Z' {
				run += sz
				continue
			}
		} else if classOf(r)&cCased == 0 {
			run += sz
			continue
		}
		w.keep(run)
		run = 0
		if r == 0x130 { // İ lowers to two characters
			w.replace(sz, 'i')
			w.insert(0x307)
			continue
		}
		w.replace(sz, unicode.ToLower(r))
	}
	w.keep(run)
	return w.done()
}

// unicodeNormalize applies a Unicode normalization form, keeping only the
// output characters keep accepts (nil keeps all), with Hugging Face's
// alignments (the unicode-normalization-alignments crate): every source
// character's decomposition has its first character replace it and the
// rest inserted after it; canonical reordering carries those roles along;
// a composed character replaces the first source character it absorbs and
// removes the others.
func unicodeNormalize(st *state, p piece, f norm.Form, keep func(rune) bool) piece {
	src := st.text(p)
	quick := f.QuickSpan(src)
	if keep != nil {
		quick = keptPrefix(src[:quick], keep)
	}
	if quick == len(src) {
		return p
	}
	compose := f == norm.NFC || f == norm.NFKC
	dform := norm.NFD
	if f == norm.NFKC || f == norm.NFKD {
		dform = norm.NFKD
	}
	w := st.rewrite(p)
	var d, out []dchar
	for i := 0; i < len(src); {
		// Pass the longest normal (and kept) run through untouched.
		q := f.QuickSpan(src[i:])
		if keep != nil {
			q = keptPrefix(src[i:i+q], keep)
		}
		w.keep(q)
		i += q
		if i >= len(src) {
			break
		}
		n := f.NextBoundary(src[i:], true)
		if n <= 0 {
			n = len(src) - i
		}
		seg := src[i : i+n]
		i += n
		d = decomposeSeg(d[:0], seg, dform)
		out = d
		if compose {
			out = composeSeg(out[:0:0], d, f.Bytes(seg))
		}
		for _, o := range out {
			switch {
			case o.n == 0:
				if keep == nil || keep(o.r) {
					w.insert(o.r)
				}
			case keep == nil || keep(o.r):
				_, sz := w.peek()
				w.begin()
				a := st.aln[w.pos]
				w.emit(o.r, a)
				w.pos += int32(sz)
				for k := int32(1); k < o.n; k++ {
					_, sz := w.peek()
					w.pos += int32(sz)
				}
			default:
				for k := int32(0); k < o.n; k++ {
					_, sz := w.peek()
					w.skip(sz)
				}
			}
		}
	}
	return w.done()
}

// keptPrefix returns the length of the prefix of a normal run that keep
// accepts, cut back to the last starter so the rest begins a segment.
func keptPrefix(b []byte, keep func(rune) bool) int {
	lastStarter := 0
	for i := 0; i < len(b); {
		r, sz := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, sz = utf8.DecodeRune(b[i:])
		}
		if !keep(r) {
			return lastStarter
		}
		if r < 0x300 || classOf(r)&cStarter != 0 {
			lastStarter = i
		}
		i += sz
	}
	return len(b)
}

func allRunes(b []byte, f func(rune) bool) bool {
	for _, r := range string(b) {
		if !f(r) {
			return false
		}
	}
	return true
}

// dchar is one character of a decomposition: the rune, its canonical
// combining class, and how many source characters it stands for (0 for a
// character inserted by a decomposition).
type dchar struct {
	r   rune
	ccc uint8
	n   int32
}

func cccOf(r rune) uint8 {
	if r < 0x300 || classOf(r)&cStarter != 0 {
		return 0
	}
	var b [utf8.UTFMax]byte
	k := utf8.EncodeRune(b[:], r)
	return norm.NFD.Properties(b[:k]).CCC()
}

// decomposeSeg appends the full decomposition (canonical or compatibility)
// of every character of seg, canonically reordered.
func decomposeSeg(dst []dchar, seg []byte, dform norm.Form) []dchar {
	for j := 0; j < len(seg); {
		r, sz := utf8.DecodeRune(seg[j:])
		start := len(dst)
		if r >= 0xAC00 && r <= 0xD7A3 { // Hangul syllable: L V (T)
			s := r - 0xAC00
			dst = append(dst, dchar{r: 0x1100 + s/588, n: 1}, dchar{r: 0x1161 + (s%588)/28})
			if t := s % 28; t != 0 {
				dst = append(dst, dchar{r: 0x11A7 + t})
			}
		} else if dec := dform.Properties(seg[j:]).Decomposition(); dec != nil {
			for k, dr := range string(dec) {
				c := dchar{r: dr, ccc: cccOf(dr)}
				if k == 0 {
					c.n = 1
				}
				dst = append(dst, c)
			}
		} else {
			dst = append(dst, dchar{r: r, ccc: cccOf(r), n: 1})
		}
		_ = start
		j += sz
	}
	// Canonical ordering: stable sort of every run of non-starters by
	// combining class.
	for a := 0; a < len(dst); {
		if dst[a].ccc == 0 {
			a++
			continue
		}
		b := a
		for b < len(dst) && dst[b].ccc != 0 {
			b++
		}
		run := dst[a:b]
		for x := 1; x < len(run); x++ {
			for y := x; y > 0 && run[y-1].ccc > run[y].ccc; y-- {
				run[y-1], run[y] = run[y], run[y-1]
			}
		}
		a = b
	}
	return dst
}

// composeSeg matches the composed form of a segment (composed, from
// norm) against its decomposition d: each composed character takes the
// decomposed characters it is made of (its own canonical decomposition,
// found in order among those not yet taken) and stands for all their
// source characters.
func composeSeg(dst, d []dchar, composed []byte) []dchar {
	var usedBuf [32]bool
	used := usedBuf[:0]
	if len(d) > len(usedBuf) {
		used = make([]bool, len(d))
	} else {
		used = usedBuf[:len(d)]
	}
	next := 0
	for _, o := range string(composed) {
		for next < len(d) && used[next] {
			next++
		}
		if next >= len(d) {
			dst = append(dst, dchar{r: o})
			continue
		}
		if d[next].r == o {
			used[next] = true
			dst = append(dst, d[next])
			continue
		}
		var b [utf8.UTFMax]byte
		k := utf8.EncodeRune(b[:], o)
		parts := norm.NFD.Bytes(b[:k])
		c := dchar{r: o}
		j := next
		for _, pr := range string(parts) {
			for j < len(d) && (used[j] || d[j].r != pr) {
				j++
			}
			if j == len(d) {
				break
			}
			used[j] = true
			c.n += d[j].n
			j++
		}
		if c.n == 0 && !used[next] {
			used[next] = true
			c.n = d[next].n
		}
		dst = append(dst, c)
	}
	return dst
}

// formNormalizer is NFC, NFD, NFKC or NFKD.
type formNormalizer struct{ form norm.Form }

func (n formNormalizer) normalize(st *state, p piece) piece {
	return unicodeNormalize(st, p, n.form, nil)
}

// lowercaseNormalizer is Lowercase.
type lowercaseNormalizer struct{}

func (lowercaseNormalizer) normalize(st *state, p piece) piece { return lowercase(st, p) }

// stripAccentsNormalizer is StripAccents: it drops combining marks (it
// does not decompose; models put NFD or NFKD before it).
type stripAccentsNormalizer struct{}

func (stripAccentsNormalizer) normalize(st *state, p piece) piece {
	return mapRunes(st, p, func(r rune) (rune, bool) {
		return r, r < 0x300 || !unicode.Is(unicode.M, r)
	})
}

// stripNormalizer is Strip: it removes leading and/or trailing white space.
type stripNormalizer struct{ left, right bool }

func (n stripNormalizer) normalize(st *state, p piece) piece {
	b := st.text(p)
	a, z := 0, len(b)
	if n.left {
		for a < z {
			r, sz := utf8.DecodeRune(b[a:])
			if !isRustWhitespace(r) {
				break
			}
			a += sz
		}
	}
	if n.right {
		for z > a {
			r, sz := utf8.DecodeLastRune(b[a:z])
			if !isRustWhitespace(r) {
				break
			}
			z -= sz
		}
	}
	q := p.sub(a, z)
	q.added = p.added
	return q
}

// prependNormalizer is Prepend: it puts a string before non-empty text.
type prependNormalizer struct{ prefix string }

func (n prependNormalizer) normalize(st *state, p piece) piece {
	if p.len() == 0 || n.prefix == "" {
		return p
	}
	return prepend(st, p, n.prefix)
}

// prepend is NormalizedString::prepend: the new characters take the
// alignment of the first character.
func prepend(st *state, p piece, s string) piece {
	w := st.rewrite(p)
	r0, sz := w.peek()
	first := true
	for _, r := range s {
		if first {
			w.begin()
			a := st.aln[w.pos]
			w.emit(r, a)
			w.pos += int32(sz)
			first = false
		} else {
			w.insert(r)
		}
	}
	w.insert(r0)
	return w.done()
}

// replaceNormalizer is Replace: every match of pattern becomes content.
type replaceNormalizer struct {
	pat     pattern
	content string
}

func (n replaceNormalizer) normalize(st *state, p piece) piece {
	b := st.text(p)
	ms := n.pat.find(b, nil)
	if len(ms) == 0 {
		return p
	}
	w := st.rewrite(p)
	for _, m := range ms {
		w.keep(int(p.off) + m.start - int(w.pos))
		if m.end > m.start {
			w.skip(m.end - m.start)
		}
		for _, r := range n.content {
			w.insert(r)
		}
	}
	return w.done()
}

// nmtNormalizer is Nmt: SentencePiece's nmt_nfkc control-character rules
// (without the NFKC part).
type nmtNormalizer struct{}

func (nmtNormalizer) normalize(st *state, p piece) piece {
	return mapRunes(st, p, func(r rune) (rune, bool) {
		switch {
		case r >= 0x01 && r <= 0x08, r == 0x0B, r >= 0x0E && r <= 0x1F, r == 0x7F, r == 0x8F, r == 0x9F:
			return 0, false
		case r == 0x09, r == 0x0A, r == 0x0C, r == 0x0D, r == 0x1680, r >= 0x200B && r <= 0x200F,
			r == 0x2028, r == 0x2029, r == 0x2581, r == 0xFEFF, r == 0xFFFD:
			return ' ', true
		}
		return r, true
	})
}

// byteLevelNormalizer is the ByteLevel normalizer: every byte becomes the
// printable character GPT-2's byte alphabet assigns it.
type byteLevelNormalizer struct{}

func (byteLevelNormalizer) normalize(st *state, p piece) piece { return byteLevelMap(st, p) }

// byteLevelMap rewrites p into GPT-2's byte alphabet: the first byte of a
// character replaces it, the others are inserted after it.
func byteLevelMap(st *state, p piece) piece {
	w := st.rewrite(p)
	w.begin()
	for w.more() {
		_, sz := w.peek()
		b := st.buf[w.pos : w.pos+int32(sz)]
		var tmp [4]byte
		copy(tmp[:], b)
		a := st.aln[w.pos]
		for k := 0; k < sz; k++ {
			w.emit(byteRune[tmp[k]], a)
		}
		w.pos += int32(sz)
	}
	return w.done()
}

// byteRune maps each byte to GPT-2's printable stand-in; runeByte is its
// inverse.
var byteRune, runeByte = func() ([256]rune, map[rune]byte) {
	var br [256]rune
	rb := make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if printable {
			br[b] = rune(b)
		} else {
			br[b] = rune(256 + n)
			n++
		}
		rb[br[b]] = byte(b)
	}
	return br, rb
}()
