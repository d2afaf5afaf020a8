// Package tokenizer turns text into the token ids a model reads, producing
// exactly the ids the reference tokenizers (Hugging Face tokenizers,
// transformers' slow Japanese BERT tokenizer, Google's sentencepiece)
// produce.
//
// # Overview
//
// Load reads what a model ships: a tokenizer.json (the Hugging Face
// tokenizers format), a BERT vocab.txt with its tokenizer_config.json, a
// SentencePiece .model, or a model directory holding any of them; LoadFS
// does the same from an fs.FS. The result is a *Pipeline, which
// implements Tokenizer:
//
//	tok, err := tokenizer.Load("models/ruri-v3")
//	enc, err := tok.Encode("東京タワーの高さは？", tokenizer.WithMaxLength(512))
//	// enc.IDs, enc.TypeIDs, enc.AttentionMask, enc.Offsets ...
//
// Encoding runs the stages Hugging Face runs, in its order:
//
//  1. added tokens ([CLS], <mask>, user tokens) are found in the raw
//     text and set aside;
//  2. each remaining segment is normalized (BertNormalizer, NFKC,
//     SentencePiece's Precompiled charsmap, Strip, Replace, ...);
//  3. a pre-tokenizer splits it into words (BertPreTokenizer, Metaspace,
//     ByteLevel, Split, a MeCab WordTokenizer, ...);
//  4. the model turns each word into tokens (WordPiece, Unigram, BPE);
//  5. truncation, then the post-processor's special tokens ([CLS] A
//     [SEP]), then padding.
//
// Every token keeps the byte range of the input it came from (Offsets),
// tracked through every normalization the way Hugging Face's
// NormalizedString does.
//
// # Japanese word splitting
//
// BertJapaneseTokenizer models (tohoku-nlp/bert-base-japanese-v3 and the
// ruri models built on it) split words with MeCab before WordPiece. The
// dictionary is large, so it lives in its own package, which registers
// itself; import it for its side effect:
//
//	import _ "github.com/kotodama-ai/kotodama/tokenizer/ja"
//
// Without it, loading such a model returns ErrNoWordTokenizer.
//
// # Invalid UTF-8
//
// Python gives tokenizers a str, which cannot hold invalid UTF-8, so the
// references define nothing for it. Encode returns ErrInvalidUTF8 with the
// byte offset of the first bad byte rather than guessing; callers that
// want Go's usual U+FFFD replacement can apply strings.ToValidUTF8 first.
//
// # Limits
//
// What this package does not do, or does differently:
//
//   - Overflowing tokens and stride are not produced; truncation drops
//     what does not fit. BPE dropout (a training-time option) is ignored.
//   - Regexes are Oniguruma patterns translated to Go's RE2: \s, \w and
//     \d get Oniguruma's Unicode meaning, and the lookahead `\s+(?!\S)`
//     of GPT-style patterns is emulated; other lookarounds, atomic groups
//     and possessive quantifiers are load errors (ErrUnsupported).
//   - Character classes come from Go's Unicode 15 tables; the Rust crates
//     behind Hugging Face tokenizers use older tables for a few
//     properties, so characters assigned or recategorized recently can
//     classify differently. Python's final-sigma rule in str.lower (used
//     by BertJapaneseTokenizer's lowercasing) is not applied.
//   - A model directory with only a SentencePiece model is supported for
//     DebertaV2Tokenizer, T5Tokenizer and LlamaTokenizer-style classes (and
//     for a bare .model file); XLMRobertaTokenizer's id remapping and
//     AlbertTokenizer's text preprocessing are not implemented, so those
//     classes need their tokenizer.json.
//   - Pair truncation follows truncate_encodings' arithmetic; with
//     RobertaProcessing the Rust crate sometimes splits a budget
//     differently when a cut falls inside a character's byte-level tokens.
//
// # Speed
//
// Text lives in one arena per call, with per-byte alignments beside it;
// splitting is slicing and models write into reused buffers, so the hot
// path allocates only the output Encoding (and the strings of unknown
// pieces). Vocabularies are double-array tries, so WordPiece's longest
// match and Unigram's Viterbi read each byte once per candidate. A
// Pipeline is safe for concurrent use; EncodeBatch spreads a batch over
// GOMAXPROCS goroutines.
package tokenizer
