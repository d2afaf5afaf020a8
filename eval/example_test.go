package eval_test

import (
	"context"
	"fmt"
	"os"

	"github.com/kotodama-ai/kotodama/data"
	"github.com/kotodama-ai/kotodama/eval"
)

func ExampleNDCGAt() {
	// One query with two relevant documents, found at ranks 1 and 3.
	run := []eval.Ranked[string]{{
		Relevant:  []string{"東京#0", "東京#4"},
		Retrieved: []string{"東京#0", "大阪#1", "東京#4"},
	}}
	fmt.Printf("accuracy@1 %.4f\n", eval.AccuracyAt(1, run))
	fmt.Printf("recall@2   %.4f\n", eval.RecallAt(2, run))
	fmt.Printf("mrr@10     %.4f\n", eval.MRRAt(10, run))
	// (1 + 1/log2(4)) / (1 + 1/log2(3))
	fmt.Printf("ndcg@10    %.4f\n", eval.NDCGAt(10, run))
	// Output:
	// accuracy@1 1.0000
	// recall@2   0.5000
	// mrr@10     1.0000
	// ndcg@10    0.9197
}

func ExampleBM25() {
	ctx := context.Background()
	docs := []string{
		"東京都庁は新宿区にある。",
		"大阪城は大阪市中央区にある城である。",
		"京都の金閣寺は室町時代に建てられた。",
	}
	ix, err := eval.NewBM25(ctx, docs)
	if err != nil {
		fmt.Println(err)
		return
	}
	hits, _ := ix.Search(ctx, []string{"大阪城はどこにありますか"}, 2)
	for _, h := range hits[0] {
		fmt.Printf("%d %.3f %s\n", h.Doc, h.Score, docs[h.Doc])
	}
	// Output:
	// 1 3.594 大阪城は大阪市中央区にある城である。
	// 0 0.532 東京都庁は新宿区にある。
}

func ExampleEvaluateRetrieval() {
	ctx := context.Background()
	task, err := data.LoadRetrieval("../datasets", "jsquad-valid")
	if err != nil {
		fmt.Println(err)
		return
	}
	bm25, err := eval.NewBM25(ctx, task.DocTexts(false))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := eval.EvaluateRetrieval(ctx, task, bm25, eval.WithCutoffs(1, 10))
	if err != nil {
		fmt.Println(err)
		return
	}
	eval.WriteRetrievalTable(os.Stdout, res)
	// Output:
	// jsquad-valid: 4442 queries, 1145 documents
	// metric        bm25(k1=1.2,b=0.75,cjk-bigram)
	// accuracy@1    0.8856
	// accuracy@10   0.9611
	// recall@1      0.8856
	// recall@10     0.9611
	// mrr@1         0.8856
	// mrr@10        0.9124
	// ndcg@1        0.8856
	// ndcg@10       0.9243
}
