package data

import (
	"io"
	"io/fs"
	"iter"
	"sort"
)

// Reader is the shape every reader of this package has: it streams the
// records of r, naming name in errors. JSTS, JNLI, SQuAD, JSICK,
// JMTEBQueries and JMTEBCorpus are Readers.
type Reader[T any] func(r io.Reader, name string) iter.Seq2[T, error]

// Open streams the records of the file name in fsys through read,
// closing the file when the iteration ends, early or not.
func Open[T any](fsys fs.FS, name string, read Reader[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		f, err := fsys.Open(name)
		if err != nil {
			var zero T
			yield(zero, &Error{File: name, Err: err})
			return
		}
		defer f.Close()
		for v, err := range read(f, name) {
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// Glob streams the records of every file in fsys that matches pattern
// (fs.Glob syntax), in lexical order of the names. A pattern that matches
// nothing is an error naming it.
func Glob[T any](fsys fs.FS, pattern string, read Reader[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		names, err := fs.Glob(fsys, pattern)
		if err != nil {
			yield(zero, &Error{File: pattern, Err: err})
			return
		}
		sort.Strings(names)
		if len(names) == 0 {
			yield(zero, &Error{File: pattern, Err: fs.ErrNotExist})
			return
		}
		for _, name := range names {
			for v, err := range Open(fsys, name, read) {
				if !yield(v, err) || err != nil {
					return
				}
			}
		}
	}
}

// Collect gathers every record of seq, stopping at the first error.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}
