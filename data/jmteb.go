package data

import (
	"encoding/json"
	"io"
	"iter"
	"strings"
	"unicode"
)

// Query is one retrieval query and the documents that answer it.
type Query struct {
	ID   string
	Text string
	// Relevant lists the ids of the relevant documents as the dataset
	// gives them; JMTEB's nDCG counts every entry in its ideal DCG, so
	// they are kept as listed.
	Relevant []string
}

// Doc is one document of a retrieval corpus.
type Doc struct {
	ID    string
	Title string // "" when the corpus has none
	Text  string
}

// JMTEBQueries reads JMTEB's retrieval queries: JSON Lines with the query
// text under "query" (JMTEB's datasets) or "question" (its test
// fixtures), the relevant document ids under "relevant_docs" or "answer"
// (one id or a list; strings or numbers), and an optional "qid".
func JMTEBQueries(r io.Reader, name string) iter.Seq2[Query, error] {
	return jsonLines(r, name, parseJMTEBQuery)
}

func parseJMTEBQuery(line []byte) (Query, error) {
	var v struct {
		QID      json.RawMessage `json:"qid"`
		Query    *string         `json:"query"`
		Question *string         `json:"question"`
		RelDocs  json.RawMessage `json:"relevant_docs"`
		Answer   json.RawMessage `json:"answer"`
	}
	if err := decodeObject(line, &v); err != nil {
		return Query{}, err
	}
	id, ok := idString(v.QID)
	if !ok {
		return Query{}, malformed(`"qid" is not a string or number`)
	}
	text := v.Query
	if text == nil {
		text = v.Question
	}
	if text == nil {
		return Query{}, malformed(`no string "query" or "question"`)
	}
	key, raw := "relevant_docs", v.RelDocs
	if raw == nil {
		key, raw = "answer", v.Answer
	}
	if raw == nil {
		return Query{}, malformed(`no "relevant_docs" or "answer"`)
	}
	rel, ok := idList(raw)
	if !ok {
		return Query{}, malformed("%q is not a document id or a list of them", key)
	}
	return Query{ID: id, Text: *text, Relevant: rel}, nil
}

// JMTEBCorpus reads JMTEB's retrieval corpus: JSON Lines of {"docid",
// "text"} with an optional "title". As JMTEB's JsonlRetrievalDocDataset
// does, the text is stripped of leading and trailing white space
// (Python's str.strip()).
func JMTEBCorpus(r io.Reader, name string) iter.Seq2[Doc, error] {
	return jsonLines(r, name, parseJMTEBDoc)
}

func parseJMTEBDoc(line []byte) (Doc, error) {
	var v struct {
		ID    json.RawMessage `json:"docid"`
		Title *string         `json:"title"`
		Text  *string         `json:"text"`
	}
	if err := decodeObject(line, &v); err != nil {
		return Doc{}, err
	}
	id, ok := idString(v.ID)
	if !ok || v.ID == nil || string(v.ID) == "null" {
		return Doc{}, malformed(`no string or number "docid"`)
	}
	if v.Text == nil {
		return Doc{}, malformed(`no string "text"`)
	}
	d := Doc{ID: id, Text: pyStrip(*v.Text)}
	if v.Title != nil {
		d.Title = *v.Title
	}
	return d, nil
}

// pyStrip is Python's str.strip(): it trims what str.isspace() calls
// space, which is unicode.IsSpace plus the separators U+001C..U+001F.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}
