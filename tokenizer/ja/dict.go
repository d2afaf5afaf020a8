package ja

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ikawaha/kagome-dict/dict"
	"github.com/ikawaha/kagome-dict/uni"
)

// ErrDictionary is returned (wrapped) when the embedded UniDic data does
// not have the shape this package was written against (a kagome-dict/uni
// upgrade that changed the character categories, say).
var ErrDictionary = errors.New("ja: unexpected UniDic dictionary data")

// maxGroupingSize is MeCab's default max-grouping-size: the longest run of
// same-kind characters, not counting the first, that still becomes one
// unknown word. UniDic's dicrc does not set it.
const maxGroupingSize = 24

// charInfo is MeCab's CharInfo: the categories of one UCS-2 code point.
type charInfo struct {
	kinds  uint32 // bit i set: the character belongs to category i
	dflt   uint8  // the category its unknown words take (the first listed in char.def)
	length uint8  // LENGTH: unknown words of 1..length characters are also tried
	group  bool   // GROUP: a run of same-kind characters is one unknown word
	invoke bool   // INVOKE: try unknown words even when the dictionary matched
}

// isKindOf reports whether c and o share a category, MeCab's
// CharInfo::isKindOf.
func (c charInfo) isKindOf(o charInfo) bool { return c.kinds&o.kinds != 0 }

// category is one line of the category section of UniDic 2.1.2's char.def.
type category struct {
	name           string
	invoke, group  bool
	length         uint8
	alsoKindOfName string // a second category some of its characters also belong to
}

// unidicCategories is the category section of UniDic 2.1.2's char.def, in
// definition order (MeCab numbers categories in that order).
// kagome-dict/uni keeps the names, INVOKE and GROUP flags (checked against
// these when the dictionary loads) but not LENGTH, which comes from here.
var unidicCategories = []category{
	{name: "DEFAULT", invoke: false, group: true, length: 0},
	{name: "SPACE", invoke: false, group: true, length: 0},
	{name: "KANJI", invoke: false, group: false, length: 2},
	{name: "SYMBOL", invoke: true, group: true, length: 0},
	{name: "NUMERIC", invoke: true, group: true, length: 0},
	{name: "ALPHA", invoke: true, group: true, length: 0},
	{name: "HIRAGANA", invoke: false, group: true, length: 2},
	{name: "KATAKANA", invoke: true, group: true, length: 2},
	{name: "KANJINUMERIC", invoke: false, group: true, length: 0},
	{name: "GREEK", invoke: true, group: true, length: 0},
	{name: "CYRILLIC", invoke: true, group: true, length: 0},
}

// multiCategory lists the char.def lines that give a character two
// categories ("0x4E00 KANJINUMERIC KANJI"): the first is its default, the
// second only widens what it groups with. kagome-dict keeps the first only.
var multiCategory = []struct {
	r             rune
	first, second string
}{
	{0x3007, "SYMBOL", "KANJINUMERIC"}, // 〇
	{0x4E00, "KANJINUMERIC", "KANJI"},  // 一
	{0x4E8C, "KANJINUMERIC", "KANJI"},  // 二
	{0x4E09, "KANJINUMERIC", "KANJI"},  // 三
	{0x56DB, "KANJINUMERIC", "KANJI"},  // 四
	{0x4E94, "KANJINUMERIC", "KANJI"},  // 五
	{0x516D, "KANJINUMERIC", "KANJI"},  // 六
	{0x4E03, "KANJINUMERIC", "KANJI"},  // 七
	{0x516B, "KANJINUMERIC", "KANJI"},  // 八
	{0x4E5D, "KANJINUMERIC", "KANJI"},  // 九
	{0x5341, "KANJINUMERIC", "KANJI"},  // 十
	{0x767E, "KANJINUMERIC", "KANJI"},  // 百
	{0x5343, "KANJINUMERIC", "KANJI"},  // 千
	{0x4E07, "KANJINUMERIC", "KANJI"},  // 万
	{0x5104, "KANJINUMERIC", "KANJI"},  // 億
	{0x5146, "KANJINUMERIC", "KANJI"},  // 兆
}

// dictionary is the analyzer's read-only view of UniDic: the kagome-dict
// data plus MeCab's per-character table rebuilt from it.
type dictionary struct {
	d        *dict.Dict
	conn     []int16 // connection costs, conn[left*connRows+right] (kagome stores the matrix transposed)
	connRows int
	dups     []uint16   // dups[id]: how many more entries share the surface of the trie's id (kagome's Dup map, made dense)
	chars    []charInfo // indexed by UCS-2 code, 0x10000 entries
	space    charInfo   // the info of U+0020, what MeCab skips before each word
	unk      [][]dict.Morph
}

var (
	dictOnce sync.Once
	dictVal  *dictionary
	dictErr  error
)

// loadDictionary returns the shared dictionary, loading it on first use
// (about a second and 120 MB). It is read-only after loading.
func loadDictionary() (*dictionary, error) {
	dictOnce.Do(func() {
		var d *dict.Dict
		d, dictErr = loadUni()
		if dictErr == nil {
			dictVal, dictErr = newDictionary(d)
		}
	})
	return dictVal, dictErr
}

// loadUni loads kagome-dict/uni without its feature strings (not needed
// for word splitting), turning its panic on corrupt data into an error.
func loadUni() (d *dict.Dict, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: loading kagome-dict/uni: %v", ErrDictionary, r)
		}
	}()
	return uni.DictShrink(), nil
}

func newDictionary(d *dict.Dict) (*dictionary, error) {
	if len(d.CharClass) != len(unidicCategories) || len(d.InvokeList) != len(unidicCategories) || len(d.GroupList) != len(unidicCategories) {
		return nil, fmt.Errorf("%w: %d character categories, want %d", ErrDictionary, len(d.CharClass), len(unidicCategories))
	}
	index := map[string]uint8{}
	for i, c := range unidicCategories {
		if d.CharClass[i] != c.name || d.InvokeList[i] != c.invoke || d.GroupList[i] != c.group {
			return nil, fmt.Errorf("%w: category %d is %s invoke=%v group=%v, want %s invoke=%v group=%v",
				ErrDictionary, i, d.CharClass[i], d.InvokeList[i], d.GroupList[i], c.name, c.invoke, c.group)
		}
		index[c.name] = uint8(i)
	}
	if len(d.CharCategory) < 0xFFFF {
		return nil, fmt.Errorf("%w: character table has %d entries", ErrDictionary, len(d.CharCategory))
	}
	info := func(cat uint8) charInfo {
		c := unidicCategories[cat]
		return charInfo{kinds: 1 << cat, dflt: cat, length: c.length, group: c.group, invoke: c.invoke}
	}
	// MeCab's table covers 0x0000..0xFFFE. It reads U+FFFF one entry past
	// the end of char.bin, into the zero padding of the mapped page: a
	// CharInfo of all zeros (DEFAULT, no kinds, no grouping).
	chars := make([]charInfo, 0x10000)
	for r := range 0xFFFF {
		cat := d.CharCategory[r]
		if int(cat) >= len(unidicCategories) {
			return nil, fmt.Errorf("%w: U+%04X has category %d", ErrDictionary, r, cat)
		}
		chars[r] = info(cat)
	}
	for _, m := range multiCategory {
		first, second := index[m.first], index[m.second]
		if d.CharCategory[m.r] != first {
			return nil, fmt.Errorf("%w: U+%04X is %s, want %s", ErrDictionary, m.r, d.CharClass[d.CharCategory[m.r]], m.first)
		}
		chars[m.r].kinds |= 1 << second
	}

	unk := make([][]dict.Morph, len(unidicCategories))
	for i := range unidicCategories {
		first, ok := d.UnkDict.Index[int32(i)]
		if !ok {
			return nil, fmt.Errorf("%w: no unknown-word entries for %s", ErrDictionary, unidicCategories[i].name)
		}
		n := int(d.UnkDict.IndexDup[int32(i)]) + 1
		if first < 0 || int(first)+n > len(d.UnkDict.Morphs) {
			return nil, fmt.Errorf("%w: unknown-word entries of %s out of range", ErrDictionary, unidicCategories[i].name)
		}
		unk[i] = d.UnkDict.Morphs[first : int(first)+n]
	}

	rows := int(d.Connection.Row)
	if rows <= 0 || int64(len(d.Connection.Vec)) != d.Connection.Row*d.Connection.Col {
		return nil, fmt.Errorf("%w: connection matrix %dx%d with %d costs", ErrDictionary, d.Connection.Row, d.Connection.Col, len(d.Connection.Vec))
	}
	check := func(what string, id int16) error {
		if id < 0 || int(id) >= rows || int64(id) >= d.Connection.Col {
			return fmt.Errorf("%w: %s context id %d outside the %dx%d connection matrix", ErrDictionary, what, id, d.Connection.Row, d.Connection.Col)
		}
		return nil
	}
	for _, ms := range [][]dict.Morph{d.Morphs, d.UnkDict.Morphs} {
		for _, m := range ms {
			if err := check("left", m.LeftID); err != nil {
				return nil, err
			}
			if err := check("right", m.RightID); err != nil {
				return nil, err
			}
		}
	}
	dups := make([]uint16, len(d.Morphs))
	for id, n := range d.Index.Dup {
		if id < 0 || n < 0 || n > 0xFFFF || int(id)+int(n) >= len(d.Morphs) {
			return nil, fmt.Errorf("%w: index entry %d with %d duplicates out of range", ErrDictionary, id, n)
		}
		dups[id] = uint16(n)
	}
	return &dictionary{
		d:        d,
		dups:     dups,
		conn:     d.Connection.Vec,
		connRows: rows,
		chars:    chars,
		space:    chars[' '],
		unk:      unk,
	}, nil
}

// liteDeleted reports whether unidic-lite deleted the dictionary entry
// with this surface: its build removed every single-character numeric and
// alphabetic word ([0-9A-Za-z] and their full-width forms) so that numbers
// and Latin words are not split into characters. UniDic 2.1.2 has no
// longer all-digit entries.
func liteDeleted(surface string) bool {
	switch len(surface) {
	case 1:
		c := surface[0]
		return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
	case 3:
		// U+FF10..FF19 (０-９), U+FF21..FF3A (Ａ-Ｚ), U+FF41..FF5A (ａ-ｚ):
		// EF BC 90..99, EF BC A1..BA, EF BD 81..9A.
		if surface[0] != 0xEF {
			return false
		}
		b1, b2 := surface[1], surface[2]
		return b1 == 0xBC && (0x90 <= b2 && b2 <= 0x99 || 0xA1 <= b2 && b2 <= 0xBA) ||
			b1 == 0xBD && 0x81 <= b2 && b2 <= 0x9A
	}
	return false
}
