package data

import (
	"context"
	"fmt"
	"hash/fnv"
	"iter"
	"path/filepath"
	"slices"
	"strings"
)

// Triple is one contrastive training example: a query (the anchor), the
// text that answers or restates it, and hard negatives — texts close to
// the query that do not.
type Triple struct {
	Query     string
	Positive  string
	Negatives []string
}

// TripleSet is one task's training examples, all with the same number of
// hard negatives, so any batch drawn from it lines up as the loss
// expects. Builders split a task whose examples differ (an NLI premise
// with and without a contradiction) into sets named Task and
// Task+"/pairs".
type TripleSet struct {
	Task      string
	Negatives int
	Triples   []Triple
}

// TripleOption changes how a builder makes triples.
type TripleOption func(*tripleConfig)

type tripleConfig struct {
	seed    uint64
	miner   NegativeMiner
	exclude func(title, paragraph string) bool
}

// NegativeMiner ranks documents for queries: for each query, indices into
// docs, best first, at most k. eval.BM25's Search is one (package data
// cannot import eval, which imports data; the caller binds it).
type NegativeMiner func(ctx context.Context, queries, docs []string, k int) ([][]int, error)

// WithSeed changes the seed of the deterministic choices (which
// same-article paragraph, which contradiction); default 0.
func WithSeed(seed uint64) TripleOption { return func(c *tripleConfig) { c.seed = seed } }

// WithMiner makes QATriples take each question's hard negative from the
// miner's ranking (the best-ranked paragraph other than its own that does
// not contain an answer) instead of from its article.
func WithMiner(m NegativeMiner) TripleOption { return func(c *tripleConfig) { c.miner = m } }

// WithExclude drops QA examples whose article title and paragraph
// exclude accepts — for keeping an evaluation set's articles out of
// training (see ExcludeTask).
func WithExclude(exclude func(title, paragraph string) bool) TripleOption {
	return func(c *tripleConfig) { c.exclude = exclude }
}

// ExcludeTask returns a WithExclude filter that drops every paragraph of
// an article that t's corpus draws from, and any paragraph equal to one
// of t's documents: JaQuAD and JSQuAD both come from Japanese Wikipedia,
// and training on an evaluation article would inflate the evaluation.
func ExcludeTask(t *Retrieval) func(title, paragraph string) bool {
	titles := map[string]bool{}
	texts := map[string]bool{}
	for _, d := range t.Docs {
		if d.Title != "" {
			titles[d.Title] = true
		}
		texts[d.Text] = true
	}
	return func(title, paragraph string) bool { return titles[title] || texts[paragraph] }
}

func newTripleConfig(opts []TripleOption) tripleConfig {
	var c tripleConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

// pick returns a deterministic index in [0, n) for key.
func (c tripleConfig) pick(key string, n int) int {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s", c.seed, key)
	return int(h.Sum64() % uint64(n))
}

// QATriples builds (question → its paragraph) triples from a
// question-answering set such as JaQuAD. The paragraph is the context
// without a JSQuAD-style "title [SEP] " prefix (SplitTitle), as
// RetrievalFromQA indexes it. The hard negative is another paragraph of
// the same article, chosen by seed — or, with WithMiner, the
// best-ranked paragraph of the whole set — never one that contains an
// answer of the question (it would be a false negative). Unanswerable
// questions and repeated (question, paragraph) pairs are left out.
func QATriples(ctx context.Context, task string, qas iter.Seq2[QA, error], opts ...TripleOption) ([]*TripleSet, error) {
	c := newTripleConfig(opts)
	type para struct{ title, text string }
	var paras []para
	index := map[para]int{}
	byTitle := map[string][]int{}
	type question struct {
		q       QA
		para    int
		answers []string
	}
	var questions []question
	for qa, err := range qas {
		if err != nil {
			return nil, err
		}
		if qa.Impossible || len(qa.Answers) == 0 {
			continue
		}
		text, _ := SplitTitle(qa.Context, qa.Title)
		if c.exclude != nil && c.exclude(qa.Title, text) {
			continue
		}
		p := para{qa.Title, text}
		i, ok := index[p]
		if !ok {
			i = len(paras)
			index[p] = i
			paras = append(paras, p)
			byTitle[qa.Title] = append(byTitle[qa.Title], i)
		}
		var ans []string
		for _, a := range qa.Answers {
			if a.Text != "" {
				ans = append(ans, a.Text)
			}
		}
		questions = append(questions, question{qa, i, ans})
	}
	answered := func(q question, p int) bool {
		for _, a := range q.answers {
			if strings.Contains(paras[p].text, a) {
				return true
			}
		}
		return false
	}
	var mined [][]int
	if c.miner != nil {
		texts := make([]string, len(paras))
		for i, p := range paras {
			texts[i] = p.text
		}
		qs := make([]string, len(questions))
		for i, q := range questions {
			qs[i] = q.q.Question
		}
		var err error
		if mined, err = c.miner(ctx, qs, texts, 10); err != nil {
			return nil, fmt.Errorf("data: mining negatives for %s: %w", task, err)
		}
		if len(mined) != len(qs) {
			return nil, fmt.Errorf("data: mining negatives for %s: %d rankings for %d questions", task, len(mined), len(qs))
		}
	}
	var triples []Triple
	seen := map[[2]string]bool{}
	for qi, q := range questions {
		pos := paras[q.para].text
		k := [2]string{q.q.Question, pos}
		if seen[k] {
			continue
		}
		seen[k] = true
		t := Triple{Query: q.q.Question, Positive: pos}
		if mined != nil {
			for _, d := range mined[qi] {
				if d >= 0 && d < len(paras) && d != q.para && paras[d].text != pos && !answered(q, d) {
					t.Negatives = []string{paras[d].text}
					break
				}
			}
		} else {
			var cands []int
			for _, p := range byTitle[paras[q.para].title] {
				if p != q.para && paras[p].text != pos && !answered(q, p) {
					cands = append(cands, p)
				}
			}
			if len(cands) > 0 {
				t.Negatives = []string{paras[cands[c.pick(q.q.ID, len(cands))]].text}
			}
		}
		triples = append(triples, t)
	}
	return splitSets(task, triples), nil
}

// NLITriples builds (premise → entailed hypothesis) triples from an NLI
// set; a sentence that contradicts the premise — in a pair where either
// one is the premise, since contradiction is symmetric — is the hard
// negative when there is one (chosen by seed among several). Neutral
// pairs are not used; repeated pairs are left out.
func NLITriples(task string, pairs iter.Seq2[NLIPair, error], opts ...TripleOption) ([]*TripleSet, error) {
	c := newTripleConfig(opts)
	var premises []string
	seen := map[string]bool{}
	entail := map[string][]string{}
	contra := map[string][]string{}
	for p, err := range pairs {
		if err != nil {
			return nil, err
		}
		if p.Premise == "" || p.Hypothesis == "" || p.Premise == p.Hypothesis {
			continue
		}
		if !seen[p.Premise] {
			seen[p.Premise] = true
			premises = append(premises, p.Premise)
		}
		switch p.Label {
		case Entailment:
			entail[p.Premise] = append(entail[p.Premise], p.Hypothesis)
		case Contradiction:
			// Contradiction is symmetric: each sentence is a negative for
			// the other, whichever side it was written on.
			contra[p.Premise] = append(contra[p.Premise], p.Hypothesis)
			contra[p.Hypothesis] = append(contra[p.Hypothesis], p.Premise)
		}
	}
	var triples []Triple
	for _, prem := range premises {
		cs := slices.Compact(slices.Sorted(slices.Values(contra[prem])))
		for _, h := range slices.Compact(slices.Sorted(slices.Values(entail[prem]))) {
			t := Triple{Query: prem, Positive: h}
			if len(cs) > 0 {
				t.Negatives = []string{cs[c.pick(prem+"\x00"+h, len(cs))]}
			}
			triples = append(triples, t)
		}
	}
	return splitSets(task, triples), nil
}

// STSTriples builds (sentence1 → sentence2) pairs, without hard
// negatives, from the STS pairs scored at least minScore (JSTS: 4 of 5
// means "roughly equivalent"); repeated pairs, in either order, are left
// out.
func STSTriples(task string, pairs iter.Seq2[STSPair, error], minScore float64) ([]*TripleSet, error) {
	var triples []Triple
	seen := map[[2]string]bool{}
	for p, err := range pairs {
		if err != nil {
			return nil, err
		}
		if p.Score < minScore || p.Sentence1 == "" || p.Sentence2 == "" || p.Sentence1 == p.Sentence2 {
			continue
		}
		k := [2]string{min(p.Sentence1, p.Sentence2), max(p.Sentence1, p.Sentence2)}
		if seen[k] {
			continue
		}
		seen[k] = true
		triples = append(triples, Triple{Query: p.Sentence1, Positive: p.Sentence2})
	}
	return splitSets(task, triples), nil
}

// splitSets groups triples by their number of negatives: the set with the
// most negatives keeps the task's name, the others get "/pairs" (no
// negatives) or "/N" appended. Empty sets are dropped.
func splitSets(task string, triples []Triple) []*TripleSet {
	by := map[int]*TripleSet{}
	most := 0
	for _, t := range triples {
		n := len(t.Negatives)
		s, ok := by[n]
		if !ok {
			s = &TripleSet{Negatives: n}
			by[n] = s
		}
		s.Triples = append(s.Triples, t)
		most = max(most, n)
	}
	counts := make([]int, 0, len(by))
	for n := range by {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	var out []*TripleSet
	for _, n := range slices.Backward(counts) {
		s := by[n]
		switch {
		case n == most:
			s.Task = task
		case n == 0:
			s.Task = task + "/pairs"
		default:
			s.Task = fmt.Sprintf("%s/%d", task, n)
		}
		out = append(out, s)
	}
	return out
}

// TrainingTask describes a training set LoadTriples knows by name.
type TrainingTask struct {
	Name string
	What string
}

// TrainingTasks lists the names LoadTriples accepts. None of them is an
// evaluation split Kotodama reports on (JSQuAD valid, JSTS valid).
func TrainingTasks() []TrainingTask {
	return []TrainingTask{
		{"jaquad-train", "JaQuAD train: question → its paragraph; hard negative another paragraph of the article (or BM25-mined)"},
		{"jnli-valid", "JGLUE JNLI valid: premise → entailed hypothesis; a contradiction as hard negative (none of its entailed premises has one: pairs only)"},
		{"jsick-train", "JSICK train: premise (A) → entailed B; a contradiction as hard negative"},
		{"jsts-train", "JGLUE JSTS train: sentence pairs scored ≥ 4 (no hard negatives)"},
	}
}

// The JNLI file: JGLUE publishes no JNLI train split in the shared data,
// so training uses valid; JNLI is not one of the reported evaluations.
const jnliValid = "jglue/jnli-v1.3/valid-v1.3.json"

// LoadTriples builds the training task called name (see TrainingTasks)
// from the datasets directory root. opts apply where they make sense
// (WithMiner and WithExclude to jaquad-train, WithSeed to all).
func LoadTriples(ctx context.Context, root, name string, opts ...TripleOption) ([]*TripleSet, error) {
	switch name {
	case "jaquad-train":
		return QATriples(ctx, name, readGlob(filepath.Join(root, jaquadTrain), "*.json", SQuAD), opts...)
	case "jnli-valid":
		return NLITriples(name, readFile(filepath.Join(root, jnliValid), JNLI), opts...)
	case "jsick-train":
		pairs := func(yield func(NLIPair, error) bool) {
			for p, err := range readFile(filepath.Join(root, jsickTrain), JSICK) {
				if !yield(p.NLI(), err) || err != nil {
					return
				}
			}
		}
		return NLITriples(name, pairs, opts...)
	case "jsts-train":
		return STSTriples(name, readFile(filepath.Join(root, jstsTrain), JSTS), 4)
	}
	names := make([]string, 0, 4)
	for _, t := range TrainingTasks() {
		names = append(names, t.Name)
	}
	return nil, fmt.Errorf("%w: training task %q (known: %s)", ErrUnknownTask, name, strings.Join(names, ", "))
}
