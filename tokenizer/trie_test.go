package tokenizer

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestTrie checks the double-array trie against a map: every key maps to
// its id (the last one when a key repeats), other strings to -1, and a
// walk visits exactly the keys that are prefixes of the text.
func TestTrie(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "\x00", "\xff", "東", "京", "▁", "##"}
	word := func() string {
		n := rng.IntN(6)
		s := ""
		for i := 0; i < n; i++ {
			s += alphabet[rng.IntN(len(alphabet))]
		}
		return s
	}
	var keys []string
	var ids []int32
	want := map[string]int32{}
	for i := 0; i < 3000; i++ {
		k := word()
		keys = append(keys, k)
		ids = append(ids, int32(i))
		want[k] = int32(i)
	}
	tr := newTrie(keys, ids)
	for k, id := range want {
		if got := tr.lookupString(k); got != id {
			t.Fatalf("lookup(%q) = %d, want %d", k, got, id)
		}
	}
	for i := 0; i < 3000; i++ {
		k := word() + "z"
		if got := tr.lookupString(k); got != -1 {
			t.Fatalf("lookup(%q) = %d, want -1", k, got)
		}
	}
	// Prefix walk.
	for i := 0; i < 500; i++ {
		text := []byte(word() + word())
		var got []int32
		s := int32(0)
		for _, c := range text {
			if s = tr.next(s, c); s < 0 {
				break
			}
			if v := tr.value(s); v >= 0 {
				got = append(got, v)
			}
		}
		var exp []int32
		for n := 1; n <= len(text); n++ {
			if id, ok := want[string(text[:n])]; ok {
				exp = append(exp, id)
			}
		}
		if len(got) != len(exp) {
			t.Fatalf("prefixes of %q: %v, want %v", text, got, exp)
		}
		for j := range got {
			if got[j] != exp[j] {
				t.Fatalf("prefixes of %q: %v, want %v", text, got, exp)
			}
		}
	}
	if empty := newTrie(nil, nil); empty.lookupString("a") != -1 || empty.lookupString("") != -1 {
		t.Error("empty trie finds keys")
	}
}

// TestTrieLarge builds a vocabulary-sized trie (250k keys, like XLM-R's)
// and checks it stays dense and quick to build.
func TestTrieLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large trie in -short")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([]string, 250000)
	ids := make([]int32, len(keys))
	for i := range keys {
		b := make([]rune, 1+rng.IntN(8))
		for j := range b {
			if rng.IntN(2) == 0 {
				b[j] = rune('a' + rng.IntN(26))
			} else {
				b[j] = rune(0x3041 + rng.IntN(0x5000))
			}
		}
		keys[i], ids[i] = string(b), int32(i)
	}
	start := time.Now()
	tr := newTrie(keys, ids)
	t.Logf("250k keys: %d states, built in %v", len(tr.nodes), time.Since(start))
	for i := 0; i < len(keys); i += 97 {
		if tr.lookupString(keys[i]) < 0 {
			t.Fatalf("key %q lost", keys[i])
		}
	}
}
