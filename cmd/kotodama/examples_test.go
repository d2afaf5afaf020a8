package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestExampleConfigs reads the commands of examples/train/README.md and
// checks that each configuration they name exists and is accepted by its
// verb, and that every run configuration in the folder is used by one of
// them: the README's recipes are how the closing notes' numbers are
// reproduced, so a key renamed in a verb must not leave them broken.
func TestExampleConfigs(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "train")
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := regexp.MustCompile(`kotodama (train|pretrain) -config examples/train/([\w.-]+\.json)`).FindAllStringSubmatch(string(readme), -1)
	if len(cmds) == 0 {
		t.Fatal("examples/train/README.md runs no configuration")
	}
	used := map[string]bool{}
	for _, c := range cmds {
		verb, name := c[1], c[2]
		used[name] = true
		path := filepath.Join(dir, name)
		switch verb {
		case "train":
			err = readConfig(path, &trainConfig{})
		case "pretrain":
			err = readConfig(path, &pretrainConfig{})
		}
		if err != nil {
			t.Errorf("kotodama %s -config %s: %v", verb, path, err)
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(b, &keys); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		// Model and pooling configurations, which the recipes copy into
		// model directories, have no "output".
		if _, isRun := keys["output"]; isRun && !used[filepath.Base(f)] {
			t.Errorf("%s is a run configuration that no command in the README runs", f)
		}
	}
}
