package data

import (
	"errors"
	"fmt"
)

// ErrFormat is wrapped by every error about a malformed record: bad JSON,
// a missing or mistyped field, invalid UTF-8, an unknown label.
var ErrFormat = errors.New("malformed record")

// ErrUnknownTask is returned by LoadRetrieval and LoadSTS for a task name
// they do not know.
var ErrUnknownTask = errors.New("unknown task")

// ErrNoScores is returned when an STS task is asked of a file that holds
// no similarity scores (the JSICK train split, for one, ships without its
// relatedness scores).
var ErrNoScores = errors.New("no similarity scores")

// Error locates a problem in a dataset file.
type Error struct {
	File string // the name the caller gave the reader
	Line int    // 1-based line of the record; 0 when not known
	Err  error
}

// Error formats e as file:line: cause (file: cause without a line).
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// formatErr builds the *Error for a malformed record.
func formatErr(file string, line int, format string, args ...any) error {
	return &Error{File: file, Line: line, Err: fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))}
}
