package eval

import (
	"math"
)

// Ranked is one query of a retrieval run: the documents judged relevant
// to it and the documents a system retrieved for it, best first.
type Ranked[T comparable] struct {
	Relevant  []T
	Retrieved []T
}

// The ranking metrics below follow JMTEB's retrieval evaluator exactly
// (sbintuitions/JMTEB, src/jmteb/evaluators/retrieval/evaluator.py,
// functions accuracy_at_k, mrr_at_k and ndcg_at_k): relevance is binary
// (a retrieved document is relevant when it appears in Relevant), and the
// mean is taken over all queries, so a query with no relevant document
// scores 0 and still counts in the denominator, as JMTEB's
// "acc / len(relevant_docs)" does. An empty run gives NaN. k < 1 looks
// at no document.

// AccuracyAt is the fraction of queries with at least one relevant
// document among the first k retrieved (JMTEB's accuracy@k, also called
// hit rate or success@k).
func AccuracyAt[T comparable](k int, run []Ranked[T]) float64 {
	return mean(run, func(q Ranked[T]) float64 {
		for _, d := range top(q.Retrieved, k) {
			if contains(q.Relevant, d) {
				return 1
			}
		}
		return 0
	})
}

// RecallAt is the mean over queries of the fraction of a query's distinct
// relevant documents found among the first k retrieved. JMTEB does not
// report recall; this is the usual definition (trec_eval's recall_k,
// BEIR's Recall@k) with JMTEB's averaging over all queries.
func RecallAt[T comparable](k int, run []Ranked[T]) float64 {
	return mean(run, func(q Ranked[T]) float64 {
		rel := distinct(q.Relevant)
		if len(rel) == 0 {
			return 0
		}
		found := 0
		for _, d := range distinct(top(q.Retrieved, k)) {
			if contains(rel, d) {
				found++
			}
		}
		return float64(found) / float64(len(rel))
	})
}

// MRRAt is the mean reciprocal rank of the first relevant document among
// the first k retrieved (0 when none is), as JMTEB's mrr_at_k:
//
//	MRR@k = mean over queries of 1/rank, rank = 1 + the index of the first relevant hit in Retrieved[:k]
func MRRAt[T comparable](k int, run []Ranked[T]) float64 {
	return mean(run, func(q Ranked[T]) float64 {
		for i, d := range top(q.Retrieved, k) {
			if contains(q.Relevant, d) {
				return 1 / float64(i+1)
			}
		}
		return 0
	})
}

// NDCGAt is JMTEB's nDCG@k (ndcg_at_k), with binary gains:
//
//	DCG@k  = Σ_{rank=1..k, Retrieved[rank-1] relevant} 1/log2(rank+1)
//	IDCG   = Σ_{rank=1..len(Relevant)} 1/log2(rank+1)
//	nDCG@k = DCG@k / IDCG, 0 for a query with no relevant document
//
// Note that JMTEB's ideal DCG is not cut at k: a query with more relevant
// documents than k cannot reach 1. It counts every entry of Relevant, as
// JMTEB counts len(query_rel_docs). For the textbook definition with the
// ideal ranking cut at k, use NDCGCutAt. With one relevant document per
// query, as in every QA-derived task here, the two agree.
func NDCGAt[T comparable](k int, run []Ranked[T]) float64 {
	return mean(run, func(q Ranked[T]) float64 {
		if len(q.Relevant) == 0 {
			return 0
		}
		var dcg float64
		for i, d := range top(q.Retrieved, k) {
			if contains(q.Relevant, d) {
				dcg += 1 / math.Log2(float64(i+2))
			}
		}
		return dcg / idcg(len(q.Relevant))
	})
}

// NDCGCutAt is trec_eval's ndcg_cut.k (usnistgov/trec_eval,
// m_ndcg_cut.c) with binary relevance, where the gain of a relevant
// document is its qrels level, 1:
//
//	DCG@k  = Σ_{i=0..k-1, Retrieved[i] relevant} 1/log2(i+2)
//	IDCG@k = Σ_{i=0..min(k, R)-1} 1/log2(i+2), R = the number of distinct relevant documents
//	nDCG@k = DCG@k / IDCG@k
//
// The ideal ranking is cut at k, unlike NDCGAt. As trec_eval averages
// over the queries that have relevance judgements, queries with no
// relevant document are left out of the mean (NaN when no query has one).
func NDCGCutAt[T comparable](k int, run []Ranked[T]) float64 {
	var sum float64
	n := 0
	for _, q := range run {
		rel := distinct(q.Relevant)
		if len(rel) == 0 {
			continue
		}
		n++
		if k < 1 {
			continue
		}
		var dcg float64
		for i, d := range top(q.Retrieved, k) {
			if contains(rel, d) {
				dcg += 1 / math.Log2(float64(i+2))
			}
		}
		sum += dcg / idcg(min(k, len(rel)))
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// idcg is Σ_{rank=1..n} 1/log2(rank+1).
func idcg(n int) float64 {
	var s float64
	for r := 1; r <= n; r++ {
		s += 1 / math.Log2(float64(r+1))
	}
	return s
}

func mean[T comparable](run []Ranked[T], score func(Ranked[T]) float64) float64 {
	if len(run) == 0 {
		return math.NaN()
	}
	var s float64
	for _, q := range run {
		s += score(q)
	}
	return s / float64(len(run))
}

func top[T any](s []T, k int) []T {
	if k < 0 {
		k = 0
	}
	return s[:min(k, len(s))]
}

// contains is a linear search: relevance lists are short (one document in
// the QA-derived tasks).
func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// distinct returns s without repeats, keeping first occurrences in order.
func distinct[T comparable](s []T) []T {
	for i := 1; i < len(s); i++ {
		if contains(s[:i], s[i]) {
			out := append([]T(nil), s[:i]...)
			for _, v := range s[i+1:] {
				if !contains(out, v) {
					out = append(out, v)
				}
			}
			return out
		}
	}
	return s
}
