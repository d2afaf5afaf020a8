package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"unicode/utf8"
)

// readTexts yields the texts of r, one per line. The format is decided by
// the first line: if it is a JSON object with a string "text" field, every
// line must be such an object (JSONL); otherwise each line is taken as is
// (a trailing "\r" dropped). Lines may be of any length. Invalid UTF-8 in
// a plain line is an error naming the line.
func readTexts(r io.Reader) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		br := bufio.NewReaderSize(r, 1<<16)
		jsonl := false
		for lineNo := 1; ; lineNo++ {
			line, err := br.ReadBytes('\n')
			if len(line) == 0 && err != nil {
				if err != io.EOF {
					yield("", fmt.Errorf("reading input: %w", err))
				}
				return
			}
			line = bytes.TrimSuffix(line, []byte("\n"))
			line = bytes.TrimSuffix(line, []byte("\r"))
			if lineNo == 1 {
				_, ok := jsonText(line)
				jsonl = ok
			}
			var text string
			if jsonl {
				t, ok := jsonText(line)
				if !ok {
					yield("", fmt.Errorf("input line %d: not a JSON object with a string \"text\" field", lineNo))
					return
				}
				text = t
			} else {
				if !utf8.Valid(line) {
					yield("", fmt.Errorf("input line %d: invalid UTF-8", lineNo))
					return
				}
				text = string(line)
			}
			if !yield(text, nil) {
				return
			}
			if err != nil {
				return
			}
		}
	}
}

// jsonText returns obj["text"] when line is a JSON object holding a string
// text field.
func jsonText(line []byte) (string, bool) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return "", false
	}
	var v struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(line, &v); err != nil || v.Text == nil {
		return "", false
	}
	return *v.Text, true
}
