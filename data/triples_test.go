package data

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func qaSeq(qas ...QA) func(func(QA, error) bool) {
	return func(yield func(QA, error) bool) {
		for _, q := range qas {
			if !yield(q, nil) {
				return
			}
		}
	}
}

func TestQATriplesSameArticle(t *testing.T) {
	ans := func(s string) []Answer { return []Answer{{Text: s}} }
	qas := qaSeq(
		QA{ID: "1", Title: "A", Context: "A [SEP] 富士山は日本一高い。", Question: "日本一高い山は？", Answers: ans("富士山")},
		QA{ID: "2", Title: "A", Context: "A [SEP] 北岳は二番目。富士山の次。", Question: "二番目は？", Answers: ans("北岳")},
		QA{ID: "3", Title: "A", Context: "A [SEP] 奥穂高岳は三番目。", Question: "三番目は？", Answers: ans("奥穂高岳")},
		QA{ID: "4", Title: "B", Context: "琵琶湖は最大の湖。", Question: "最大の湖は？", Answers: ans("琵琶湖")},
		QA{ID: "5", Title: "B", Context: "琵琶湖は最大の湖。", Question: "最大の湖は？", Answers: ans("琵琶湖")}, // repeat
		QA{ID: "6", Title: "A", Context: "A [SEP] 富士山は日本一高い。", Question: "無理な質問", Impossible: true},
	)
	sets, err := QATriples(context.Background(), "qa", qas)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 || sets[0].Task != "qa" || sets[0].Negatives != 1 || sets[1].Task != "qa/pairs" || sets[1].Negatives != 0 {
		t.Fatalf("sets %+v", sets)
	}
	// Question 1's paragraph-mates: question 2's paragraph mentions 富士山
	// (an answer of question 1), so only question 3's is a negative.
	q1 := sets[0].Triples[0]
	if q1.Query != "日本一高い山は？" || q1.Positive != "富士山は日本一高い。" || q1.Negatives[0] != "奥穂高岳は三番目。" {
		t.Fatalf("question 1: %+v", q1)
	}
	for _, tr := range sets[0].Triples {
		if strings.Contains(tr.Positive, "[SEP]") || tr.Negatives[0] == tr.Positive {
			t.Fatalf("bad triple %+v", tr)
		}
	}
	// Article B has one paragraph: its question has no negative, once.
	if len(sets[1].Triples) != 1 || sets[1].Triples[0].Positive != "琵琶湖は最大の湖。" {
		t.Fatalf("pairs: %+v", sets[1].Triples)
	}
}

func TestQATriplesMinerAndExclude(t *testing.T) {
	ans := func(s string) []Answer { return []Answer{{Text: s}} }
	qas := []QA{
		{ID: "1", Title: "A", Context: "p0 赤", Question: "q0", Answers: ans("赤")},
		{ID: "2", Title: "B", Context: "p1 赤も青", Question: "q1", Answers: ans("青")},
		{ID: "3", Title: "C", Context: "p2 緑", Question: "q2", Answers: ans("緑")},
	}
	// A miner that ranks every paragraph in reverse order.
	miner := func(_ context.Context, queries, docs []string, k int) ([][]int, error) {
		out := make([][]int, len(queries))
		for i := range out {
			for d := len(docs) - 1; d >= 0 && len(out[i]) < k; d-- {
				out[i] = append(out[i], d)
			}
		}
		return out, nil
	}
	sets, err := QATriples(context.Background(), "qa", qaSeq(qas...), WithMiner(miner))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tr := range sets[0].Triples {
		got[tr.Query] = tr.Negatives[0]
	}
	// q0: ranking p2, p1 (contains its answer 赤: skipped) → p2.
	// q2: ranking p2 (its own), p1 → p1.
	if got["q0"] != "p2 緑" || got["q1"] != "p2 緑" || got["q2"] != "p1 赤も青" {
		t.Fatalf("mined negatives %v", got)
	}
	sets, err = QATriples(context.Background(), "qa", qaSeq(qas...), WithExclude(func(title, _ string) bool { return title == "B" }))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		for _, tr := range s.Triples {
			if tr.Query == "q1" || slices.Contains(tr.Negatives, "p1 赤も青") {
				t.Fatalf("excluded article B still there: %+v", tr)
			}
		}
	}
}

func TestNLITriples(t *testing.T) {
	pairs := func(yield func(NLIPair, error) bool) {
		for _, p := range []NLIPair{
			{Premise: "猫が寝ている", Hypothesis: "動物が寝ている", Label: Entailment},
			{Premise: "猫が寝ている", Hypothesis: "猫が走っている", Label: Contradiction},
			{Premise: "猫が寝ている", Hypothesis: "猫が夢を見ている", Label: Neutral},
			{Premise: "犬が吠える", Hypothesis: "犬が鳴く", Label: Entailment},
			{Premise: "犬が吠える", Hypothesis: "犬が鳴く", Label: Entailment},
		} {
			if !yield(p, nil) {
				return
			}
		}
	}
	sets, err := NLITriples("nli", pairs)
	if err != nil {
		t.Fatal(err)
	}
	want := []*TripleSet{
		{Task: "nli", Negatives: 1, Triples: []Triple{{"猫が寝ている", "動物が寝ている", []string{"猫が走っている"}}}},
		{Task: "nli/pairs", Negatives: 0, Triples: []Triple{{Query: "犬が吠える", Positive: "犬が鳴く"}}},
	}
	if len(sets) != 2 || !equalSet(sets[0], want[0]) || !equalSet(sets[1], want[1]) {
		t.Fatalf("got %+v %+v", sets[0], sets[len(sets)-1])
	}
}

func equalSet(a, b *TripleSet) bool {
	return a.Task == b.Task && a.Negatives == b.Negatives && slices.EqualFunc(a.Triples, b.Triples, func(x, y Triple) bool {
		return x.Query == y.Query && x.Positive == y.Positive && slices.Equal(x.Negatives, y.Negatives)
	})
}

// TestLoadTriples builds every named training task from the bundled
// files and checks the invariants a batch sampler relies on.
func TestLoadTriples(t *testing.T) {
	ctx := context.Background()
	jsquad, err := LoadRetrieval(root, "jsquad-valid")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range TrainingTasks() {
		t.Run(task.Name, func(t *testing.T) {
			sets, err := LoadTriples(ctx, root, task.Name, WithExclude(ExcludeTask(jsquad)))
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, s := range sets {
				if !strings.HasPrefix(s.Task, task.Name) || len(s.Triples) == 0 {
					t.Fatalf("set %q with %d triples", s.Task, len(s.Triples))
				}
				seen := map[[2]string]bool{}
				for _, tr := range s.Triples {
					if len(tr.Negatives) != s.Negatives || tr.Query == "" || tr.Positive == "" {
						t.Fatalf("%s: triple %+v in a set of %d negatives", s.Task, tr, s.Negatives)
					}
					k := [2]string{tr.Query, tr.Positive}
					if seen[k] {
						t.Fatalf("%s: repeated pair %q → %q", s.Task, tr.Query, tr.Positive)
					}
					seen[k] = true
					for _, n := range tr.Negatives {
						if n == tr.Positive {
							t.Fatalf("%s: negative equals positive: %+v", s.Task, tr)
						}
					}
				}
				total += len(s.Triples)
				t.Logf("%s: %d triples, %d negatives each", s.Task, len(s.Triples), s.Negatives)
			}
			if total < 300 { // JNLI valid has 349 entailment pairs
				t.Fatalf("only %d triples", total)
			}
		})
	}
	if _, err := LoadTriples(ctx, root, "jsquad-valid"); !errors.Is(err, ErrUnknownTask) {
		t.Fatalf("evaluation split as training task: %v", err)
	}
}
