package embed

import (
	"testing"

	"github.com/kotodama-ai/kotodama/internal/golden"
)

// TestTokenIDs: the ids training feeds the encoder are the fixture's
// input_ids (sentence-transformers' tokenization) for every row of every
// model fixture, prompts included.
func TestTokenIDs(t *testing.T) {
	for _, dir := range golden.Dirs(t, "models", "texts.json") {
		fx := readFixture(t, dir)
		m, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range fx.rows {
			ids, err := m.TokenIDs(r.Text, r.Prompt)
			if err != nil {
				t.Fatal(err)
			}
			want := fx.ids[i*fx.seq : i*fx.seq+r.NumTokens]
			if len(ids) != len(want) {
				t.Fatalf("%s row %d: %d ids, want %d", dir, i, len(ids), len(want))
			}
			for j := range ids {
				if int64(ids[j]) != want[j] {
					t.Fatalf("%s row %d: id %d is %d, want %d", dir, i, j, ids[j], want[j])
				}
			}
		}
		if len(m.Pooling().Modes) == 0 {
			t.Fatalf("%s: no pooling modes", dir)
		}
		m.Close()
	}
}
