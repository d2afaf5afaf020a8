package embed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/pooling"
	"github.com/kotodama-ai/kotodama/tokenizer"
)

// Errors callers can match with errors.Is.
var (
	// ErrNotFound means the model directory, or a name in the local
	// Hugging Face cache, does not exist.
	ErrNotFound = errors.New("embed: model not found")
	// ErrUnsupported means the directory holds a module or architecture
	// this package does not run.
	ErrUnsupported = errors.New("embed: unsupported model")
	// ErrUnknownPrompt means a prompt name is not among the model's prompts.
	ErrUnknownPrompt = errors.New("embed: unknown prompt name")
	// ErrClosed means the Model was closed.
	ErrClosed = errors.New("embed: model is closed")
)

// SupportedModules lists the sentence-transformers modules (modules.json
// types) Load accepts.
var SupportedModules = []string{
	"sentence_transformers.models.Transformer",
	"sentence_transformers.models.Pooling",
	"sentence_transformers.models.Normalize",
	pooling.LatentModuleType,
}

// LoadOption changes how Load reads a model.
type LoadOption func(*loadConfig)

type loadConfig struct {
	backend kernels.Backend
	device  string // WithDevice (device.go)
	hfCache string
	maxSeq  int
}

// WithBackend runs the model on be instead of a new CPU backend.
func WithBackend(be kernels.Backend) LoadOption { return func(c *loadConfig) { c.backend = be } }

// WithHFCache looks names up in dir instead of the Hugging Face hub cache
// the environment names ($HF_HUB_CACHE, $HF_HOME/hub, or
// ~/.cache/huggingface/hub).
func WithHFCache(dir string) LoadOption { return func(c *loadConfig) { c.hfCache = dir } }

// WithMaxSeqLength overrides the model's max_seq_length (it cannot exceed
// the model's position embeddings).
func WithMaxSeqLength(n int) LoadOption { return func(c *loadConfig) { c.maxSeq = n } }

// Load reads the model in dir, or, when dir is not a directory, the model
// of that name ("org/name") in the local Hugging Face cache.
func Load(dir string, opts ...LoadOption) (*Model, error) {
	var c loadConfig
	for _, o := range opts {
		o(&c)
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		resolved, rerr := resolveHF(dir, c.hfCache)
		if rerr != nil {
			return nil, rerr
		}
		dir = resolved
	}
	return loadOnDevice(nil, dir, c)
}

// LoadFS reads the model in directory dir of fsys. Weights are read into
// memory rather than mapped.
func LoadFS(fsys fs.FS, dir string, opts ...LoadOption) (*Model, error) {
	var c loadConfig
	for _, o := range opts {
		o(&c)
	}
	if st, err := fs.Stat(fsys, dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrNotFound, dir)
	}
	return loadOnDevice(fsys, dir, c)
}

// files reads a model directory from fsys, or from the OS when fsys is
// nil.
type files struct {
	fsys fs.FS
	dir  string
}

func (f files) join(elem ...string) string {
	if f.fsys == nil {
		return filepath.Join(append([]string{f.dir}, elem...)...)
	}
	return path.Join(append([]string{f.dir}, elem...)...)
}

func (f files) read(elem ...string) ([]byte, error) {
	p := f.join(elem...)
	if f.fsys == nil {
		return os.ReadFile(p)
	}
	return fs.ReadFile(f.fsys, p)
}

// readJSON decodes an optional JSON file: a missing file leaves v alone
// and returns false.
func (f files) readJSON(v any, elem ...string) (bool, error) {
	b, err := f.read(elem...)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("embed: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("embed: %s: %w", f.join(elem...), err)
	}
	return true, nil
}

type module struct {
	Path string `json:"path"`
	Type string `json:"type"`
}

type stTransformerConfig struct {
	MaxSeqLength *int `json:"max_seq_length"`
	DoLowerCase  bool `json:"do_lower_case"`
}

type stConfig struct {
	Prompts           map[string]string `json:"prompts"`
	DefaultPromptName *string           `json:"default_prompt_name"`
}

type tokenizerConfig struct {
	ModelMaxLength *float64 `json:"model_max_length"`
}

func load(fsys fs.FS, dir string, c loadConfig) (*Model, error) {
	root := files{fsys, dir}
	var modules []module
	isST, err := root.readJSON(&modules, "modules.json")
	if err != nil {
		return nil, err
	}
	transformerPath, poolingPath, normalize, latent := "", "", false, false
	if isST {
		seenTransformer := false
		for _, mod := range modules {
			if strings.Contains(mod.Path, "..") || path.IsAbs(mod.Path) {
				return nil, fmt.Errorf("embed: %s: module path %q leaves the model directory", root.join("modules.json"), mod.Path)
			}
			switch mod.Type {
			case "sentence_transformers.models.Transformer":
				if seenTransformer {
					return nil, fmt.Errorf("%w: %s lists two Transformer modules", ErrUnsupported, root.join("modules.json"))
				}
				seenTransformer, transformerPath = true, mod.Path
			case "sentence_transformers.models.Pooling", pooling.LatentModuleType:
				if poolingPath != "" || normalize {
					return nil, fmt.Errorf("%w: %s: Pooling (or LatentAttention) must come once, before Normalize", ErrUnsupported, root.join("modules.json"))
				}
				poolingPath, latent = mod.Path, mod.Type == pooling.LatentModuleType
				if poolingPath == "" {
					poolingPath = "."
				}
			case "sentence_transformers.models.Normalize":
				normalize = true
			default:
				return nil, fmt.Errorf("%w: module %q in %s (supported: %s)", ErrUnsupported, mod.Type, root.join("modules.json"), strings.Join(SupportedModules, ", "))
			}
		}
		if !seenTransformer {
			return nil, fmt.Errorf("%w: %s has no Transformer module", ErrUnsupported, root.join("modules.json"))
		}
	}
	tdir := files{fsys, root.join(transformerPath)}
	if fsys != nil {
		tdir.dir = path.Clean(tdir.dir)
	}

	be := c.backend
	if be == nil {
		be = kernels.NewCPU()
	}
	var enc *bert.Model
	if fsys == nil {
		enc, err = bert.Load(be, tdir.dir)
	} else {
		enc, err = bert.LoadFS(be, fsys, tdir.dir)
	}
	if err != nil {
		if errors.Is(err, bert.ErrUnsupported) {
			return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
		}
		return nil, err
	}
	// Encode only runs the encoder forward: pack its weights once, in
	// place, rather than in every product.
	enc.Pack()
	tok, err := loadTokenizer(fsys, tdir.dir)
	if err != nil {
		return nil, fmt.Errorf("embed: tokenizer: %w", err)
	}

	var stt stTransformerConfig
	if _, err := tdir.readJSON(&stt, "sentence_bert_config.json"); err != nil {
		return nil, err
	}
	positions := enc.Config.MaxPositionEmbeddings
	maxSeq := positions
	if stt.MaxSeqLength != nil {
		maxSeq = *stt.MaxSeqLength
	} else {
		// As sentence-transformers: min(positions, the tokenizer's model_max_length).
		var tc tokenizerConfig
		if _, err := tdir.readJSON(&tc, "tokenizer_config.json"); err != nil {
			return nil, err
		}
		if tc.ModelMaxLength != nil && *tc.ModelMaxLength > 0 && *tc.ModelMaxLength < float64(maxSeq) {
			maxSeq = int(math.Floor(*tc.ModelMaxLength))
		}
	}
	if c.maxSeq > 0 {
		maxSeq = c.maxSeq
	}
	if maxSeq <= 1 || maxSeq > positions {
		return nil, fmt.Errorf("embed: %s: max_seq_length %d outside [2, %d] (the model's position embeddings)", dir, maxSeq, positions)
	}

	pc := pooling.Config{Dim: enc.Config.HiddenSize, Modes: []pooling.Mode{pooling.Mean}, IncludePrompt: true}
	var la *pooling.LatentAttention
	if latent {
		if la, pc, err = loadLatent(be, root, poolingPath, enc.Config.HiddenSize); err != nil {
			return nil, err
		}
		normalize = normalize || la.Normalize
	} else if poolingPath != "" {
		b, err := root.read(poolingPath, "config.json")
		if err != nil {
			return nil, fmt.Errorf("embed: pooling config: %w", err)
		}
		if pc, err = pooling.ParseConfig(b); err != nil {
			return nil, fmt.Errorf("embed: %s: %w", root.join(poolingPath, "config.json"), err)
		}
		if pc.Dim != enc.Config.HiddenSize {
			return nil, fmt.Errorf("embed: %s: word_embedding_dimension %d, but the transformer's hidden size is %d", root.join(poolingPath, "config.json"), pc.Dim, enc.Config.HiddenSize)
		}
	}
	pool, err := pooling.New(be, pc)
	if err != nil {
		return nil, err
	}

	var sc stConfig
	if _, err := root.readJSON(&sc, "config_sentence_transformers.json"); err != nil {
		return nil, err
	}
	m := &Model{
		dir:       dir,
		be:        be,
		enc:       enc,
		tok:       tok,
		pool:      pool,
		latent:    la,
		normalize: normalize,
		maxSeq:    maxSeq,
		lower:     stt.DoLowerCase,
		prompts:   sc.Prompts,
	}
	if sc.DefaultPromptName != nil && *sc.DefaultPromptName != "" {
		if _, ok := sc.Prompts[*sc.DefaultPromptName]; !ok {
			return nil, fmt.Errorf("%w: default_prompt_name %q is not among the prompts %s of %s", ErrUnknownPrompt, *sc.DefaultPromptName, promptNames(sc.Prompts), root.join("config_sentence_transformers.json"))
		}
		m.defaultPrompt = *sc.DefaultPromptName
	}
	return m, nil
}

func promptNames(p map[string]string) string {
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	sort.Strings(names)
	return "[" + strings.Join(names, ", ") + "]"
}

// resolveHF finds name ("org/model" or "model") in the Hugging Face hub
// cache: models--org--model/snapshots/<commit>, the commit refs/main
// names, else the only (or newest) snapshot.
func resolveHF(name, cache string) (string, error) {
	if name == "" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "/") || strings.Count(name, "/") > 1 || strings.Contains(name, `\`) {
		return "", fmt.Errorf("%w: %q is not a directory", ErrNotFound, name)
	}
	if cache == "" {
		cache = hfHubCache()
	}
	repo := filepath.Join(cache, "models--"+strings.ReplaceAll(name, "/", "--"))
	snaps := filepath.Join(repo, "snapshots")
	if ref, err := os.ReadFile(filepath.Join(repo, "refs", "main")); err == nil {
		d := filepath.Join(snaps, strings.TrimSpace(string(ref)))
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, nil
		}
	}
	ents, err := os.ReadDir(snaps)
	var best string
	var bestTime int64
	for _, e := range ents {
		info, ierr := e.Info()
		if ierr != nil || !e.IsDir() {
			continue
		}
		if t := info.ModTime().UnixNano(); best == "" || t > bestTime {
			best, bestTime = filepath.Join(snaps, e.Name()), t
		}
	}
	if err != nil || best == "" {
		return "", fmt.Errorf("%w: %q is not a directory, nor in the Hugging Face cache at %s (Kotodama does not download models: fetch it first, e.g. `huggingface-cli download %s`)", ErrNotFound, name, cache, name)
	}
	return best, nil
}

// hfHubCache is the hub cache directory the Hugging Face libraries use.
func hfHubCache() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HUGGINGFACE_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface", "hub")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// loadTokenizer reads the tokenizer files of a transformer directory.
func loadTokenizer(fsys fs.FS, dir string) (tokenizer.Tokenizer, error) {
	if fsys == nil {
		return tokenizer.Load(dir)
	}
	return tokenizer.LoadFS(fsys, dir)
}
