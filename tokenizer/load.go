package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Load reads a tokenizer from path: a tokenizer.json file, a vocab.txt
// file (BERT WordPiece), a SentencePiece .model file, or a model
// directory holding any of these together with tokenizer_config.json and
// special_tokens_map.json (a Hugging Face or sentence-transformers model
// directory). Files beside a single file (its tokenizer_config.json) are
// read too.
//
// A directory whose tokenizer_config.json names BertJapaneseTokenizer with
// word_tokenizer_type "mecab" needs a registered word tokenizer: import
// the package that provides it (see RegisterWordTokenizer).
func Load(p string) (*Pipeline, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if fi.IsDir() {
		return load(os.DirFS(p), ".", p)
	}
	dir := filepath.Dir(p)
	return load(os.DirFS(dir), filepath.Base(p), dir)
}

// LoadFS is Load reading from fsys; name is a file or directory in it
// (io/fs path syntax, "." for the root).
func LoadFS(fsys fs.FS, name string) (*Pipeline, error) {
	return load(fsys, name, "")
}

// loader reads the files of one tokenizer and names them in errors.
type loader struct {
	fsys    fs.FS
	dir     string // directory of the tokenizer files within fsys
	display string // how to show dir to users ("" shows fs paths)
}

func (l *loader) path(name string) string { return path.Join(l.dir, name) }

func (l *loader) show(name string) string {
	if l.display != "" {
		return filepath.Join(l.display, filepath.FromSlash(l.path(name)))
	}
	return l.path(name)
}

func (l *loader) exists(name string) bool {
	fi, err := fs.Stat(l.fsys, l.path(name))
	return err == nil && !fi.IsDir()
}

func (l *loader) read(name string) ([]byte, error) {
	b, err := fs.ReadFile(l.fsys, l.path(name))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return b, nil
}

func load(fsys fs.FS, name, display string) (*Pipeline, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if fi.IsDir() {
		l := &loader{fsys: fsys, dir: name, display: display}
		return l.loadDir()
	}
	l := &loader{fsys: fsys, dir: path.Dir(name), display: display}
	cfg, err := l.config()
	if err != nil {
		return nil, err
	}
	return l.loadFile(path.Base(name), cfg)
}

// loadFile loads one tokenizer file, its kind told by its name or, failing
// that, its first bytes.
func (l *loader) loadFile(name string, cfg *tokConfig) (*Pipeline, error) {
	data, err := l.read(name)
	if err != nil {
		return nil, err
	}
	kind := ""
	switch {
	case strings.HasSuffix(name, ".json"):
		kind = "json"
	case strings.HasSuffix(name, ".txt"):
		kind = "vocab"
	case strings.HasSuffix(name, ".model"):
		kind = "spm"
	default:
		trimmed := bytes.TrimSpace(data)
		switch {
		case len(trimmed) > 0 && trimmed[0] == '{':
			kind = "json"
		case len(data) > 0 && data[0] == 0x0a: // ModelProto field 1, length-delimited
			kind = "spm"
		default:
			kind = "vocab"
		}
	}
	var t *Pipeline
	switch kind {
	case "json":
		t, err = parseHF(data, l.show(name))
	case "vocab":
		t, err = l.bertFromVocab(data, name, cfg)
	case "spm":
		t, err = l.sentencePiece(data, name, cfg)
	}
	if err != nil {
		return nil, err
	}
	t.modelMaxLength = cfg.maxLength()
	return t, nil
}

// loadDir picks the tokenizer files of a model directory the way
// transformers' AutoTokenizer does: tokenizer.json unless the configured
// class has no fast version, then vocab.txt, then a SentencePiece model.
// A sentence-transformers directory that keeps its tokenizer in a module
// folder (modules.json) is followed there.
func (l *loader) loadDir() (*Pipeline, error) {
	cfg, err := l.config()
	if err != nil {
		return nil, err
	}
	slowOnly := cfg.TokenizerClass == "BertJapaneseTokenizer"
	if l.exists("tokenizer.json") && !slowOnly {
		return l.loadFile("tokenizer.json", cfg)
	}
	if l.exists("vocab.txt") {
		return l.loadFile("vocab.txt", cfg)
	}
	for _, n := range []string{"spiece.model", "sentencepiece.bpe.model", "spm.model", "tokenizer.model", "sentencepiece.model"} {
		if l.exists(n) {
			return l.loadFile(n, cfg)
		}
	}
	if ents, err := fs.ReadDir(l.fsys, l.dir); err == nil {
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".model") {
				return l.loadFile(e.Name(), cfg)
			}
		}
	}
	if l.exists("modules.json") {
		if sub, ok := l.transformerModule(); ok && sub != "" && sub != "." {
			inner := &loader{fsys: l.fsys, dir: path.Join(l.dir, sub), display: l.display}
			return inner.loadDir()
		}
	}
	return nil, fmt.Errorf("tokenizer: %s: no tokenizer.json, vocab.txt or SentencePiece .model: %w", l.show("."), fs.ErrNotExist)
}

// transformerModule returns the path of the first module in modules.json
// (the Transformer, which holds the tokenizer).
func (l *loader) transformerModule() (string, bool) {
	b, err := l.read("modules.json")
	if err != nil {
		return "", false
	}
	var mods []struct {
		Path string `json:"path"`
		Type string `json:"type"`
	}
	if json.Unmarshal(b, &mods) != nil {
		return "", false
	}
	for _, m := range mods {
		if strings.HasSuffix(m.Type, "Transformer") {
			return m.Path, true
		}
	}
	return "", false
}

// tokConfig is what tokenizer_config.json and special_tokens_map.json say
// that matters for tokenization.
type tokConfig struct {
	TokenizerClass       string          `json:"tokenizer_class"`
	DoLowerCase          *bool           `json:"do_lower_case"`
	StripAccents         *bool           `json:"strip_accents"`
	TokenizeChineseChars *bool           `json:"tokenize_chinese_chars"`
	NeverSplit           []string        `json:"never_split"`
	ModelMaxLength       *float64        `json:"model_max_length"`
	DoWordTokenize       *bool           `json:"do_word_tokenize"`
	DoSubwordTokenize    *bool           `json:"do_subword_tokenize"`
	WordTokenizerType    string          `json:"word_tokenizer_type"`
	SubwordTokenizerType string          `json:"subword_tokenizer_type"`
	MecabKwargs          json.RawMessage `json:"mecab_kwargs"`
	SudachiKwargs        json.RawMessage `json:"sudachi_kwargs"`
	JumanppKwargs        json.RawMessage `json:"jumanpp_kwargs"`
	AddBOS               *bool           `json:"add_bos_token"`
	AddEOS               *bool           `json:"add_eos_token"`

	UnkToken   json.RawMessage   `json:"unk_token"`
	SepToken   json.RawMessage   `json:"sep_token"`
	PadToken   json.RawMessage   `json:"pad_token"`
	ClsToken   json.RawMessage   `json:"cls_token"`
	MaskToken  json.RawMessage   `json:"mask_token"`
	BosToken   json.RawMessage   `json:"bos_token"`
	EosToken   json.RawMessage   `json:"eos_token"`
	Additional []json.RawMessage `json:"additional_special_tokens"`

	AddedTokensDecoder map[string]hfAddedToken `json:"added_tokens_decoder"`

	source string
}

// maxLength is model_max_length, 0 when absent or "unlimited" (1e30).
func (c *tokConfig) maxLength() int {
	if c.ModelMaxLength == nil || *c.ModelMaxLength <= 0 || *c.ModelMaxLength > 1<<31 {
		return 0
	}
	return int(*c.ModelMaxLength)
}

// tokenString reads a special-token field: a string or an AddedToken
// object ({"content": ...}).
func tokenString(raw json.RawMessage) (string, bool) {
	if isNull(raw) {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var obj struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Content != "" {
		return obj.Content, true
	}
	return "", false
}

// config reads tokenizer_config.json then special_tokens_map.json (whose
// token fields fill the ones the first leaves out).
func (l *loader) config() (*tokConfig, error) {
	cfg := &tokConfig{}
	if l.exists("tokenizer_config.json") {
		b, err := l.read("tokenizer_config.json")
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, cfg); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %v: %w", l.show("tokenizer_config.json"), err, ErrBadFile)
		}
		cfg.source = l.show("tokenizer_config.json")
	}
	if l.exists("special_tokens_map.json") {
		b, err := l.read("special_tokens_map.json")
		if err != nil {
			return nil, err
		}
		var sm tokConfig
		if err := json.Unmarshal(b, &sm); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %v: %w", l.show("special_tokens_map.json"), err, ErrBadFile)
		}
		fill := func(dst *json.RawMessage, src json.RawMessage) {
			if isNull(*dst) {
				*dst = src
			}
		}
		fill(&cfg.UnkToken, sm.UnkToken)
		fill(&cfg.SepToken, sm.SepToken)
		fill(&cfg.PadToken, sm.PadToken)
		fill(&cfg.ClsToken, sm.ClsToken)
		fill(&cfg.MaskToken, sm.MaskToken)
		fill(&cfg.BosToken, sm.BosToken)
		fill(&cfg.EosToken, sm.EosToken)
		if len(cfg.Additional) == 0 {
			cfg.Additional = sm.Additional
		}
	}
	return cfg, nil
}

// special returns a configured special token, or def.
func (c *tokConfig) special(raw json.RawMessage, def string) string {
	if s, ok := tokenString(raw); ok {
		return s
	}
	return def
}

// specialAdded turns the configured special tokens that are in the
// vocabulary into added tokens, matched in raw text as slow and fast
// tokenizers both do.
func (c *tokConfig) specialAdded(ids func(string) int32, defs map[string]string) []addedToken {
	var out []addedToken
	seen := map[string]bool{}
	add := func(s string) {
		if s == "" || seen[s] {
			return
		}
		id := ids(s)
		if id < 0 {
			return
		}
		seen[s] = true
		out = append(out, addedToken{id: id, content: s, special: true})
	}
	fields := []struct {
		raw json.RawMessage
		key string
	}{{c.UnkToken, "unk"}, {c.SepToken, "sep"}, {c.PadToken, "pad"}, {c.ClsToken, "cls"}, {c.MaskToken, "mask"}, {c.BosToken, "bos"}, {c.EosToken, "eos"}}
	for _, f := range fields {
		add(c.special(f.raw, defs[f.key]))
	}
	for _, a := range c.Additional {
		if s, ok := tokenString(a); ok {
			add(s)
		}
	}
	for _, a := range c.AddedTokensDecoder {
		if !seen[a.Content] && a.Content != "" {
			if id := ids(a.Content); id >= 0 {
				seen[a.Content] = true
				out = append(out, addedToken{id: id, content: a.Content, singleWord: a.SingleWord, lstrip: a.Lstrip,
					rstrip: a.Rstrip, normalized: a.Normalized, special: a.Special})
			}
		}
	}
	return out
}

var errNoVocab = errors.New("empty vocabulary")

// readVocabTxt splits vocab.txt into tokens, one per line, the way Python
// reads it (universal newlines; only the line break is removed).
func readVocabTxt(b []byte) []string {
	s := string(b)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
