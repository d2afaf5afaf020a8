package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/internal/atomicfile"
	"github.com/kotodama-ai/kotodama/pooling"
	"github.com/kotodama-ai/kotodama/safetensors"
)

// ModelDir says how to write a trained BERT as a sentence-transformers
// model directory.
type ModelDir struct {
	// Source is the directory the model was loaded from: its config.json,
	// tokenizer files and sentence-transformers module configs are
	// carried over, and its unused tensors (the pooler) kept.
	Source string
	// MaxSeqLength, when set, is the max_seq_length written to
	// sentence_bert_config.json (the length the model was trained with);
	// otherwise the source's file is kept, or the model's positions used.
	MaxSeqLength int
	// Prompts, when set, are written to config_sentence_transformers.json
	// (e.g. the instruction prefixes the model was trained with), so
	// sentence-transformers' encode(prompt_name=...) and embed's prompt
	// option apply them.
	Prompts map[string]string
	// Params, when set, are what model.safetensors holds instead of the
	// encoder's parameters under BertModel names: a pre-training model's
	// encoder and heads under their own names (RetroMAE's BertForMaskedLM
	// names, say), which BertModel loaders read past.
	Params []Param
}

// The files a model directory is made of besides the weights, copied
// from Source when present.
var carriedFiles = []string{
	"config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
	"added_tokens.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model",
	"modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
}

type stModule struct {
	Idx  int    `json:"idx"`
	Name string `json:"name"`
	Path string `json:"path"`
	Type string `json:"type"`
}

const (
	stTransformer = "sentence_transformers.models.Transformer"
	stPooling     = "sentence_transformers.models.Pooling"
)

// Save writes e's model into the existing directory dir in the
// sentence-transformers layout: model.safetensors (F32, Hugging Face
// BertModel names, metadata format=pt), config.json, the tokenizer
// files, modules.json, the Pooling module's config.json (for e.Pool),
// sentence_bert_config.json and config_sentence_transformers.json. Each
// file is written atomically.
func (md ModelDir) Save(dir string, e *BERT) error {
	if md.Source == "" {
		return errors.New("train: ModelDir needs the Source directory")
	}
	for _, name := range carriedFiles {
		b, err := os.ReadFile(filepath.Join(md.Source, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("train: saving model: %w", err)
		}
		if name == "config.json" {
			if b, err = float32Config(b); err != nil {
				return fmt.Errorf("train: saving model: %s: %w", filepath.Join(md.Source, name), err)
			}
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return fmt.Errorf("train: saving model: %s has no config.json: %w", md.Source, err)
	}
	if err := md.saveWeights(dir, e); err != nil {
		return err
	}
	modules, err := md.modules(dir)
	if err != nil {
		return err
	}
	for _, m := range modules {
		if m.Type == stPooling {
			if err := writePooling(filepath.Join(dir, m.Path), e.Pool.Config); err != nil {
				return err
			}
		} else if m.Path != "" && m.Type != stTransformer {
			// Other modules (Normalize, Dense …) are carried as they are;
			// Normalize has no files, and sentence-transformers may not
			// have made its directory.
			src := filepath.Join(md.Source, m.Path)
			if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
				if err := os.MkdirAll(filepath.Join(dir, m.Path), 0o755); err != nil {
					return fmt.Errorf("train: saving model: %w", err)
				}
				continue
			}
			if err := copyTree(src, filepath.Join(dir, m.Path)); err != nil {
				return err
			}
		}
	}
	if err := md.writeSBertConfig(dir, e); err != nil {
		return err
	}
	return md.writeSTConfig(dir)
}

// float32Config returns config.json's bytes with torch_dtype, where the
// source names one, set to float32: the weights are saved in F32 whatever
// the source's dtype, and transformers loads a model with
// torch_dtype="auto" in the dtype config.json names.
func float32Config(b []byte) ([]byte, error) {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, err
	}
	if dt, ok := cfg["torch_dtype"]; !ok || string(dt) == `"float32"` {
		return b, nil
	}
	cfg["torch_dtype"] = json.RawMessage(`"float32"`)
	out, err := json.MarshalIndent(cfg, "", "  ")
	return append(out, '\n'), err
}

func (md ModelDir) saveWeights(dir string, e *BERT) error {
	if md.Params != nil {
		return SaveParams(filepath.Join(dir, "model.safetensors"), md.Params, nil, map[string]string{"format": "pt"})
	}
	// Keep the pooler of the source so Hugging Face loads the directory
	// without re-initializing it.
	var extra []safetensors.Tensor
	if f, err := bert.OpenWeights(nil, md.Source); err == nil {
		defer f.Close()
		for _, name := range f.Names() {
			bare := strings.TrimPrefix(name, "bert.")
			if !strings.HasPrefix(bare, "pooler.") {
				continue
			}
			t, err := f.Tensor(name)
			if err != nil {
				return err
			}
			t, err = t.As(safetensors.F32)
			if err != nil {
				return err
			}
			t.Name = bare
			extra = append(extra, t)
		}
	}
	return SaveParams(filepath.Join(dir, "model.safetensors"), e.Params(), extra, map[string]string{"format": "pt"})
}

// modules reads dir's modules.json, writing the default Transformer →
// Pooling pipeline when the source had none (a plain Hugging Face model).
func (md ModelDir) modules(dir string) ([]stModule, error) {
	path := filepath.Join(dir, "modules.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		ms := []stModule{{0, "0", "", stTransformer}, {1, "1", "1_Pooling", stPooling}}
		return ms, writeJSON(path, ms)
	}
	if err != nil {
		return nil, fmt.Errorf("train: saving model: %w", err)
	}
	var ms []stModule
	if err := json.Unmarshal(b, &ms); err != nil {
		return nil, fmt.Errorf("train: saving model: %s: %w", filepath.Join(md.Source, "modules.json"), err)
	}
	for _, m := range ms {
		if !filepath.IsLocal(m.Path) && m.Path != "" {
			return nil, fmt.Errorf("train: saving model: modules.json names path %q outside the model", m.Path)
		}
	}
	return ms, nil
}

func writePooling(dir string, c pooling.Config) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: saving model: %w", err)
	}
	on := map[pooling.Mode]bool{}
	for _, m := range c.Modes {
		on[m] = true
	}
	cfg := map[string]any{
		"word_embedding_dimension":          c.Dim,
		"pooling_mode_cls_token":            on[pooling.CLS],
		"pooling_mode_mean_tokens":          on[pooling.Mean],
		"pooling_mode_max_tokens":           on[pooling.Max],
		"pooling_mode_mean_sqrt_len_tokens": on[pooling.MeanSqrtLen],
		"pooling_mode_weightedmean_tokens":  on[pooling.WeightedMean],
		"pooling_mode_lasttoken":            on[pooling.LastToken],
		"include_prompt":                    c.IncludePrompt,
	}
	return writeJSON(filepath.Join(dir, "config.json"), cfg)
}

// writeSBertConfig writes sentence_bert_config.json: the source's, with
// max_seq_length set to the length the model was trained with when md
// says (as sentence-transformers saves model.max_seq_length).
func (md ModelDir) writeSBertConfig(dir string, e *BERT) error {
	path := filepath.Join(dir, "sentence_bert_config.json")
	cfg := map[string]any{"do_lower_case": false}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("train: saving model: %s: %w", filepath.Join(md.Source, "sentence_bert_config.json"), err)
		}
		if md.MaxSeqLength <= 0 {
			return nil
		}
	}
	n := md.MaxSeqLength
	if n <= 0 {
		n = e.Model.Config.MaxPositionEmbeddings
	}
	cfg["max_seq_length"] = n
	return writeJSON(path, cfg)
}

// writeSTConfig writes config_sentence_transformers.json: the source's,
// with the prompts replaced when md has them.
func (md ModelDir) writeSTConfig(dir string) error {
	path := filepath.Join(dir, "config_sentence_transformers.json")
	cfg := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("train: saving model: %s: %w", filepath.Join(md.Source, "config_sentence_transformers.json"), err)
		}
	} else if len(md.Prompts) == 0 {
		return nil
	}
	if len(md.Prompts) > 0 {
		cfg["prompts"] = md.Prompts
	}
	if _, ok := cfg["default_prompt_name"]; !ok {
		cfg["default_prompt_name"] = nil
	}
	if _, ok := cfg["similarity_fn_name"]; !ok {
		cfg["similarity_fn_name"] = "cosine"
	}
	return writeJSON(path, cfg)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o644)
}

// copyTree copies the regular files under src into dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("train: saving model: %w", err)
		}
		rel, _ := filepath.Rel(src, path)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("train: saving model: %w", err)
		}
		return atomicfile.WriteFile(out, b, 0o644)
	})
}

// SaveFinal writes the model directory dir atomically as a whole: into a
// temporary sibling, then renamed over dir (a previous dir is replaced).
func (md ModelDir) SaveFinal(dir string, e *BERT) error {
	return saveFinal(dir, func(tmp string) error { return md.Save(tmp, e) })
}

// saveFinal runs save on a temporary sibling of dir, then renames it over
// dir.
func saveFinal(dir string, save func(tmp string) error) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	tmp, err := mkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := save(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := syncTree(tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("train: %w", err)
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.RemoveAll(tmp)
		return fmt.Errorf("train: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	syncDir(parent)
	os.RemoveAll(old)
	return nil
}
