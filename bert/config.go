package bert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// ErrUnsupported means a config.json describes a model this package does
// not run (another model_type, activation or position embedding).
var ErrUnsupported = errors.New("bert: unsupported model")

// SupportedModelTypes lists the config.json model_type values Load
// accepts.
var SupportedModelTypes = []string{"bert"}

// Config is the part of a Hugging Face config.json the encoder reads.
type Config struct {
	ModelType             string  `json:"model_type"`
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	HiddenAct             string  `json:"hidden_act"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TypeVocabSize         int     `json:"type_vocab_size"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	PadTokenID            int     `json:"pad_token_id"`
	PositionEmbeddingType string  `json:"position_embedding_type"`
	// Training only: the dropout probabilities (Hugging Face defaults 0.1).
	HiddenDropoutProb         float64 `json:"hidden_dropout_prob"`
	AttentionProbsDropoutProb float64 `json:"attention_probs_dropout_prob"`
}

// HeadDim is the width of one attention head.
func (c Config) HeadDim() int { return c.HiddenSize / c.NumAttentionHeads }

// ParseConfig decodes and validates a config.json.
func ParseConfig(b []byte) (Config, error) {
	c := Config{HiddenAct: "gelu", LayerNormEps: 1e-12, TypeVocabSize: 2, PositionEmbeddingType: "absolute",
		HiddenDropoutProb: 0.1, AttentionProbsDropoutProb: 0.1}
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("bert: config.json: %w", err)
	}
	return c, c.Validate()
}

// LoadConfig reads config.json from a model directory in fsys (or from
// the file system when fsys is nil).
func LoadConfig(fsys fs.FS, dir string) (Config, error) {
	name := joinPath(fsys, dir, "config.json")
	var b []byte
	var err error
	if fsys == nil {
		b, err = os.ReadFile(name)
	} else {
		b, err = fs.ReadFile(fsys, name)
	}
	if err != nil {
		return Config{}, fmt.Errorf("bert: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// Validate checks that c describes a BERT this package can run.
func (c Config) Validate() error {
	if c.ModelType != "bert" {
		return fmt.Errorf("%w: model_type %q (supported: %s)", ErrUnsupported, c.ModelType, strings.Join(SupportedModelTypes, ", "))
	}
	if c.HiddenAct != "gelu" {
		return fmt.Errorf("%w: hidden_act %q (supported: gelu)", ErrUnsupported, c.HiddenAct)
	}
	if c.PositionEmbeddingType != "absolute" {
		return fmt.Errorf("%w: position_embedding_type %q (supported: absolute)", ErrUnsupported, c.PositionEmbeddingType)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads}, {"intermediate_size", c.IntermediateSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings}, {"type_vocab_size", c.TypeVocabSize},
	} {
		if f.v <= 0 || f.v > 1<<24 {
			return fmt.Errorf("bert: config.json: %s = %d", f.name, f.v)
		}
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("bert: config.json: hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if !(c.HiddenDropoutProb >= 0 && c.HiddenDropoutProb < 1) || !(c.AttentionProbsDropoutProb >= 0 && c.AttentionProbsDropoutProb < 1) {
		return fmt.Errorf("bert: config.json: dropout probabilities %g, %g outside [0, 1)", c.HiddenDropoutProb, c.AttentionProbsDropoutProb)
	}
	if !(c.LayerNormEps > 0) {
		return fmt.Errorf("bert: config.json: layer_norm_eps = %g", c.LayerNormEps)
	}
	return nil
}
