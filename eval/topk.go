package eval

import "sort"

// Hit is one retrieved document: its index in the corpus and its score.
type Hit struct {
	Doc   int
	Score float64
}

// topK keeps the k best (score, doc) pairs seen, better meaning a higher
// score or, on an exact tie, a lower document index. It is a min-heap on
// that order, so the worst kept pair is at the root.
type topK struct {
	k    int
	hits []Hit
}

func newTopK(k int) *topK { return &topK{k: k, hits: make([]Hit, 0, k)} }

// worse reports whether a ranks below b.
func worse(a, b Hit) bool {
	return a.Score < b.Score || (a.Score == b.Score && a.Doc > b.Doc)
}

func (h *topK) push(doc int, score float64) {
	x := Hit{Doc: doc, Score: score}
	if len(h.hits) < h.k {
		h.hits = append(h.hits, x)
		// Sift up.
		for i := len(h.hits) - 1; i > 0; {
			p := (i - 1) / 2
			if !worse(h.hits[i], h.hits[p]) {
				break
			}
			h.hits[i], h.hits[p] = h.hits[p], h.hits[i]
			i = p
		}
		return
	}
	if h.k == 0 || !worse(h.hits[0], x) {
		return
	}
	h.hits[0] = x
	// Sift down.
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.hits) && worse(h.hits[l], h.hits[m]) {
			m = l
		}
		if r < len(h.hits) && worse(h.hits[r], h.hits[m]) {
			m = r
		}
		if m == i {
			return
		}
		h.hits[i], h.hits[m] = h.hits[m], h.hits[i]
		i = m
	}
}

// sorted returns the kept hits best first.
func (h *topK) sorted() []Hit {
	out := append([]Hit(nil), h.hits...)
	sort.Slice(out, func(i, j int) bool { return worse(out[j], out[i]) })
	return out
}
