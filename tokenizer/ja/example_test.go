package ja_test

import (
	"fmt"

	"github.com/kotodama-ai/kotodama/tokenizer/ja"
)

func ExampleMeCab_Split() {
	m, err := ja.NewMeCab()
	if err != nil {
		panic(err)
	}
	words, err := m.Split("東北大学で自然言語処理の研究をしています。")
	if err != nil {
		panic(err)
	}
	fmt.Println(words)
	// Output: [東北 大学 で 自然 言語 処理 の 研究 を し て い ます 。]
}

func ExampleMeCab_AppendWords() {
	m, err := ja.NewMeCab()
	if err != nil {
		panic(err)
	}
	text := "iPhone 15が発売された"
	words, err := m.AppendWords(nil, text)
	if err != nil {
		panic(err)
	}
	for _, w := range words {
		fmt.Printf("%d-%d %s\n", w.Start, w.End, text[w.Start:w.End])
	}
	// Output:
	// 0-6 iPhone
	// 7-9 15
	// 9-12 が
	// 12-18 発売
	// 18-21 さ
	// 21-24 れ
	// 24-27 た
}
