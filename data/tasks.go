package data

import (
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Retrieval is a retrieval task: queries, a corpus, and which documents
// answer each query.
type Retrieval struct {
	Name    string
	Queries []Query
	Docs    []Doc
}

// DocTexts returns the text of each document, in corpus order, as a
// retriever should index it: the Text alone, or "Title Text" when
// withTitle is set and the document has a title.
func (t *Retrieval) DocTexts(withTitle bool) []string {
	out := make([]string, len(t.Docs))
	for i, d := range t.Docs {
		out[i] = d.Text
		if withTitle && d.Title != "" {
			out[i] = d.Title + " " + d.Text
		}
	}
	return out
}

// QueryTexts returns the text of each query, in order.
func (t *Retrieval) QueryTexts() []string {
	out := make([]string, len(t.Queries))
	for i, q := range t.Queries {
		out[i] = q.Text
	}
	return out
}

// Validate checks that the task has queries and documents and that no two
// documents share an id.
func (t *Retrieval) Validate() error {
	if len(t.Queries) == 0 {
		return fmt.Errorf("task %s: no queries", t.Name)
	}
	if len(t.Docs) == 0 {
		return fmt.Errorf("task %s: no documents", t.Name)
	}
	seen := make(map[string]struct{}, len(t.Docs))
	for _, d := range t.Docs {
		if _, dup := seen[d.ID]; dup {
			return fmt.Errorf("task %s: document id %q appears twice", t.Name, d.ID)
		}
		seen[d.ID] = struct{}{}
	}
	return nil
}

// RetrievalFromQA builds a retrieval task from a question-answering set:
//
//   - the corpus is the set of distinct paragraphs, in order of first
//     appearance; two paragraphs are the same when their article title
//     and context are byte-for-byte equal;
//   - each answerable question is a query whose one relevant document is
//     the paragraph it was asked about (questions marked is_impossible
//     are left out: nothing says their paragraph answers them);
//   - a document's Title is the article title and its Text the paragraph.
//     JSQuAD writes contexts as "title [SEP] paragraph" (SplitTitle);
//     that prefix is moved to Title, so the literal "[SEP]", which a BERT
//     tokenizer reads as its separator token, never reaches a model, and
//     JSQuAD documents look like JaQuAD's, whose contexts carry no title.
//     Retrieval.DocTexts puts the title back in front when asked;
//   - a document's ID is "title#paragraph" (the paragraph's index in its
//     article), with "~2", "~3", ... appended should two different
//     paragraphs get the same one.
func RetrievalFromQA(name string, qas iter.Seq2[QA, error]) (*Retrieval, error) {
	t := &Retrieval{Name: name}
	type key struct{ title, context string }
	docOf := map[key]string{}
	ids := map[string]bool{}
	for qa, err := range qas {
		if err != nil {
			return nil, err
		}
		if qa.Impossible {
			continue
		}
		k := key{qa.Title, qa.Context}
		id, ok := docOf[k]
		if !ok {
			id = fmt.Sprintf("%s#%d", qa.Title, qa.Paragraph)
			for n := 2; ids[id]; n++ {
				id = fmt.Sprintf("%s#%d~%d", qa.Title, qa.Paragraph, n)
			}
			ids[id] = true
			docOf[k] = id
			text, _ := SplitTitle(qa.Context, qa.Title)
			t.Docs = append(t.Docs, Doc{ID: id, Title: qa.Title, Text: text})
		}
		t.Queries = append(t.Queries, Query{ID: qa.ID, Text: qa.Question, Relevant: []string{id}})
	}
	return t, nil
}

// STS is a semantic textual similarity task: sentence pairs with gold
// scores.
type STS struct {
	Name  string
	Pairs []STSPair
}

// TaskInfo describes a task LoadRetrieval or LoadSTS knows by name.
type TaskInfo struct {
	Name string // as passed to LoadRetrieval / LoadSTS; PATH stands for a path
	Kind string // "retrieval" or "sts"
	What string // one line
}

// Tasks lists the task names LoadRetrieval and LoadSTS accept.
func Tasks() []TaskInfo {
	return []TaskInfo{
		{"jsquad-valid", "retrieval", "JGLUE JSQuAD v1.3 valid as retrieval: 4442 questions over 1145 paragraphs"},
		{"jaquad-train", "retrieval", "JaQuAD train as retrieval: 31748 questions over 9713 paragraphs"},
		{"squad:PATH", "retrieval", "any SQuAD-format file, or directory of *.json, as retrieval"},
		{"jmteb:PATH", "retrieval", "JMTEB retrieval: a directory with corpus.jsonl and one query .jsonl, or the query file"},
		{"jsts-valid", "sts", "JGLUE JSTS v1.3 valid: 1457 pairs"},
		{"jsts-train", "sts", "JGLUE JSTS v1.3 train: 12451 pairs"},
		{"jsick-train", "sts", "JSICK train (relatedness_score_Ja; the published split leaves it empty)"},
		{"jsts:PATH", "sts", "a JSTS-format JSON Lines file"},
		{"jsick:PATH", "sts", "a JSICK TSV with relatedness_score_Ja"},
		{"jmteb:PATH", "sts", "JMTEB STS: a directory with one .jsonl, or the file"},
	}
}

// The files the built-in task names read, relative to the datasets root.
const (
	jsquadValid = "jglue/jsquad-v1.3/valid-v1.3.json"
	jaquadTrain = "jaquad/train"
	jstsValid   = "jglue/jsts-v1.3/valid-v1.3.json"
	jstsTrain   = "jglue/jsts-v1.3/train-v1.3.json"
	jsickTrain  = "jsick/train.tsv"
)

// LoadRetrieval builds the retrieval task called name (see Tasks). root
// is the datasets directory for the built-in names (the repository's
// datasets/); PATH in "squad:PATH" and "jmteb:PATH" is a path of its own,
// not under root.
func LoadRetrieval(root, name string) (*Retrieval, error) {
	var t *Retrieval
	var err error
	switch kind, path, _ := strings.Cut(name, ":"); {
	case name == "jsquad-valid":
		t, err = RetrievalFromQA(name, readFile(filepath.Join(root, jsquadValid), SQuAD))
	case name == "jaquad-train":
		t, err = RetrievalFromQA(name, readGlob(filepath.Join(root, jaquadTrain), "*.json", SQuAD))
	case kind == "squad" && path != "":
		t, err = RetrievalFromQA(name, readSQuADPath(path))
	case kind == "jmteb" && path != "":
		t, err = loadJMTEBRetrieval(name, path)
	default:
		return nil, unknownTask(name, "retrieval")
	}
	if err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// LoadSTS builds the STS task called name (see Tasks), resolving the
// built-in names under root as LoadRetrieval does. A file with no gold
// scores (the published JSICK train split) is an error wrapping
// ErrNoScores.
func LoadSTS(root, name string) (*STS, error) {
	var pairs []STSPair
	var err error
	switch kind, path, _ := strings.Cut(name, ":"); {
	case name == "jsts-valid":
		pairs, err = Collect(readFile(filepath.Join(root, jstsValid), JSTS))
	case name == "jsts-train":
		pairs, err = Collect(readFile(filepath.Join(root, jstsTrain), JSTS))
	case name == "jsick-train":
		pairs, err = jsickSTS(filepath.Join(root, jsickTrain))
	case kind == "jsts" && path != "":
		pairs, err = Collect(readFile(path, JSTS))
	case kind == "jsick" && path != "":
		pairs, err = jsickSTS(path)
	case kind == "jmteb" && path != "":
		var file string
		if file, err = jsonlIn(path, ""); err == nil {
			pairs, err = Collect(readFile(file, JSTS))
		}
	default:
		return nil, unknownTask(name, "sts")
	}
	if err != nil {
		return nil, err
	}
	if len(pairs) < 2 {
		return nil, fmt.Errorf("task %s: %d pairs; a correlation needs at least 2", name, len(pairs))
	}
	return &STS{Name: name, Pairs: pairs}, nil
}

func unknownTask(name, kind string) error {
	var known []string
	for _, t := range Tasks() {
		if t.Kind == kind {
			known = append(known, t.Name)
		}
	}
	return fmt.Errorf("%w %q for %s (known: %s)", ErrUnknownTask, name, kind, strings.Join(known, ", "))
}

// jsickSTS reads the pairs of a JSICK TSV that carry a relatedness score.
func jsickSTS(path string) ([]STSPair, error) {
	var pairs []STSPair
	rows := 0
	for p, err := range readFile(path, JSICK) {
		if err != nil {
			return nil, err
		}
		rows++
		if s, ok := p.STS(); ok {
			pairs = append(pairs, s)
		}
	}
	if len(pairs) == 0 {
		return nil, &Error{File: path, Err: fmt.Errorf("%w: none of its %d rows has a %s value (the published JSICK train split leaves the column empty; use a file with scores, such as JSICK's jsick.tsv, as jsick:PATH)", ErrNoScores, rows, jsickRelatedness)}
	}
	return pairs, nil
}

// loadJMTEBRetrieval reads a JMTEB retrieval directory, or a query file
// with corpus.jsonl beside it.
func loadJMTEBRetrieval(name, path string) (*Retrieval, error) {
	dir, queries := path, ""
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if !st.IsDir() {
		dir, queries = filepath.Dir(path), path
	}
	if queries == "" {
		var err error
		if queries, err = jsonlIn(dir, "corpus.jsonl"); err != nil {
			return nil, err
		}
	}
	t := &Retrieval{Name: name}
	var err error
	if t.Docs, err = Collect(readFile(filepath.Join(dir, "corpus.jsonl"), JMTEBCorpus)); err != nil {
		return nil, err
	}
	if t.Queries, err = Collect(readFile(queries, JMTEBQueries)); err != nil {
		return nil, err
	}
	return t, nil
}

// jsonlIn returns path itself when it is a file, else the one .jsonl file
// in the directory path other than except.
func jsonlIn(path, except string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return path, nil
	}
	all, err := filepath.Glob(filepath.Join(path, "*.jsonl"))
	if err != nil {
		return "", err
	}
	all = slices.DeleteFunc(all, func(p string) bool { return filepath.Base(p) == except })
	if len(all) != 1 {
		return "", fmt.Errorf("%s: want exactly one query .jsonl file, found %d (%s); name the file instead of the directory", path, len(all), strings.Join(all, ", "))
	}
	return all[0], nil
}

// readSQuADPath reads a SQuAD file, or every *.json file of a directory.
func readSQuADPath(path string) iter.Seq2[QA, error] {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return readGlob(path, "*.json", SQuAD)
	}
	return readFile(path, SQuAD)
}

// readFile streams the records of the file at path (an OS path, named in
// full in errors).
func readFile[T any](path string, read Reader[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		f, err := os.Open(path)
		if err != nil {
			var zero T
			yield(zero, err)
			return
		}
		defer f.Close()
		for v, err := range read(f, path) {
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// readGlob streams the records of the files in dir matching pattern, in
// lexical order; no match is an error.
func readGlob[T any](dir, pattern string, read Reader[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		names, err := filepath.Glob(filepath.Join(dir, pattern))
		if err == nil && len(names) == 0 {
			err = fmt.Errorf("%s: no file matches %s", dir, pattern)
		}
		if err != nil {
			var zero T
			yield(zero, err)
			return
		}
		slices.Sort(names)
		for _, name := range names {
			for v, err := range readFile(name, read) {
				if !yield(v, err) || err != nil {
					return
				}
			}
		}
	}
}
