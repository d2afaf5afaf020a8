// Package ja splits Japanese text into words exactly as MeCab does with
// the unidic-lite dictionary: the word splitting of transformers'
// BertJapaneseTokenizer for tohoku-nlp/bert-base-japanese-v3 and the
// models built on it (ruri v1/v2, among others).
//
// # Overview
//
// BertJapaneseTokenizer with word_tokenizer_type "mecab" normalizes text
// with NFKC, splits it into words with MeCab (fugashi) and the
// unidic-lite dictionary, and runs WordPiece on each word. Package
// tokenizer does the normalization, the special tokens and WordPiece; it
// asks for the word splitter by name, and this package registers it
// ("mecab") when imported, so a program that loads such a model enables
// it with a blank import:
//
//	import (
//		"github.com/kotodama-ai/kotodama/tokenizer"
//		_ "github.com/kotodama-ai/kotodama/tokenizer/ja"
//	)
//
// The dictionary is 45 MB of embedded data, which is why it lives in its
// own package: programs that do not import it do not carry it (a
// program importing it is about 50 MB). It is loaded on first use: about
// a second, 120 MB of memory held afterwards (about 360 MB at the peak
// of loading), shared by every MeCab in the process. NewMeCab gives direct access: Split
// returns MeCab's words, AppendWords the byte ranges WordPiece receives.
// Only mecab_dic "unidic_lite" is supported; other MeCab dictionaries or
// mecab_option in tokenizer_config.json are refused with ErrUnsupported.
//
// # How it matches MeCab
//
// The dictionary is UniDic 2.1.2 (unidic-mecab-2.1.2, © the UniDic
// Consortium, BSD-3-Clause) as packaged by github.com/ikawaha/kagome-dict/uni
// (MIT), which adds the 令和 era entry. unidic-lite is the same UniDic
// 2.1.2 with 令和 added, every single-character numeric and alphabetic
// word removed (so "fish" and "2023" are not split into characters) and
// unknown symbols no longer tagged as nouns; this package drops those
// entries at lookup time.
//
// The analyzer is a reimplementation of MeCab 0.996's Viterbi search, not
// kagome's: kagome's lattice keeps whitespace as words and builds unknown
// words differently, and agrees with MeCab on 99.2% of the sentences
// below even with the same dictionary (83.6% against unidic-lite's
// splits). Reproduced from MeCab: whitespace (char.def's SPACE: space,
// tab, newline, vertical tab) is skipped before each word and belongs to
// none; unknown words follow char.def's INVOKE, GROUP and LENGTH with
// MeCab's 24-character grouping limit and its kind-of chaining; code
// points above U+FFFF read as U+0000 (DEFAULT); malformed UTF-8 is read
// by the lead byte alone; equal-cost paths are broken in MeCab's order.
//
// Measured agreement: the dictionary exported as MeCab source and built
// with mecab-dict-index, MeCab 0.996 (Debian) and this package split
// identically all 98,675 distinct texts of JSTS, JNLI, JCommonsenseQA,
// JSQuAD, JaQuAD and JSICK (NFKC-normalized) and 35 edge cases: 17 MB,
// 3,642,582 words, not one different. Against Debian's UniDic 3.1.1 (a different dictionary) 81%
// of the texts split identically (word precision 97.8%, recall 95.3%):
// UniDic 3 splits digit strings into digits and has entries such as 2人.
// testdata/mecab/README.md has the commands; testdata/mecab/split holds
// MeCab's splits of a sample, which the tests check.
//
// # Known differences
//
// There is no fugashi + unidic-lite reference here, so these stay
// unverified or differ on purpose:
//
//   - unidic-lite's unk.def change is taken to touch only the part of
//     speech of unknown symbols (as its author's identical fix to IPAdic's
//     unk.def did), not their costs; were the costs changed, runs of
//     unknown symbols could split differently.
//   - UniDic 2.1.2 has 24 full-width all-digit words (１０, １００, ...).
//     unidic-lite's README mentions only single characters, so they are
//     kept. After NFKC they never occur; they matter only with
//     normalize_text false.
//   - char.def's LENGTH values and its two-category lines (〇, 一..兆) are
//     not in kagome-dict and are taken from UniDic's char.def (the
//     category of every code point, INVOKE and GROUP are checked against
//     kagome-dict's when the dictionary loads).
//   - Text from the first NUL byte on is ignored (fugashi passes MeCab a C
//     string). A run of 65,535 or more bytes of whitespace overflows
//     MeCab's 16-bit node lengths and garbles its output; this package
//     does not reproduce that. Text whose best path costs more than
//     2147483647 (hundreds of thousands of characters without a break)
//     makes MeCab fail; Split returns ErrTooLong.
//   - Lowercasing (do_lower_case) and NFKC are package tokenizer's, with
//     Go's Unicode tables rather than Python's.
//
// # Speed
//
// About 5.8 MB/s of Japanese text per core, 1.2 times the mecab command's
// CPU throughput on the same 17 MB (BenchmarkSplitFile; the mecab command
// also writes its output). One MeCab is safe for concurrent use.
package ja
