package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// charsmap is SentencePiece's precompiled normalization map: a
// darts-clone double-array trie from input byte sequences to offsets of
// NUL-terminated replacements in a string blob. The blob layout is a
// little-endian uint32 trie size in bytes, the trie units, then the
// replacement strings.
type charsmap struct {
	units []uint32
	norm  []byte
	// single caches, for every BMP character, the replacement of the
	// character alone (an offset into norm), -1 when it has none: the
	// lookup most characters need.
	single     []int32
	singleOnce sync.Once
}

func parseCharsmap(b []byte) (*charsmap, error) {
	if len(b) < 4 {
		return nil, errors.New("precompiled charsmap shorter than its 4-byte header")
	}
	n := binary.LittleEndian.Uint32(b)
	if n%4 != 0 || uint64(n) > uint64(len(b)-4) {
		return nil, fmt.Errorf("precompiled charsmap: trie size %d does not fit in %d bytes", n, len(b)-4)
	}
	units := make([]uint32, n/4)
	for i := range units {
		units[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	if len(units) == 0 {
		return nil, errors.New("precompiled charsmap: empty trie")
	}
	return &charsmap{units: units, norm: b[4+n:]}, nil
}

// singleOf returns the replacement of the one character r (n bytes, at
// the start of b) and whether it has one.
func (m *charsmap) singleOf(r rune, b []byte) ([]byte, bool) {
	if r >= 0x10000 {
		return m.shortest(b)
	}
	m.singleOnce.Do(func() {
		m.single = make([]int32, 0x10000)
		var buf [utf8.UTFMax]byte
		for c := rune(0); c < 0x10000; c++ {
			m.single[c] = -1
			if c >= 0xD800 && c <= 0xDFFF {
				continue
			}
			k := utf8.EncodeRune(buf[:], c)
			m.prefixes(buf[:k], func(n int, v uint32) bool {
				if n == k && v < uint32(len(m.norm)) {
					m.single[c] = int32(v)
				}
				return false
			})
		}
	})
	v := m.single[r]
	if v < 0 {
		return nil, false
	}
	return m.replacement(uint32(v))
}

// darts-clone unit fields.
func dartsHasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func dartsValue(u uint32) uint32  { return u & (1<<31 - 1) }
func dartsLabel(u uint32) uint32  { return u & (1<<31 | 0xFF) }
func dartsOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

// prefixes walks key through the trie and calls f with the length and
// value of every key prefix that is in the map, shortest first; f returns
// false to stop. A NUL byte ends the key.
func (m *charsmap) prefixes(key []byte, f func(n int, v uint32) bool) {
	units := m.units
	pos := dartsOffset(units[0])
	for i, c := range key {
		if c == 0 {
			return
		}
		pos ^= uint32(c)
		if pos >= uint32(len(units)) {
			return
		}
		u := units[pos]
		if dartsLabel(u) != uint32(c) {
			return
		}
		pos ^= dartsOffset(u)
		if pos >= uint32(len(units)) {
			return
		}
		if dartsHasLeaf(u) {
			if !f(i+1, dartsValue(units[pos])) {
				return
			}
		}
	}
}

// shortest returns the replacement of the shortest prefix of key in the
// map (what Hugging Face's Precompiled looks up).
func (m *charsmap) shortest(key []byte) ([]byte, bool) {
	var out []byte
	found := false
	m.prefixes(key, func(_ int, v uint32) bool {
		out, found = m.replacement(v)
		return false
	})
	return out, found
}

// longest returns the length of the longest prefix of key in the map and
// its replacement (what SentencePiece's normalizer looks up).
func (m *charsmap) longest(key []byte) (int, []byte) {
	best, bestV := 0, uint32(0)
	m.prefixes(key, func(n int, v uint32) bool {
		best, bestV = n, v
		return true
	})
	if best == 0 {
		return 0, nil
	}
	r, ok := m.replacement(bestV)
	if !ok {
		return 0, nil
	}
	return best, r
}

// replacement returns the NUL-terminated string at offset v of the blob.
func (m *charsmap) replacement(v uint32) ([]byte, bool) {
	if v >= uint32(len(m.norm)) {
		return nil, false
	}
	s := m.norm[v:]
	for i, c := range s {
		if c == 0 {
			return s[:i], true
		}
	}
	return s, true
}

// precompiledNormalizer is Hugging Face's Precompiled normalizer. It walks
// extended grapheme clusters: a cluster shorter than 6 bytes is looked up
// whole (shortest matching prefix, replacing the whole cluster); otherwise,
// or when that finds nothing, each character is looked up alone. This is
// not what SentencePiece itself does (it takes the longest match anywhere,
// see spmNormalizer): half-width katakana with a voiced mark (ﾃﾞ, 6 bytes)
// stays two characters here and becomes デ there.
type precompiledNormalizer struct{ m *charsmap }

func (n precompiledNormalizer) normalize(st *state, p piece) piece {
	w := st.rewrite(p)
	run := 0 // characters passed through unchanged, not yet given to w
	for w.pos+int32(run) < p.end {
		b := st.buf[w.pos+int32(run) : p.end]
		g := graphemeLen(b)
		r, sz := rune(b[0]), 1
		if r >= utf8.RuneSelf {
			r, sz = utf8.DecodeRune(b)
		}
		if g == sz {
			// A one-character cluster: one table lookup.
			rep, ok := n.m.singleOf(r, b[:sz])
			if !ok {
				run += sz
				continue
			}
			w.keep(run)
			run = 0
			w.replaceString(sz, string(rep))
			continue
		}
		w.keep(run)
		run = 0
		if g < 6 {
			if rep, ok := n.m.shortest(b[:g]); ok {
				w.replaceString(g, string(rep))
				continue
			}
		}
		for k := 0; k < g; {
			_, sz := w.peek()
			if rep, ok := n.m.shortest(st.buf[w.pos : w.pos+int32(sz)]); ok {
				w.replaceString(sz, string(rep))
			} else {
				w.keep(sz)
			}
			k += sz
		}
	}
	w.keep(run)
	return w.done()
}

// graphemeLen returns the byte length of the extended grapheme cluster at
// the start of b (UAX #29, as the unicode-segmentation crate splits).
// Most text never needs the full state machine: a cluster always ends
// before an ASCII character (save CR LF) or a kana / CJK ideograph when
// the character before it is not a Prepend character.
func graphemeLen(b []byte) int {
	r1, n1 := rune(b[0]), 1
	if r1 >= utf8.RuneSelf {
		r1, n1 = utf8.DecodeRune(b)
	}
	if n1 == len(b) {
		return n1
	}
	r2 := rune(b[n1])
	if r2 >= utf8.RuneSelf {
		r2, _ = utf8.DecodeRune(b[n1:])
	}
	if (r1 < 0x600 || (r1 >= 0x3000 && r1 < 0xD800)) && plainStarter(r1, r2) {
		return n1
	}
	c, _, _, _ := uniseg.FirstGraphemeCluster(b, -1)
	return len(c)
}

// plainStarter reports whether r2 after r1 certainly starts a new cluster:
// r2 is ASCII (other than LF after CR) or a kana, CJK ideograph or
// full-width form that is neither Extend nor Extended_Pictographic.
func plainStarter(r1, r2 rune) bool {
	switch {
	case r2 < utf8.RuneSelf:
		return !(r1 == '\r' && r2 == '\n') && r2 >= 0x20 && r2 != 0x7f
	case r2 >= 0x3001 && r2 <= 0x3029, r2 >= 0x3031 && r2 <= 0x303C, r2 >= 0x303E && r2 <= 0x3096,
		r2 >= 0x309B && r2 <= 0x30FF, r2 >= 0x3400 && r2 <= 0x4DBF, r2 >= 0x4E00 && r2 <= 0x9FFF,
		r2 >= 0xFF01 && r2 <= 0xFF9D:
		return true
	}
	return false
}
