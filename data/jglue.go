package data

import (
	"encoding/json"
	"io"
	"iter"
)

// STSPair is one sentence pair with a gold similarity score.
type STSPair struct {
	ID        string  // the pair's id in its file ("" when it has none)
	Sentence1 string  //
	Sentence2 string  //
	Score     float64 // gold similarity (JSTS and JSICK: 0 to 5)
}

// NLILabel is a natural language inference label.
type NLILabel int

// The NLI labels, as JNLI and JSICK write them.
const (
	Entailment NLILabel = iota
	Neutral
	Contradiction
)

var nliNames = [...]string{"entailment", "neutral", "contradiction"}

// String is the label's name in JGLUE's files: "entailment", "neutral"
// or "contradiction".
func (l NLILabel) String() string {
	if l >= 0 && int(l) < len(nliNames) {
		return nliNames[l]
	}
	return "NLILabel(?)"
}

// ParseNLILabel parses "entailment", "neutral" or "contradiction".
func ParseNLILabel(s string) (NLILabel, bool) {
	for i, n := range nliNames {
		if s == n {
			return NLILabel(i), true
		}
	}
	return 0, false
}

// NLIPair is one premise–hypothesis pair with its inference label.
type NLIPair struct {
	ID         string
	Premise    string
	Hypothesis string
	Label      NLILabel
}

// JSTS reads JGLUE JSTS (and JMTEB's STS files, which share its format):
// JSON Lines of {"sentence_pair_id", "sentence1", "sentence2", "label"},
// label a number. name appears in errors.
func JSTS(r io.Reader, name string) iter.Seq2[STSPair, error] {
	return jsonLines(r, name, parseSTS)
}

func parseSTS(line []byte) (STSPair, error) {
	var v struct {
		ID    json.RawMessage `json:"sentence_pair_id"`
		S1    *string         `json:"sentence1"`
		S2    *string         `json:"sentence2"`
		Label *float64        `json:"label"`
	}
	if err := decodeObject(line, &v); err != nil {
		return STSPair{}, err
	}
	id, ok := idString(v.ID)
	switch {
	case !ok:
		return STSPair{}, malformed(`"sentence_pair_id" is not a string or number`)
	case v.S1 == nil:
		return STSPair{}, malformed(`no string "sentence1"`)
	case v.S2 == nil:
		return STSPair{}, malformed(`no string "sentence2"`)
	case v.Label == nil:
		return STSPair{}, malformed(`no number "label"`)
	}
	return STSPair{ID: id, Sentence1: *v.S1, Sentence2: *v.S2, Score: *v.Label}, nil
}

// JNLI reads JGLUE JNLI: JSON Lines of {"sentence_pair_id", "sentence1",
// "sentence2", "label"}, sentence1 the premise, sentence2 the hypothesis
// and label one of entailment, neutral, contradiction.
func JNLI(r io.Reader, name string) iter.Seq2[NLIPair, error] {
	return jsonLines(r, name, parseNLI)
}

func parseNLI(line []byte) (NLIPair, error) {
	var v struct {
		ID    json.RawMessage `json:"sentence_pair_id"`
		S1    *string         `json:"sentence1"`
		S2    *string         `json:"sentence2"`
		Label *string         `json:"label"`
	}
	if err := decodeObject(line, &v); err != nil {
		return NLIPair{}, err
	}
	id, ok := idString(v.ID)
	switch {
	case !ok:
		return NLIPair{}, malformed(`"sentence_pair_id" is not a string or number`)
	case v.S1 == nil:
		return NLIPair{}, malformed(`no string "sentence1"`)
	case v.S2 == nil:
		return NLIPair{}, malformed(`no string "sentence2"`)
	case v.Label == nil:
		return NLIPair{}, malformed(`no string "label"`)
	}
	label, ok := ParseNLILabel(*v.Label)
	if !ok {
		return NLIPair{}, malformed("label %q is not entailment, neutral or contradiction", *v.Label)
	}
	return NLIPair{ID: id, Premise: *v.S1, Hypothesis: *v.S2, Label: label}, nil
}
