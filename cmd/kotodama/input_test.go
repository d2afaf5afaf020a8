package main

import (
	"slices"
	"strings"
	"testing"
)

func collect(t *testing.T, in string) ([]string, error) {
	t.Helper()
	var out []string
	for s, err := range readTexts(strings.NewReader(in)) {
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

func TestReadTexts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\nb\n", []string{"a", "b"}},
		{"a\r\nb", []string{"a", "b"}},
		{"a\n\nb\n", []string{"a", "", "b"}},
		{`{"text":"東京"}` + "\n" + `{"text":"x\ny","id":3}` + "\n", []string{"東京", "x\ny"}},
		{"{not json\n{\"text\":1}\n", []string{"{not json", "{\"text\":1}"}},
	} {
		got, err := collect(t, tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReadTextsErrors(t *testing.T) {
	for _, in := range []string{
		`{"text":"a"}` + "\nplain\n",
		"ok\n\xff\xfe\n",
	} {
		if _, err := collect(t, in); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: err = %v, want one naming line 2", in, err)
		}
	}
}
