package data_test

import (
	"fmt"
	"strings"

	"github.com/kotodama-ai/kotodama/data"
)

func ExampleJSTS() {
	in := `{"sentence_pair_id": "0", "sentence1": "犬が走っている。", "sentence2": "犬が駆けている。", "label": 4.2}
{"sentence_pair_id": "1", "sentence1": "猫が寝ている。", "sentence2": "車が走っている。", "label": 0.4}
{"sentence_pair_id": "2", "sentence1": "雨が降る。", "label": 1}
`
	for p, err := range data.JSTS(strings.NewReader(in), "pairs.jsonl") {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Printf("%s %.1f %s / %s\n", p.ID, p.Score, p.Sentence1, p.Sentence2)
	}
	// Output:
	// 0 4.2 犬が走っている。 / 犬が駆けている。
	// 1 0.4 猫が寝ている。 / 車が走っている。
	// pairs.jsonl:3: malformed record: no string "sentence2"
}

func ExampleLoadRetrieval() {
	task, err := data.LoadRetrieval("../datasets", "jsquad-valid")
	if err != nil {
		fmt.Println(err)
		return
	}
	q := task.Queries[0]
	fmt.Println(len(task.Queries), "queries,", len(task.Docs), "documents")
	fmt.Println(q.Text, "->", q.Relevant)
	fmt.Printf("%s: %.20s…\n", task.Docs[0].Title, task.Docs[0].Text)
	// Output:
	// 4442 queries, 1145 documents
	// 日本で梅雨がないのは北海道とどこか。 -> [梅雨#0]
	// 梅雨: 梅雨（つゆ、ばいう）は、北海道と小笠原諸…
}
