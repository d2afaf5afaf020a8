package data

import (
	"bytes"
	"errors"
	"io"
	"iter"
	"testing"
)

// checkReader runs a reader over input and checks the contract: no
// panic, and every error is a *data.Error naming the file.
func checkReader[T any](t *testing.T, read func(io.Reader, string) iter.Seq2[T, error], input []byte) {
	n := 0
	for _, err := range read(bytes.NewReader(input), "fuzz.in") {
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.File != "fuzz.in" {
				t.Fatalf("error %v (%T) is not a *data.Error naming the file", err, err)
			}
			return
		}
		n++
	}
	if n > bytes.Count(input, []byte("\n"))+1 && len(input) > 0 && input[0] != '{' {
		t.Fatalf("%d records from %d lines", n, bytes.Count(input, []byte("\n"))+1)
	}
}

func FuzzJSTS(f *testing.F) {
	f.Add([]byte(`{"sentence_pair_id": "0", "sentence1": "犬", "sentence2": "猫", "label": 1.5}` + "\n"))
	f.Add([]byte("{\"sentence1\":\"a\"}\r\n\n{\"label\":1}"))
	f.Fuzz(func(t *testing.T, in []byte) { checkReader(t, JSTS, in) })
}

func FuzzJNLI(f *testing.F) {
	f.Add([]byte(`{"sentence_pair_id": "1", "sentence1": "犬が走る", "sentence2": "動物が走る", "label": "entailment"}`))
	f.Fuzz(func(t *testing.T, in []byte) { checkReader(t, JNLI, in) })
}

func FuzzSQuAD(f *testing.F) {
	f.Add([]byte(`{"version":"v","data":[{"title":"梅雨","paragraphs":[{"context":"梅雨 [SEP] 雨季","qas":[{"id":"q","question":"何?","answers":[{"text":"雨季","answer_start":8}],"is_impossible":false}]}]}]}`))
	f.Add([]byte("{\n\t\"data\": [\n\t\t{\"title\": \"t\", \"paragraphs\": []}\n\t]\n}\n"))
	f.Fuzz(func(t *testing.T, in []byte) { checkReader(t, SQuAD, in) })
}

func FuzzJSICK(f *testing.F) {
	f.Add([]byte("pair_ID\tsentence_A_Ja\tsentence_B_Ja\tentailment_label_Ja\trelatedness_score_Ja\n1\t犬\t猫\tneutral\t3.1\n2\ta\tb\tcontradiction\t\n"))
	f.Fuzz(func(t *testing.T, in []byte) { checkReader(t, JSICK, in) })
}

func FuzzJMTEB(f *testing.F) {
	f.Add([]byte(`{"qid": "0", "question": "いつ", "answer": ["2681119#1"]}`), []byte(`{"docid": "2681119#1", "title": "t", "text": "本文"}`))
	f.Add([]byte(`{"query":"q","relevant_docs":3}`), []byte(`{"docid":3,"text":"x"}`))
	f.Fuzz(func(t *testing.T, queries, corpus []byte) {
		checkReader(t, JMTEBQueries, queries)
		checkReader(t, JMTEBCorpus, corpus)
	})
}
