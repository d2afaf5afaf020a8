package train

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/kotodama-ai/kotodama/data"
)

// Prefix is the instruction prepended to a task's texts: Query to the
// anchors, Document to positives and negatives (e.g. "クエリ: " and
// "文章: " for a retrieval model, as ruri does).
type Prefix struct {
	Query    string `json:"query"`
	Document string `json:"document"`
}

// TaskBatches is the Source of a multi-task run: every batch holds B
// triples of one task (so in-batch negatives come from the same kind of
// text and every triple has the same number of hard negatives), tasks are
// interleaved at random, and no text repeats inside a batch (a repeated
// positive would be its own false negative). Epoch e's order is a pure
// function of (seed, e), so batch i is too.
type TaskBatches struct {
	sets     []*data.TripleSet
	b        int
	seed     uint64
	tokenize func(string) (Seq, error)
	prefix   []Prefix // per set
	plans    [][]planned
	starts   []int // index of each planned epoch's first batch
}

type planned struct {
	set     int
	triples []int
}

// NewTaskBatches draws batches of b triples from sets. tokenize turns a
// (prefixed) text into token ids; prefixes maps a task name to its
// instructions: a set named "task/pairs" uses "task"'s, and "*" applies to
// tasks not listed. Sets with fewer than b triples are left out; it is an
// error if none is left.
func NewTaskBatches(sets []*data.TripleSet, b int, seed uint64, tokenize func(string) (Seq, error), prefixes map[string]Prefix) (*TaskBatches, error) {
	if b < 1 {
		return nil, fmt.Errorf("train: batch size %d", b)
	}
	if tokenize == nil {
		return nil, errors.New("train: NewTaskBatches needs a tokenize function")
	}
	s := &TaskBatches{b: b, seed: seed, tokenize: tokenize}
	for _, set := range sets {
		if len(set.Triples) < b {
			continue
		}
		s.sets = append(s.sets, set)
		p, ok := prefixes[set.Task]
		if !ok {
			base, _, _ := strings.Cut(set.Task, "/")
			if p, ok = prefixes[base]; !ok {
				p = prefixes["*"]
			}
		}
		s.prefix = append(s.prefix, p)
	}
	if len(s.sets) == 0 {
		return nil, fmt.Errorf("train: no task has %d triples for a batch", b)
	}
	return s, nil
}

// Sets returns the sets batches are drawn from.
func (s *TaskBatches) Sets() []*data.TripleSet { return s.sets }

// PerEpoch is the number of batches in the first epoch (later epochs
// differ by at most a few, as deduplication cuts them differently).
func (s *TaskBatches) PerEpoch() int { return len(s.plan(0)) }

// plan returns epoch e's batches, computing and caching epochs up to e.
func (s *TaskBatches) plan(e int) []planned {
	for len(s.plans) <= e {
		epoch := len(s.plans)
		start := 0
		if epoch > 0 {
			start = s.starts[epoch-1] + len(s.plans[epoch-1])
		}
		s.plans = append(s.plans, s.planEpoch(epoch))
		s.starts = append(s.starts, start)
	}
	return s.plans[e]
}

func (s *TaskBatches) planEpoch(epoch int) []planned {
	var all []planned
	for si, set := range s.sets {
		r := rand.New(rand.NewPCG(s.seed, mix64(uint64(epoch)<<20|uint64(si))))
		order := r.Perm(len(set.Triples))
		var pending []int // deferred by a repeated text
		cur := planned{set: si}
		queries, docs := map[string]bool{}, map[string]bool{}
		fits := func(t data.Triple) bool {
			if queries[t.Query] || docs[t.Positive] {
				return false
			}
			for _, n := range t.Negatives {
				if docs[n] || n == t.Positive {
					return false
				}
			}
			return true
		}
		add := func(i int) {
			t := set.Triples[i]
			cur.triples = append(cur.triples, i)
			queries[t.Query] = true
			docs[t.Positive] = true
			for _, n := range t.Negatives {
				docs[n] = true
			}
			if len(cur.triples) == s.b {
				all = append(all, cur)
				cur = planned{set: si}
				clear(queries)
				clear(docs)
			}
		}
		for _, i := range order {
			// Deferred triples get the first chance at each new batch.
			if len(cur.triples) == 0 && len(pending) > 0 {
				var still []int
				for _, j := range pending {
					if fits(set.Triples[j]) {
						add(j)
					} else {
						still = append(still, j)
					}
				}
				pending = still
			}
			if fits(set.Triples[i]) {
				add(i)
			} else {
				pending = append(pending, i)
			}
		}
		// The rest (a partial batch, deferred triples) waits for the next
		// epoch's shuffle.
	}
	r := rand.New(rand.NewPCG(s.seed, mix64(uint64(epoch)<<20|0xfffff)))
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all
}

// Locate returns the task, epoch and position within the epoch of batch i.
func (s *TaskBatches) Locate(i int) (task string, epoch, j int) {
	epoch = 0
	for {
		p := s.plan(epoch)
		if i < s.starts[epoch]+len(p) {
			j = i - s.starts[epoch]
			return s.sets[p[j].set].Task, epoch, j
		}
		epoch++
	}
}

// Batch implements Source: the anchors, positives and hard negatives of
// batch i, prefixed and tokenized.
func (s *TaskBatches) Batch(i int) (Batch, error) {
	if i < 0 {
		return Batch{}, fmt.Errorf("train: batch %d", i)
	}
	_, epoch, j := s.Locate(i)
	p := s.plan(epoch)[j]
	set, pre := s.sets[p.set], s.prefix[p.set]
	b := len(p.triples)
	seqs := make([]Seq, (2+set.Negatives)*b)
	for k, ti := range p.triples {
		t := set.Triples[ti]
		texts := []struct {
			at   int
			text string
		}{{k, pre.Query + t.Query}, {b + k, pre.Document + t.Positive}}
		for n, neg := range t.Negatives {
			texts = append(texts, struct {
				at   int
				text string
			}{(2+n)*b + k, pre.Document + neg})
		}
		for _, x := range texts {
			seq, err := s.tokenize(x.text)
			if err != nil {
				return Batch{}, fmt.Errorf("train: %s: tokenizing %q: %w", set.Task, x.text, err)
			}
			seqs[x.at] = seq
		}
	}
	return Batch{Seqs: seqs, B: b}, nil
}
