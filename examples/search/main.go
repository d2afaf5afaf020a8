// Command search is semantic search over a bundled Japanese corpus: the
// 1,145 Wikipedia paragraphs of JSQuAD's validation split (datasets/ in
// this repository). It encodes the paragraphs with an embedding model,
// puts the vectors in an exact cosine index, and answers the questions
// JSQuAD asks about those paragraphs, reporting how often the paragraph a
// question was written about comes first.
//
//	go run ./examples/search                        # bundled model, bundled questions
//	go run ./examples/search -model DIR 梅雨とは何か   # your model, your question
//
// The default model (kotodama-tiny-ja/ beside this file) is a tiny BERT — 3 layers,
// 48 dimensions — that Kotodama trained from random weights in minutes on
// two CPU cores (examples/train/README.md has the recipe); it runs in
// seconds and ranks well above chance, though far below BM25 or a real
// model. Pass -model a sentence-transformers directory, or an "org/name"
// already in your Hugging Face cache such as cl-nagoya/ruri-v3-30m, for
// serious results.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kotodama-ai/kotodama/data"
	"github.com/kotodama-ai/kotodama/embed"
	"github.com/kotodama-ai/kotodama/index"
	_ "github.com/kotodama-ai/kotodama/tokenizer/ja" // MeCab word splitting for bert-base-japanese models
)

func main() {
	root := filepath.Join(sourceDir(), "..", "..")
	model := flag.String("model", filepath.Join(sourceDir(), "kotodama-tiny-ja"), "embedding model `directory`, or org/name in the Hugging Face cache")
	datasets := flag.String("datasets", filepath.Join(root, "datasets"), "the repository's datasets `directory`")
	k := flag.Int("k", 3, "results per question")
	show := flag.Int("show", 3, "bundled questions to print (all of them are scored)")
	maxQueries := flag.Int("queries", 500, "bundled questions to score (0: all 4,442)")
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()

	start := time.Now()
	m, err := embed.Load(*model)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fmt.Printf("model %s: %d dimensions, up to %d tokens (loaded in %v)\n", filepath.Base(*model), m.Dim(), m.MaxSeqLength(), since(start))

	task, err := data.LoadRetrieval(*datasets, "jsquad-valid")
	if err != nil {
		log.Fatal(err)
	}
	// Models trained with prompts (ruri, e5, ...) name them "query" and
	// "document"; use them when the model has them.
	prompts, _ := m.Prompts()
	promptFor := func(name string) []embed.EncodeOption {
		if _, ok := prompts[name]; ok {
			return []embed.EncodeOption{embed.WithPromptName(name)}
		}
		return nil
	}

	start = time.Now()
	docVecs, err := m.Encode(ctx, task.DocTexts(true), promptFor("document")...)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("encoded %d paragraphs in %v\n\n", len(docVecs), since(start))
	ix, err := index.New(m.Dim(), index.Cosine)
	if err != nil {
		log.Fatal(err)
	}
	ids := make([]string, len(task.Docs))
	text := map[string]data.Doc{}
	for i, d := range task.Docs {
		ids[i] = d.ID
		text[d.ID] = d
		if err := ix.Add(docVecs[i], ids[i:i+1]); err != nil {
			log.Fatal(err)
		}
	}

	queries := task.Queries
	if flag.NArg() > 0 {
		queries = []data.Query{{Text: strings.Join(flag.Args(), " ")}}
	} else if *maxQueries > 0 && len(queries) > *maxQueries {
		queries = queries[:*maxQueries]
	}
	qtexts := make([]string, len(queries))
	for i, q := range queries {
		qtexts[i] = q.Text
	}
	qVecs, err := m.Encode(ctx, qtexts, promptFor("query")...)
	if err != nil {
		log.Fatal(err)
	}
	flat := make([]float32, 0, len(qVecs)*m.Dim())
	for _, v := range qVecs {
		flat = append(flat, v...)
	}
	results, err := ix.SearchBatch(ctx, flat, *k)
	if err != nil {
		log.Fatal(err)
	}
	hits := 0
	for i, q := range queries {
		relevant := map[string]bool{}
		for _, id := range q.Relevant {
			relevant[id] = true
		}
		if len(results[i]) > 0 && relevant[results[i][0].ID] {
			hits++
		}
		if i >= *show && flag.NArg() == 0 {
			continue
		}
		fmt.Printf("Q: %s\n", q.Text)
		for _, h := range results[i] {
			mark := " "
			if relevant[h.ID] {
				mark = "✓"
			}
			d := text[h.ID]
			fmt.Printf("  %s %.3f  %s: %s\n", mark, h.Score, d.Title, snippet(d.Text, 40))
		}
		fmt.Println()
	}
	if flag.NArg() == 0 {
		fmt.Printf("top-1 accuracy over %d questions: %.1f%% (chance: %.1f%%)\n",
			len(queries), 100*float64(hits)/float64(len(queries)), 100/float64(len(task.Docs)))
	}
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

func snippet(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// sourceDir is the directory of this file, so the bundled model and data
// are found from any working directory.
func sourceDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Dir(file)
}
