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
		w := st.rewrite(p)
		for w.more() {
			r, sz := w.peek()
			if isChineseChar(r) {
				w.insert(' ')
				w.keep(sz)
				w.insert(' ')
			} else {
				w.keep(sz)
			}
		}
		p = w.done()
	}
	if n.stripAccents {
		p = unicodeNormalize(st, p, norm.NFD, func(r rune) bool { return !unicode.Is(unicode.Mn, r) })
	}
	if n.lowercase {
		p = lowercase(st, p)
	}
	return p
}

// mapRunes rewrites p character by character: f returns the replacement
// and whether to keep the character at all.
func mapRunes(st *state, p piece, f func(rune) (rune, bool)) piece {
	w := st.rewrite(p)
	for w.more() {
		r, sz := w.peek()
		q, ok := f(r)
		switch {
		case !ok:
			w.skip(sz)
		case q == r:
			w.keep(sz)
		default:
			w.replace(sz, q)
		}
	}
	return w.done()
}

// lowercase is Rust's char::to_lowercase over every character.
func lowercase(st *state, p piece) piece {
	b := st.text(p)
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if c >= 'A' && c <= 'Z' {
			ascii = false
			break
		}
	}
	if ascii {
		return p // nothing to lower
	}
	w := st.rewrite(p)
	for w.more() {
		r, sz := w.peek()
		if r == 0x130 { // İ lowers to two characters
			w.replace(sz, 'i')
			w.insert(0x307)
			continue
		}
		if l := unicode.ToLower(r); l != r {
			w.replace(sz, l)
		} else {
			w.keep(sz)
		}
	}
	return w.done()
}

// unicodeNormalize applies a Unicode normalization form, keeping only the
// output characters keep accepts (nil keeps all). Each normalization
// segment's output characters replace its input characters one for one;
// extra ones are inserted, missing ones skipped, which is how Hugging
// Face aligns them.
func unicodeNormalize(st *state, p piece, f norm.Form, keep func(rune) bool) piece {
	src := st.text(p)
	quick := f.QuickSpan(src)
	if quick == len(src) && keep == nil {
		return p
	}
	if keep != nil {
		// Characters before quick are already normal; only the filter
		// can change them, so start where either applies.
		quick = 0
	}
	w := st.rewrite(p)
	w.keep(quick)
	var it norm.Iter
	it.Init(f, src[quick:])
	prev := 0
	for !it.Done() {
		out := it.Next()
		pos := it.Pos()
		in := src[quick+prev : quick+pos]
		prev = pos
		if keep == nil && string(out) == string(in) {
			w.keep(len(in))
			continue
		}
		if keep != nil && string(out) == string(in) {
			allKept := true
			for _, r := range string(out) {
				if !keep(r) {
					allKept = false
					break
				}
			}
			if allKept {
				w.keep(len(in))
				continue
			}
		}
		end := w.pos + int32(len(in))
		for _, r := range string(out) {
			consumed := w.pos < end
			if consumed {
				_, sz := w.peek()
				if keep == nil || keep(r) {
					w.begin()
					a := st.aln[w.pos]
					w.emit(r, a)
					w.pos += int32(sz)
				} else {
					w.skip(sz)
				}
			} else if keep == nil || keep(r) {
				w.insert(r)
			}
		}
		if w.pos < end {
			w.skip(int(end - w.pos))
		}
	}
	return w.done()
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
