package eval

import (
	"math"
	"testing"
)

// Hand-checkable cases. The formulas are JMTEB's
// (src/jmteb/evaluators/retrieval/evaluator.py: accuracy_at_k, mrr_at_k,
// ndcg_at_k) and trec_eval's (m_ndcg_cut.c); each expected value is
// written as the arithmetic it comes from.

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.IsNaN(want) && math.IsNaN(got) {
		return
	}
	if math.Abs(got-want) > 1e-15 {
		t.Errorf("%s = %.17g, want %.17g", name, got, want)
	}
}

func TestMetricsOneQuery(t *testing.T) {
	// Relevant A; retrieved B, A, C: the first hit is at rank 2.
	run := []Ranked[string]{{Relevant: []string{"A"}, Retrieved: []string{"B", "A", "C"}}}
	near(t, "accuracy@1", AccuracyAt(1, run), 0)
	near(t, "accuracy@2", AccuracyAt(2, run), 1)
	near(t, "recall@1", RecallAt(1, run), 0)
	near(t, "recall@3", RecallAt(3, run), 1)
	near(t, "mrr@1", MRRAt(1, run), 0)
	near(t, "mrr@3", MRRAt(3, run), 1.0/2)
	near(t, "ndcg@1", NDCGAt(1, run), 0)
	// DCG = 1/log2(2+1); IDCG = 1/log2(1+1) = 1.
	near(t, "ndcg@3", NDCGAt(3, run), 1/math.Log2(3)) // 0.6309297535714575
	near(t, "ndcg_cut@3", NDCGCutAt(3, run), 1/math.Log2(3))
	// k past the end of the list looks at what there is.
	near(t, "ndcg@100", NDCGAt(100, run), 1/math.Log2(3))
	near(t, "accuracy@0", AccuracyAt(0, run), 0)
}

// TestNDCGIdealNotCut is the difference between JMTEB's nDCG and
// trec_eval's: three relevant documents, two slots.
func TestNDCGIdealNotCut(t *testing.T) {
	run := []Ranked[string]{{Relevant: []string{"A", "B", "C"}, Retrieved: []string{"A", "B", "X"}}}
	dcg := 1 + 1/math.Log2(3)
	// JMTEB: IDCG sums over all three relevant documents, 1 + 1/log2(3) + 1/log2(4).
	near(t, "ndcg@2", NDCGAt(2, run), dcg/(1+1/math.Log2(3)+0.5)) // 0.7653606369886217
	// trec_eval: IDCG@2 = 1 + 1/log2(3), the best two slots can do.
	near(t, "ndcg_cut@2", NDCGCutAt(2, run), 1)
	near(t, "recall@2", RecallAt(2, run), 2.0/3)
	near(t, "mrr@2", MRRAt(2, run), 1)
}

// TestEmptyRelevance checks the denominators: JMTEB averages over all
// queries ("acc / len(relevant_docs)"), so a query without relevant
// documents pulls the mean down; trec_eval leaves it out.
func TestEmptyRelevance(t *testing.T) {
	run := []Ranked[int]{
		{Relevant: []int{7}, Retrieved: []int{7, 1}},
		{Relevant: nil, Retrieved: []int{3, 4}},
	}
	near(t, "accuracy@1", AccuracyAt(1, run), 1.0/2)
	near(t, "recall@1", RecallAt(1, run), 1.0/2)
	near(t, "mrr@2", MRRAt(2, run), 1.0/2)
	near(t, "ndcg@2", NDCGAt(2, run), 1.0/2)
	near(t, "ndcg_cut@2", NDCGCutAt(2, run), 1)
	near(t, "ndcg_cut, no judged query", NDCGCutAt(2, run[1:]), math.NaN())
	near(t, "empty run", NDCGAt(2, []Ranked[int]{}), math.NaN())
}

// TestDuplicateRelevant: JMTEB's IDCG counts len(query_rel_docs), repeats
// included; recall and trec_eval count distinct documents.
func TestDuplicateRelevant(t *testing.T) {
	run := []Ranked[string]{{Relevant: []string{"A", "A"}, Retrieved: []string{"A"}}}
	near(t, "ndcg@1", NDCGAt(1, run), 1/(1+1/math.Log2(3))) // 0.6131471927654584
	near(t, "ndcg_cut@1", NDCGCutAt(1, run), 1)
	near(t, "recall@1", RecallAt(1, run), 1)
}

// TestMetricsAgreeWithOneRelevant: with one relevant document per query
// JMTEB's nDCG and trec_eval's coincide, and MRR@1 = accuracy@1.
func TestMetricsAgreeWithOneRelevant(t *testing.T) {
	var run []Ranked[int]
	for q := 0; q < 50; q++ {
		ret := make([]int, 12)
		for i := range ret {
			ret[i] = (q*7 + i*13) % 40
		}
		run = append(run, Ranked[int]{Relevant: []int{q % 40}, Retrieved: ret})
	}
	for _, k := range []int{1, 3, 10} {
		near(t, "ndcg vs ndcg_cut", NDCGAt(k, run), NDCGCutAt(k, run))
		near(t, "recall vs accuracy", RecallAt(k, run), AccuracyAt(k, run))
	}
	near(t, "mrr@1 vs accuracy@1", MRRAt(1, run), AccuracyAt(1, run))
}
