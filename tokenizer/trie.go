package tokenizer

import (
	"slices"
	"strings"
)

// trie is a double-array trie over byte strings: the child of state s on
// byte c is base[s]+c when check of that slot is s. Walking one byte costs
// two array reads, which makes longest-match (WordPiece) and
// common-prefix search (Unigram) linear in the bytes read.
type trie struct {
	nodes []trieNode
}

// trieNode is one state; its three fields sit together so a step of a
// walk touches one cache line.
type trieNode struct {
	base  int32 // children at base+c
	check int32 // the parent state, -1 for a free slot
	value int32 // id of the key ending here, or -1
}

// next returns the child of state s on byte c, or -1.
func (t *trie) next(s int32, c byte) int32 {
	n := t.nodes[s].base + int32(c)
	if uint32(n) < uint32(len(t.nodes)) && t.nodes[n].check == s {
		return n
	}
	return -1
}

// value returns the id of the key ending at state s, or -1.
func (t *trie) value(s int32) int32 { return t.nodes[s].value }

// lookup returns the id of key, or -1.
func (t *trie) lookup(key []byte) int32 {
	s := int32(0)
	for _, c := range key {
		if s = t.next(s, c); s < 0 {
			return -1
		}
	}
	return t.nodes[s].value
}

// lookupString is lookup for a string key.
func (t *trie) lookupString(key string) int32 {
	s := int32(0)
	for i := 0; i < len(key); i++ {
		if s = t.next(s, key[i]); s < 0 {
			return -1
		}
	}
	return t.nodes[s].value
}

// newTrie builds a trie mapping keys[i] to ids[i]. When a key repeats, the
// last one wins, as a hash map filled in order would.
func newTrie(keys []string, ids []int32) *trie {
	type kv struct {
		k   string
		id  int32
		ord int
	}
	items := make([]kv, len(keys))
	for i, k := range keys {
		items[i] = kv{k, ids[i], i}
	}
	slices.SortFunc(items, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return a.ord - b.ord
	})
	b := trieBuilder{freeHead: -1, freeTail: -1}
	n := 256 + 2*len(keys)
	b.t.nodes = make([]trieNode, 1, n)
	b.fnext = make([]int32, 1, n)
	b.fprev = make([]int32, 1, n)
	b.t.nodes[0] = trieNode{check: -2, value: -1} // the root is no one's child
	sorted := make([]string, len(items))
	sids := make([]int32, len(items))
	for i, it := range items {
		sorted[i], sids[i] = it.k, it.id
	}
	b.keys, b.ids = sorted, sids
	if len(sorted) > 0 {
		b.place(0, 0, len(sorted), 0)
	}
	t := b.t
	// Trim the free tail so next's bound check stays tight.
	last := len(t.nodes) - 1
	for last > 0 && t.nodes[last].check == -1 {
		last--
	}
	t.nodes = slices.Clip(t.nodes[:last+1])
	return &t
}

type trieBuilder struct {
	t      trie
	keys   []string
	ids    []int32
	labels []byte
	starts []int
	// Free slots form a doubly linked list in increasing order (head
	// freeHead, -1 terminated), so finding a base visits only free slots.
	fnext, fprev []int32
	freeHead     int32
	freeTail     int32
}

// grow extends the arrays to hold index n, linking the new slots into the
// free list.
func (b *trieBuilder) grow(n int32) {
	for int32(len(b.t.nodes)) <= n {
		i := int32(len(b.t.nodes))
		b.t.nodes = append(b.t.nodes, trieNode{check: -1, value: -1})
		b.fnext = append(b.fnext, -1)
		b.fprev = append(b.fprev, b.freeTail)
		if b.freeTail >= 0 {
			b.fnext[b.freeTail] = i
		} else {
			b.freeHead = i
		}
		b.freeTail = i
	}
}

// use takes slot n off the free list.
func (b *trieBuilder) use(n int32, parent int32) {
	b.grow(n)
	b.t.nodes[n].check = parent
	p, q := b.fprev[n], b.fnext[n]
	if p >= 0 {
		b.fnext[p] = q
	} else {
		b.freeHead = q
	}
	if q >= 0 {
		b.fprev[q] = p
	} else {
		b.freeTail = p
	}
}

// place lays out the children of state s, which holds keys[lo:hi] (all
// sharing their first depth bytes), and recurses into them.
func (b *trieBuilder) place(s int32, lo, hi, depth int) {
	// Keys ending here come first in sorted order; the last duplicate wins.
	for lo < hi && len(b.keys[lo]) == depth {
		b.t.nodes[s].value = b.ids[lo]
		lo++
	}
	if lo == hi {
		return
	}
	labels := b.labels[:0]
	starts := b.starts[:0]
	for i := lo; i < hi; i++ {
		c := b.keys[i][depth]
		if len(labels) == 0 || labels[len(labels)-1] != c {
			labels = append(labels, c)
			starts = append(starts, i)
		}
	}
	starts = append(starts, hi)
	// Copy out of the shared scratch before recursing.
	ls := slices.Clone(labels)
	ss := slices.Clone(starts)
	b.labels, b.starts = labels, starts

	base := b.findBase(ls)
	b.t.nodes[s].base = base
	for _, c := range ls {
		b.use(base+int32(c), s)
	}
	for i, c := range ls {
		b.place(base+int32(c), ss[i], ss[i+1], depth+1)
	}
}

// findBase returns a base whose slots base+c are all free for the given
// labels, trying free slots for the first label in increasing order.
func (b *trieBuilder) findBase(labels []byte) int32 {
	first := int32(labels[0])
	tries := 0
	for pos := b.freeHead; pos >= 0; pos = b.fnext[pos] {
		base := pos - first
		if base < 1 {
			continue
		}
		ok := true
		for _, c := range labels[1:] {
			n := base + int32(c)
			if n < int32(len(b.t.nodes)) && b.t.nodes[n].check != -1 {
				ok = false
				break
			}
		}
		if ok {
			return base
		}
		// Crowded lists are not worth scanning to the end: a fresh
		// region past the end always fits.
		if tries++; tries > 512 {
			break
		}
	}
	base := int32(len(b.t.nodes)) - first
	if base < 1 {
		base = 1
	}
	return base
}
