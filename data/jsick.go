package data

import (
	"bufio"
	"bytes"
	"io"
	"iter"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSICKPair is one row of JSICK, the Japanese SICK: a sentence pair with
// an inference label and, where the file has it, a relatedness score.
type JSICKPair struct {
	ID        string   // pair_ID
	SentenceA string   // sentence_A_Ja
	SentenceB string   // sentence_B_Ja
	Label     NLILabel // entailment_label_Ja
	// Relatedness is relatedness_score_Ja (1 to 5), valid only when
	// HasRelatedness: the published train split leaves the column empty.
	Relatedness    float64
	HasRelatedness bool
}

// NLI returns the pair as premise (A), hypothesis (B) and label.
func (p JSICKPair) NLI() NLIPair {
	return NLIPair{ID: p.ID, Premise: p.SentenceA, Hypothesis: p.SentenceB, Label: p.Label}
}

// STS returns the pair with its relatedness as the gold score; ok is
// false when the row has no relatedness score.
func (p JSICKPair) STS() (pair STSPair, ok bool) {
	return STSPair{ID: p.ID, Sentence1: p.SentenceA, Sentence2: p.SentenceB, Score: p.Relatedness}, p.HasRelatedness
}

// The JSICK columns the reader uses; relatedness may be absent.
const (
	jsickID          = "pair_ID"
	jsickA           = "sentence_A_Ja"
	jsickB           = "sentence_B_Ja"
	jsickLabel       = "entailment_label_Ja"
	jsickRelatedness = "relatedness_score_Ja"
)

// JSICK reads the JSICK TSV (verypluming/JSICK jsick/*.tsv): a header row
// naming the columns, then one pair per row, fields separated by tabs
// with no quoting. Columns are found by name, so the English and
// annotation columns may be there or not. name appears in errors.
func JSICK(r io.Reader, name string) iter.Seq2[JSICKPair, error] {
	return func(yield func(JSICKPair, error) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		col := map[string]int{}
		ncols := 0
		for lineNo := 1; ; lineNo++ {
			line, err := br.ReadBytes('\n')
			line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
			if len(line) > 0 || (lineNo == 1 && err == io.EOF) {
				if !utf8.Valid(line) {
					yield(JSICKPair{}, formatErr(name, lineNo, "invalid UTF-8"))
					return
				}
				fields := strings.Split(string(line), "\t")
				if lineNo == 1 {
					ncols = len(fields)
					for i, f := range fields {
						col[strings.TrimSpace(f)] = i
					}
					for _, need := range []string{jsickID, jsickA, jsickB, jsickLabel} {
						if _, ok := col[need]; !ok {
							yield(JSICKPair{}, formatErr(name, lineNo, "header has no %q column", need))
							return
						}
					}
				} else {
					p, perr := parseJSICK(fields, ncols, col)
					if perr != nil {
						yield(JSICKPair{}, &Error{File: name, Line: lineNo, Err: perr})
						return
					}
					if !yield(p, nil) {
						return
					}
				}
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(JSICKPair{}, &Error{File: name, Line: lineNo, Err: err})
				return
			}
		}
	}
}

func parseJSICK(fields []string, ncols int, col map[string]int) (JSICKPair, error) {
	if len(fields) != ncols {
		return JSICKPair{}, malformed("%d tab-separated fields, the header has %d", len(fields), ncols)
	}
	p := JSICKPair{ID: fields[col[jsickID]], SentenceA: fields[col[jsickA]], SentenceB: fields[col[jsickB]]}
	label, ok := ParseNLILabel(strings.TrimSpace(fields[col[jsickLabel]]))
	if !ok {
		return JSICKPair{}, malformed("%s %q is not entailment, neutral or contradiction", jsickLabel, fields[col[jsickLabel]])
	}
	p.Label = label
	if i, ok := col[jsickRelatedness]; ok {
		if s := strings.TrimSpace(fields[i]); s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return JSICKPair{}, malformed("%s %q is not a number", jsickRelatedness, s)
			}
			p.Relatedness, p.HasRelatedness = v, true
		}
	}
	return p, nil
}
