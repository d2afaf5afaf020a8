package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
)

// QA is one question of a SQuAD-format question-answering set (JGLUE
// JSQuAD, JaQuAD) with the paragraph it was asked about.
type QA struct {
	ID         string   // the question's id
	Title      string   // title of the article the paragraph belongs to
	Context    string   // the paragraph exactly as in the file; Answer.Start indexes it
	Question   string   //
	Answers    []Answer // gold answers (several annotators' in JSQuAD); none when Impossible
	Impossible bool     // SQuAD 2.0's is_impossible
	Article    int      // index of the article in its file
	Paragraph  int      // index of the paragraph in its article
}

// Answer is one gold answer span.
type Answer struct {
	Text string
	// Start is answer_start: where Text begins in QA.Context, counted in
	// characters (Unicode code points, as Python indexes strings), not
	// bytes.
	Start int
}

// SQuAD reads one SQuAD-format JSON document, {"data": [{"title",
// "paragraphs": [{"context", "qas": [{"id", "question", "answers":
// [{"text", "answer_start"}], "is_impossible"}]}]}]}, yielding one QA per
// question in file order. It decodes one article at a time, so memory
// stays at one article however large the file. Other top-level keys
// ("version") are skipped; name appears in errors.
func SQuAD(r io.Reader, name string) iter.Seq2[QA, error] {
	return func(yield func(QA, error) bool) {
		tr := newTrackReader(r)
		dec := json.NewDecoder(tr)
		fail := func(err error, at int64) { yield(QA{}, tr.jsonErr(name, err, at)) }
		expect := func(want json.Delim, what string) bool {
			at := dec.InputOffset()
			tok, err := dec.Token()
			if err != nil {
				fail(err, at)
				return false
			}
			if d, ok := tok.(json.Delim); !ok || d != want {
				yield(QA{}, formatErr(name, tr.line(at), "want %s, found %v", what, tok))
				return false
			}
			return true
		}
		if !expect('{', "a SQuAD JSON object") {
			return
		}
		sawData := false
		for dec.More() {
			at := dec.InputOffset()
			tok, err := dec.Token()
			if err != nil {
				fail(err, at)
				return
			}
			if key, _ := tok.(string); key != "data" {
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					fail(err, at)
					return
				}
				continue
			}
			sawData = true
			if !expect('[', `a "data" array`) {
				return
			}
			for article := 0; dec.More(); article++ {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					fail(err, dec.InputOffset())
					return
				}
				start := dec.InputOffset() - int64(len(raw))
				tr.forget(start)
				if !yieldArticle(yield, raw, name, tr.line(start), article, func(off int64) int { return tr.line(start + off) }) {
					return
				}
			}
			if !expect(']', `the end of the "data" array`) {
				return
			}
		}
		if !expect('}', "the end of the SQuAD object") {
			return
		}
		if !sawData {
			yield(QA{}, formatErr(name, 1, `no "data" array`))
			return
		}
		at := dec.InputOffset()
		if _, err := dec.Token(); err != io.EOF {
			if err != nil {
				fail(err, at)
				return
			}
			// The offset is just past the token, so its last byte is on the
			// line where the extra data starts.
			yield(QA{}, formatErr(name, tr.line(dec.InputOffset()-1), "data after the SQuAD object"))
		}
	}
}

type squadArticle struct {
	Title      *string `json:"title"`
	Paragraphs *[]struct {
		Context *string `json:"context"`
		QAs     *[]struct {
			ID       json.RawMessage `json:"id"`
			Question *string         `json:"question"`
			Answers  []struct {
				Text  *string `json:"text"`
				Start *int    `json:"answer_start"`
			} `json:"answers"`
			Impossible bool `json:"is_impossible"`
		} `json:"qas"`
	} `json:"paragraphs"`
}

// yieldArticle decodes one article and yields its questions; line is the
// article's first line and lineAt maps an offset in raw to a line.
func yieldArticle(yield func(QA, error) bool, raw []byte, name string, line, article int, lineAt func(int64) int) bool {
	var a squadArticle
	if err := json.Unmarshal(raw, &a); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			yield(QA{}, formatErr(name, lineAt(max(te.Offset-1, 0)), "article %d: field %q: JSON %s where a %s belongs", article, te.Field, te.Value, te.Type))
		} else {
			yield(QA{}, formatErr(name, line, "article %d: %v", article, err))
		}
		return false
	}
	bad := func(format string, args ...any) bool {
		yield(QA{}, formatErr(name, line, format, args...))
		return false
	}
	if a.Title == nil {
		return bad(`article %d: no string "title"`, article)
	}
	if a.Paragraphs == nil {
		return bad(`article %d (%s): no "paragraphs" array`, article, *a.Title)
	}
	for pi, p := range *a.Paragraphs {
		if p.Context == nil {
			return bad(`article %d (%s) paragraph %d: no string "context"`, article, *a.Title, pi)
		}
		if p.QAs == nil {
			return bad(`article %d (%s) paragraph %d: no "qas" array`, article, *a.Title, pi)
		}
		for qi, q := range *p.QAs {
			where := func() string {
				return fmt.Sprintf("article %d (%s) paragraph %d question %d", article, *a.Title, pi, qi)
			}
			id, ok := idString(q.ID)
			if !ok {
				return bad(`%s: "id" is not a string or number`, where())
			}
			if q.Question == nil {
				return bad(`%s: no string "question"`, where())
			}
			answers := make([]Answer, len(q.Answers))
			for i, an := range q.Answers {
				if an.Text == nil || an.Start == nil {
					return bad(`%s answer %d: want "text" and "answer_start"`, where(), i)
				}
				answers[i] = Answer{Text: *an.Text, Start: *an.Start}
			}
			qa := QA{
				ID: id, Title: *a.Title, Context: *p.Context, Question: *q.Question,
				Answers: answers, Impossible: q.Impossible, Article: article, Paragraph: pi,
			}
			if !yield(qa, nil) {
				return false
			}
		}
	}
	return true
}

// SplitTitle splits a JGLUE JSQuAD context, which JGLUE writes as
// "title [SEP] paragraph", into the title and the paragraph. It returns
// the context unchanged and ok false when the context does not start
// with title followed by " [SEP] " (JaQuAD contexts, for one, carry no
// title).
func SplitTitle(context, title string) (paragraph string, ok bool) {
	prefix := title + " [SEP] "
	if title != "" && strings.HasPrefix(context, prefix) {
		return context[len(prefix):], true
	}
	return context, false
}
