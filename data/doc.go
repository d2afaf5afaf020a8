// Package data reads the Japanese datasets Kotodama trains and evaluates
// on, and turns them into evaluation tasks.
//
// # Overview
//
// Every reader streams: it takes an io.Reader and the name to use in
// errors, and returns an iterator of typed records
// (iter.Seq2[Record, error]) that reads only as far as the caller ranges.
// A malformed record ends the iteration with an *Error naming the file
// and line, wrapping ErrFormat:
//
//	for p, err := range data.JSTS(f, "valid-v1.3.json") {
//		if err != nil {
//			return err // valid-v1.3.json:17: malformed record: "label" is not a number
//		}
//		use(p.Sentence1, p.Sentence2, p.Score)
//	}
//
// Open and Glob run a reader over files of an fs.FS (os.DirFS for a
// directory on disk), closing each file when the iteration ends.
//
// The readers and the formats they accept:
//
//   - JSTS: JGLUE JSTS, JSON Lines with sentence1, sentence2 and a 0–5
//     label (also JMTEB's STS files, which share the format).
//   - JNLI: JGLUE JNLI, JSON Lines with sentence1 (premise), sentence2
//     (hypothesis) and label entailment / neutral / contradiction.
//   - SQuAD: one SQuAD-format JSON document ({"data":[{"title",
//     "paragraphs":[{"context","qas":[...]}]}]}), as JGLUE JSQuAD and
//     JaQuAD write it; one record per question, streamed article by
//     article.
//   - JSICK: the JSICK TSV, columns found by their header names.
//   - JMTEBQueries and JMTEBCorpus: JMTEB's retrieval JSON Lines.
//
// # Tasks
//
// Retrieval and STS are the evaluation tasks built from these records;
// LoadRetrieval and LoadSTS build them by name (jsquad-valid,
// jaquad-train, jmteb:DIR, jsts-valid, jsick-train, ...) from the datasets
// directory the repository ships (datasets/, see its README for sources
// and licenses). RetrievalFromQA documents how a question-answering set
// becomes a retrieval task.
package data
