// Package eval measures embedding models the way JMTEB does: retrieval
// (accuracy, recall, MRR and nDCG at k) and semantic textual similarity
// (Spearman and Pearson correlation), with an exact BM25 baseline so that
// every retrieval report shows lexical and embedding search side by side.
//
// # Overview
//
// A retrieval evaluation takes a task (package data: queries, a corpus,
// relevance judgements), a Retriever built over the task's documents,
// and returns the metrics:
//
//	task, _ := data.LoadRetrieval("datasets", "jsquad-valid")
//	bm25, _ := eval.NewBM25(ctx, task.DocTexts(false))
//	res, _ := eval.EvaluateRetrieval(ctx, task, bm25)
//	eval.WriteRetrievalTable(os.Stdout, res)
//
// BM25 and Dense are the two Retrievers. BM25 is lexical search over an
// inverted index, with character bigrams as terms by default
// (CJKBigrams explains why). Dense is exact embedding search: it takes an
// Encoder, plain functions from texts to vectors, so any model plugs in
// (package embed's, with its query and document prompts), and ranks every
// document by cosine similarity.
//
// The metric functions (AccuracyAt, RecallAt, MRRAt, NDCGAt, NDCGCutAt)
// reproduce JMTEB's retrieval evaluator, including its nDCG whose ideal
// DCG is not cut at k; NDCGCutAt is trec_eval's ndcg_cut for comparison.
// Each documents its formula and source. Pearson and Spearman reproduce
// scipy.stats.pearsonr and spearmanr (average ranks for ties).
//
// Ties are broken the same way everywhere: equal scores rank the lower
// document index first, so results are deterministic.
//
// Results marshal to JSON ({"task": ..., "metrics": {"ndcg@10": ...}})
// and print as tables (WriteRetrievalTable, WriteSTSTable).
package eval
