package tokenizer

import (
	"fmt"
	"unicode/utf8"
)

// bpe is byte-pair encoding as Hugging Face runs it: a word starts as its
// characters (with the continuing-subword prefix on all but the first and
// the end-of-word suffix on the last), unknown characters become byte
// tokens (byte_fallback) or the unknown token (fused when fuse_unk; left
// out altogether when the model has none), and then adjacent pairs merge, lowest merge rank first (leftmost on ties),
// until no known pair remains.
type bpe struct {
	tokens       []string
	ids          *trie
	merges       map[uint64]uint64 // a<<32|b -> rank<<32|merged id
	unk          int32
	prefix       string
	suffix       string
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	byteIDs      [256]int32
}

type bpeSymbol struct {
	id         int32
	prev, next int32
	start, end int32 // arena range
}

type bpeMerge struct {
	pos  int32
	rank uint32
	id   int32
}

func newBPE(tokens []string, merges [][2]string, unk, prefix, suffix string, fuseUnk, byteFallback, ignoreMerges bool) (*bpe, error) {
	ids := make([]int32, len(tokens))
	for i := range tokens {
		ids[i] = int32(i)
	}
	m := &bpe{tokens: tokens, ids: newTrie(tokens, ids), unk: -1, prefix: prefix, suffix: suffix,
		fuseUnk: fuseUnk, byteFallback: byteFallback, ignoreMerges: ignoreMerges}
	if unk != "" {
		m.unk = m.ids.lookupString(unk)
		if m.unk < 0 {
			return nil, fmt.Errorf("unk_token %q is not in the vocabulary", unk)
		}
	}
	for b := 0; b < 256; b++ {
		m.byteIDs[b] = m.ids.lookupString(fmt.Sprintf("<0x%02X>", b))
	}
	m.merges = make(map[uint64]uint64, len(merges))
	for rank, mg := range merges {
		a := m.ids.lookupString(mg[0])
		if a < 0 {
			return nil, fmt.Errorf("merge %d (%q %q): %q is not in the vocabulary", rank, mg[0], mg[1], mg[0])
		}
		b := m.ids.lookupString(mg[1])
		if b < 0 {
			return nil, fmt.Errorf("merge %d (%q %q): %q is not in the vocabulary", rank, mg[0], mg[1], mg[1])
		}
		right := mg[1]
		if len(prefix) > 0 {
			if len(right) < len(prefix) {
				return nil, fmt.Errorf("merge %d (%q %q): second part shorter than the prefix %q", rank, mg[0], mg[1], prefix)
			}
			right = right[len(prefix):]
		}
		merged := m.ids.lookupString(mg[0] + right)
		if merged < 0 {
			return nil, fmt.Errorf("merge %d (%q %q): %q is not in the vocabulary", rank, mg[0], mg[1], mg[0]+right)
		}
		m.merges[uint64(a)<<32|uint64(uint32(b))] = uint64(rank)<<32 | uint64(uint32(merged))
	}
	return m, nil
}

func (m *bpe) vocab() []string { return m.tokens }

func (m *bpe) tokenize(st *state, p piece) error {
	b := st.text(p)
	if len(b) == 0 {
		return nil
	}
	if m.ignoreMerges {
		if id := m.ids.lookup(b); id >= 0 {
			st.mtoks = append(st.mtoks, mtok{id: id, start: p.off, end: p.end})
			return nil
		}
	}
	syms := st.bpe[:0]
	add := func(id int32, start, end int32) {
		syms = append(syms, bpeSymbol{id: id, prev: int32(len(syms)) - 1, next: int32(len(syms)) + 1, start: start, end: end})
	}
	unkID, unkStart, unkEnd := int32(-1), int32(0), int32(0)
	var key []byte
	for i := 0; i < len(b); {
		_, sz := utf8.DecodeRune(b[i:])
		first, last := i == 0, i+sz == len(b)
		start, end := p.off+int32(i), p.off+int32(i+sz)
		key = key[:0]
		if !first {
			key = append(key, m.prefix...)
		}
		key = append(key, b[i:i+sz]...)
		if last {
			key = append(key, m.suffix...)
		}
		i += sz
		if id := m.ids.lookup(key); id >= 0 {
			if unkID >= 0 {
				add(unkID, unkStart, unkEnd)
				unkID = -1
			}
			add(id, start, end)
			continue
		}
		if m.byteFallback {
			ok := true
			for _, c := range key {
				if m.byteIDs[c] < 0 {
					ok = false
					break
				}
			}
			if ok {
				for _, c := range key {
					add(m.byteIDs[c], start, end)
				}
				continue
			}
		}
		if m.unk < 0 {
			continue // no unknown token: Hugging Face drops the character
		}
		switch {
		case unkID >= 0 && m.fuseUnk:
			unkEnd = end
		case unkID >= 0:
			add(unkID, unkStart, unkEnd)
			unkID, unkStart, unkEnd = m.unk, start, end
		default:
			unkID, unkStart, unkEnd = m.unk, start, end
		}
	}
	if unkID >= 0 {
		add(unkID, unkStart, unkEnd)
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	m.mergeAll(st, syms)
	for i := 0; i >= 0 && i < len(syms); i = int(syms[i].next) {
		s := syms[i]
		st.mtoks = append(st.mtoks, mtok{id: s.id, start: s.start, end: s.end})
	}
	st.bpe = syms
	return nil
}

// mergeAll applies merges with a priority queue of candidate pairs; stale
// entries (whose pair changed since they were queued) are skipped.
func (m *bpe) mergeAll(st *state, syms []bpeSymbol) {
	h := st.heap[:0]
	for i := 0; i+1 < len(syms); i++ {
		if v, ok := m.merges[uint64(syms[i].id)<<32|uint64(uint32(syms[i+1].id))]; ok {
			h = heapPush(h, bpeMerge{pos: int32(i), rank: uint32(v >> 32), id: int32(uint32(v))})
		}
	}
	for len(h) > 0 {
		var top bpeMerge
		top, h = heapPop(h)
		cur := &syms[top.pos]
		if cur.end == cur.start && cur.id < 0 { // removed
			continue
		}
		if cur.next < 0 {
			continue
		}
		right := syms[cur.next]
		v, ok := m.merges[uint64(cur.id)<<32|uint64(uint32(right.id))]
		if !ok || int32(uint32(v)) != top.id {
			continue
		}
		// Merge right into cur.
		cur.id = top.id
		cur.end = right.end
		removed := cur.next
		cur.next = right.next
		syms[removed].id = -1
		syms[removed].start = syms[removed].end
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			prev := syms[cur.prev]
			if v, ok := m.merges[uint64(prev.id)<<32|uint64(uint32(cur.id))]; ok {
				h = heapPush(h, bpeMerge{pos: cur.prev, rank: uint32(v >> 32), id: int32(uint32(v))})
			}
		}
		if cur.next >= 0 {
			next := syms[cur.next]
			if v, ok := m.merges[uint64(cur.id)<<32|uint64(uint32(next.id))]; ok {
				h = heapPush(h, bpeMerge{pos: top.pos, rank: uint32(v >> 32), id: int32(uint32(v))})
			}
		}
	}
	st.heap = h
}

func mergeLess(a, b bpeMerge) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.pos < b.pos
}

func heapPush(h []bpeMerge, x bpeMerge) []bpeMerge {
	h = append(h, x)
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !mergeLess(h[i], h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
	return h
}

func heapPop(h []bpeMerge) (bpeMerge, []bpeMerge) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, r, small := 2*i+1, 2*i+2, i
		if l < n && mergeLess(h[l], h[small]) {
			small = l
		}
		if r < n && mergeLess(h[r], h[small]) {
			small = r
		}
		if small == i {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	return top, h
}
