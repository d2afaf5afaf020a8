package ja

import (
	"errors"
	"math"
)

// ErrTooLong is returned (wrapped) for a text whose best path costs more
// than MeCab can hold: MeCab 0.996 compares path costs against
// 2147483647 and fails with "too long sentence." on such input (roughly
// a few hundred thousand characters without a newline), so the reference
// produces no words for it either. Split long documents before tokenizing.
var ErrTooLong = errors.New("ja: text too long for MeCab (path cost overflow)")

// maxWordBytes is how far MeCab looks ahead from a position: it caps the
// text at 65535 bytes past it for dictionary lookups and unknown words.
const maxWordBytes = 65535

// node is one candidate word in the lattice (MeCab's mecab_node_t, cut
// down to what the Viterbi search needs).
type node struct {
	start, end  int32 // surface byte range; the skipped whitespace before start is not part of it
	left, right int16 // context ids
	wcost       int16 // word cost
	prev        int32 // best predecessor (node index)
	enext       int32 // next node ending at the same byte position, -1 at the end
	cost        int64 // cost of the best path from BOS through this node
}

// lattice is the per-call workspace, reused through a sync.Pool.
type lattice struct {
	nodes   []node
	endHead []int32 // endHead[p]: the last node connected that ends at byte p, -1 for none
	cands   []node  // the nodes one lookup produced, in MeCab's creation order
}

// analyze finds MeCab's best segmentation of text and calls emit with each
// word's byte range, in order. text must hold no NUL byte (MeCab reads a
// C string and stops there; callers cut the text first).
//
// The search is MeCab 0.996's: Viterbi over byte positions, where a
// dictionary lookup runs only at positions some node ends at; the
// whitespace before a word (characters of char.def's SPACE category) is
// skipped and belongs to the word's span for connection purposes but not
// to its surface; costs are word cost plus the connection cost of the
// pair; among equal costs the first predecessor in MeCab's list order
// wins.
func (dic *dictionary) analyze(la *lattice, text string, emit func(start, end int)) error {
	n := len(text)
	la.nodes = la.nodes[:0]
	if cap(la.endHead) < n+1 {
		la.endHead = make([]int32, n+1)
	}
	la.endHead = la.endHead[:n+1]
	for i := range la.endHead {
		la.endHead[i] = -1
	}
	// BOS: context id 0, ends at byte 0.
	la.nodes = append(la.nodes, node{prev: -1, enext: -1})
	la.endHead[0] = 0

	for pos := range n {
		if la.endHead[pos] < 0 {
			continue
		}
		la.cands = dic.lookup(la.cands[:0], text, pos)
		// MeCab links a lookup's nodes by prepending, so it connects them
		// in reverse creation order; each connected node is prepended to
		// the list of its end position.
		for i := len(la.cands) - 1; i >= 0; i-- {
			r := la.cands[i]
			best, bestCost := dic.bestPrev(la, pos, r.left)
			if best < 0 {
				return ErrTooLong
			}
			r.prev = best
			r.cost = bestCost + int64(r.wcost)
			r.enext = la.endHead[r.end]
			la.nodes = append(la.nodes, r)
			la.endHead[r.end] = int32(len(la.nodes) - 1)
		}
	}

	// EOS (context id 0) connects to the nodes ending at the last position
	// any node ends at: trailing whitespace belongs to no word.
	last := n
	for la.endHead[last] < 0 {
		last--
	}
	best, _ := dic.bestPrev(la, last, 0)
	if best < 0 {
		return ErrTooLong
	}
	// Walk back from EOS, then emit in text order.
	first := len(la.nodes)
	for i := best; i > 0; i = la.nodes[i].prev {
		la.nodes = append(la.nodes, node{start: la.nodes[i].start, end: la.nodes[i].end})
	}
	for i := len(la.nodes) - 1; i >= first; i-- {
		emit(int(la.nodes[i].start), int(la.nodes[i].end))
	}
	return nil
}

// bestPrev returns the node ending at pos with the least path cost into a
// node of left context id left, and that cost without the word cost of
// the right node (MeCab's connect: strict <, first in list order wins,
// nothing at or above 2147483647 is taken).
func (dic *dictionary) bestPrev(la *lattice, pos int, left int16) (int32, int64) {
	row := dic.conn[int(left)*dic.connRows : (int(left)+1)*dic.connRows]
	best, bestCost := int32(-1), int64(math.MaxInt32)
	for i := la.endHead[pos]; i >= 0; i = la.nodes[i].enext {
		l := &la.nodes[i]
		if c := l.cost + int64(row[l.right]); c < bestCost {
			best, bestCost = i, c
		}
	}
	return best, bestCost
}

// lookup appends to cands the nodes starting at byte begin, in the order
// MeCab 0.996's Tokenizer::lookup creates them: dictionary words by
// increasing length, then unknown words (the grouped run, then 1..LENGTH
// characters, or one character when nothing else was made).
func (dic *dictionary) lookup(cands []node, text string, begin int) []node {
	end := len(text)
	if end-begin >= maxWordBytes {
		end = begin + maxWordBytes
	}
	begin2, cinfo, mblen, _ := dic.seekToOtherType(text, begin, end, dic.space)

	made := false // MeCab's result_node != NULL; counts nodes it makes past the text too
	if begin2 < end {
		dic.d.Index.Da.CommonPrefixSearchCallback(text[begin2:end], func(id, length int) {
			if id < 0 || id >= len(dic.dups) {
				return // not a word id of this dictionary
			}
			if length == 1 || length == 3 {
				if liteDeleted(text[begin2 : begin2+length]) {
					return
				}
			}
			for _, m := range dic.d.Morphs[id : id+1+int(dic.dups[id])] {
				cands = append(cands, node{start: int32(begin2), end: int32(begin2 + length), left: m.LeftID, right: m.RightID, wcost: m.Weight})
			}
			made = true
		})
	}
	if made && !cinfo.invoke {
		return cands
	}

	addUnknown := func(stop int) {
		for _, m := range dic.unk[cinfo.dflt] {
			made = true
			if stop > len(text) {
				continue // past the text: can never be on a path
			}
			cands = append(cands, node{start: int32(begin2), end: int32(stop), left: m.LeftID, right: m.RightID, wcost: m.Weight})
		}
	}

	begin3 := begin2 + mblen
	groupEnd := -1
	if begin3 > end {
		addUnknown(begin3)
		if made {
			return cands
		}
	}
	if cinfo.group && begin3 <= end {
		stop, _, _, clen := dic.seekToOtherType(text, begin3, end, cinfo)
		if clen <= maxGroupingSize {
			addUnknown(stop)
		}
		groupEnd = stop
	}
	for i := 1; i <= int(cinfo.length); i++ {
		if begin3 > end {
			break
		}
		if begin3 == groupEnd {
			continue
		}
		addUnknown(begin3)
		ci, w := dic.charAt(text, begin3, end)
		if !cinfo.isKindOf(ci) {
			break
		}
		begin3 += w
	}
	if !made {
		addUnknown(begin3)
	}
	return cands
}

// seekToOtherType is MeCab's CharProperty::seekToOtherType: starting at
// p, it skips characters while each is of a kind with the one before it
// (the first with c), and returns where it stopped, the info and byte
// length of the last character it examined, and how many it skipped.
func (dic *dictionary) seekToOtherType(text string, p, end int, c charInfo) (stop int, fail charInfo, mblen, clen int) {
	for p != end {
		fail, mblen = dic.charAt(text, p, end)
		if !c.isKindOf(fail) {
			break
		}
		p += mblen
		clen++
		c = fail
	}
	return p, fail, mblen, clen
}

// charAt is MeCab's getCharInfo with utf8_to_ucs2: the character at byte
// p decoded only as far as end allows, code points past U+FFFF and
// malformed bytes reading as U+0000, and the byte at len(text) as the
// C string's terminating NUL.
func (dic *dictionary) charAt(text string, p, end int) (charInfo, int) {
	var b0 byte
	if p < len(text) {
		b0 = text[p]
	}
	avail := end - p
	switch {
	case b0 < 0x80:
		return dic.chars[b0], 1
	case avail >= 2 && b0&0xE0 == 0xC0:
		return dic.chars[uint16(b0&0x1F)<<6|uint16(text[p+1]&0x3F)], 2
	case avail >= 3 && b0&0xF0 == 0xE0:
		return dic.chars[uint16(b0&0x0F)<<12|uint16(text[p+1]&0x3F)<<6|uint16(text[p+2]&0x3F)], 3
	case avail >= 4 && b0&0xF8 == 0xF0:
		return dic.chars[0], 4
	case avail >= 5 && b0&0xFC == 0xF8:
		return dic.chars[0], 5
	case avail >= 6 && b0&0xFE == 0xFC:
		return dic.chars[0], 6
	}
	return dic.chars[0], 1
}
