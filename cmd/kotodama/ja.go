package main

// The CLI carries the Japanese MeCab word splitter (and its UniDic
// dictionary, about 45 MB) so that model directories built on
// BertJapaneseTokenizer — tohoku-nlp bert-base-japanese, ruri v1/v2 — load
// in every verb. Library users who need it blank-import it themselves.
import _ "github.com/kotodama-ai/kotodama/tokenizer/ja"
