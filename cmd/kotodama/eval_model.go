package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/kotodama-ai/kotodama/data"
	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/eval"
	"github.com/kotodama-ai/kotodama/internal/progress"
)

// autoPrompt is the default of -query-prompt and -doc-prompt: use the
// model's prompt of the conventional name when it has one.
const autoPrompt = "auto"

// promptOption resolves a prompt flag against the model's prompts. An
// explicit name must be one of them; "auto" takes the first of
// candidates the model has, or else leaves the choice to the model (its
// default prompt, if config_sentence_transformers.json names one, as
// sentence-transformers does); "none" turns prompts off. It returns the
// encode options and a description for the report.
func promptOption(m *embed.Model, flag string, candidates ...string) ([]embed.EncodeOption, string, error) {
	prompts, def := m.Prompts()
	switch flag {
	case "none":
		return []embed.EncodeOption{embed.WithPrompt("")}, "none", nil
	case autoPrompt:
		for _, c := range candidates {
			if _, ok := prompts[c]; ok {
				return []embed.EncodeOption{embed.WithPromptName(c)}, c, nil
			}
		}
		if def != "" {
			return nil, def + " (default)", nil
		}
		return nil, "none", nil
	}
	if _, ok := prompts[flag]; !ok {
		names := make([]string, 0, len(prompts))
		for n := range prompts {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, "", fmt.Errorf("the model has no prompt %q (it has %v)", flag, names)
	}
	return []embed.EncodeOption{embed.WithPromptName(flag)}, flag, nil
}

// encodeWith is an eval.EncodeFunc running the model with opts.
func encodeWith(m *embed.Model, opts []embed.EncodeOption) eval.EncodeFunc {
	return func(ctx context.Context, texts []string) ([][]float32, error) {
		return m.Encode(ctx, texts, opts...)
	}
}

// modelFlags are the -model options shared by retrieval and STS.
type modelFlags struct {
	dir    string
	batch  int    // texts per forward pass
	device string // -device
}

func (f modelFlags) load() (*embed.Model, []embed.EncodeOption, error) {
	// The model owns the device and releases it when closed.
	m, err := embed.Load(f.dir, embed.WithDevice(f.device))
	if err != nil {
		return nil, nil, err
	}
	return m, []embed.EncodeOption{embed.WithBatchSize(f.batch)}, nil
}

func evalModelRetrieval(ctx context.Context, e *env, mf modelFlags, queryPrompt, docPrompt string, t *data.Retrieval, docs []string, opts []eval.Option) (*eval.RetrievalResult, error) {
	m, base, err := mf.load()
	if err != nil {
		return nil, err
	}
	defer m.Close()
	qOpts, qName, err := promptOption(m, queryPrompt, "query")
	if err != nil {
		return nil, fmt.Errorf("-query-prompt: %w", err)
	}
	dOpts, dName, err := promptOption(m, docPrompt, "document", "passage")
	if err != nil {
		return nil, fmt.Errorf("-doc-prompt: %w", err)
	}
	name := trimName(mf.dir)
	fmt.Fprintf(e.stderr, "%s: query prompt %s, document prompt %s\n", name, qName, dName)
	enc := eval.Encoder{
		Query:    encodeWith(m, append(append([]embed.EncodeOption(nil), base...), qOpts...)),
		Document: encodeWith(m, append(append([]embed.EncodeOption(nil), base...), dOpts...)),
	}
	bar := progress.New(e.stderr, "encode docs", int64(len(docs)), "docs")
	dense, err := eval.NewDense(ctx, docs, enc, eval.WithName(name), eval.WithBatchSize(512), eval.WithEncodeProgress(barFunc(bar)))
	bar.Finish()
	if err != nil {
		return nil, err
	}
	return evalWithBar(ctx, e, "encode+search queries", t, dense, opts)
}

func evalModelSTS(ctx context.Context, e *env, mf modelFlags, prompt string, t *data.STS) (*eval.STSResult, error) {
	m, base, err := mf.load()
	if err != nil {
		return nil, err
	}
	defer m.Close()
	pOpts, pName, err := promptOption(m, prompt)
	if err != nil {
		return nil, fmt.Errorf("-prompt: %w", err)
	}
	name := trimName(mf.dir)
	fmt.Fprintf(e.stderr, "%s: prompt %s\n", name, pName)
	bar := progress.New(e.stderr, "encode", int64(2*len(t.Pairs)), "sentences")
	res, err := eval.EvaluateSTS(ctx, t, encodeWith(m, append(base, pOpts...)), eval.WithSystem(name), eval.WithProgress(barFunc(bar)))
	bar.Finish()
	return res, err
}
