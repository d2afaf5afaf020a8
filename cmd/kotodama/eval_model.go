package main

import (
	"context"
	"errors"

	"github.com/kotodama-ai/kotodama/data"
	"github.com/kotodama-ai/kotodama/eval"
)

// errNoEmbed is returned for -model until package embed (the encoder that
// turns a model directory into vectors) is on main; eval's Dense
// retriever and EvaluateSTS take any eval.EncodeFunc and are tested.
var errNoEmbed = errors.New("-model needs package embed, which is not built yet; BM25 (-bm25) works")

func evalModelRetrieval(ctx context.Context, e *env, dir string, t *data.Retrieval, docs []string, batch int, opts []eval.Option) (*eval.RetrievalResult, error) {
	return nil, errNoEmbed
}

func evalModelSTS(ctx context.Context, e *env, dir, prompt string, t *data.STS, batch int) (*eval.STSResult, error) {
	return nil, errNoEmbed
}
