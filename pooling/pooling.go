// Package pooling turns an encoder's per-token hidden states into one
// vector per text, exactly as sentence-transformers' Pooling and
// Normalize modules do.
//
// # Overview
//
// A Pooling reads the 1_Pooling/config.json of a sentence-transformers
// model (ParseConfig) and runs on a kernels.Backend, so the hidden states
// never leave the device. Every mode but max is a weighted sum over
// positions, computed as one batched product with weights built from the
// attention mask:
//
//	cls           weight 1 at position 0
//	mean          mask / Σmask
//	mean_sqrt_len mask / √Σmask
//	weightedmean  (l+1)·mask / Σ(l+1)·mask
//	lasttoken     weight 1 at the last position whose mask is 1
//	max           maximum over positions whose mask is 1 (others count as -1e9)
//
// Several modes concatenate in sentence-transformers' order (cls, max,
// mean, mean_sqrt_len, weightedmean, lasttoken). With include_prompt set to
// false, the first promptLen positions (the [CLS] token and the prompt's
// tokens) are masked out of every mode but cls, as sentence-transformers
// does for instruction models.
//
// Normalize scales vectors to unit L2 norm, as the Normalize module and
// encode(normalize_embeddings=True) do.
//
// LatentAttention is NV-Embed's trainable pooling: the tokens attend to a
// learned array of latents through one cross-attention block and a
// GEGLU feed-forward, then are mean-pooled with the instruction left out.
// It has a forward and a backward pass, NV-Embed's parameter names and
// initialization, and a module folder format of its own (latent_io.go).
package pooling

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/kotodama-ai/kotodama/kernels"
)

// Mode is one pooling strategy. The constants are in the order
// sentence-transformers concatenates them.
type Mode int

// The pooling modes of sentence-transformers.
const (
	CLS Mode = iota
	Max
	Mean
	MeanSqrtLen
	WeightedMean
	LastToken
	numModes
)

var modeNames = [numModes]string{"cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"}

// String returns the name sentence-transformers uses for m.
func (m Mode) String() string {
	if m < 0 || m >= numModes {
		return fmt.Sprintf("Mode(%d)", int(m))
	}
	return modeNames[m]
}

// ParseMode reads a mode name as sentence-transformers spells it
// ("mean_sqrt_len" is accepted for mean_sqrt_len_tokens).
func ParseMode(s string) (Mode, error) {
	s = strings.ToLower(s)
	if s == "mean_sqrt_len" {
		return MeanSqrtLen, nil
	}
	for i, n := range modeNames {
		if n == s {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("pooling: unknown mode %q (known: %s)", s, strings.Join(modeNames[:], ", "))
}

// ErrConfig means a pooling configuration is invalid.
var ErrConfig = errors.New("pooling: invalid config")

// Config is a Pooling module's configuration.
type Config struct {
	// Dim is the width of the token embeddings (word_embedding_dimension).
	Dim int
	// Modes are the strategies to concatenate, in Mode order, no repeats.
	Modes []Mode
	// IncludePrompt false leaves the prompt's tokens out of the pooling.
	IncludePrompt bool
}

// OutputDim is the width of the pooled vector: Dim per mode.
func (c Config) OutputDim() int { return c.Dim * len(c.Modes) }

// Validate checks that c can be run.
func (c Config) Validate() error {
	if c.Dim <= 0 {
		return fmt.Errorf("%w: dimension %d", ErrConfig, c.Dim)
	}
	if len(c.Modes) == 0 {
		return fmt.Errorf("%w: no pooling mode", ErrConfig)
	}
	for i, m := range c.Modes {
		if m < 0 || m >= numModes || (i > 0 && m <= c.Modes[i-1]) {
			return fmt.Errorf("%w: modes %v must be distinct, known and in order", ErrConfig, c.Modes)
		}
	}
	return nil
}

// stConfig is 1_Pooling/config.json.
type stConfig struct {
	Dim           int     `json:"word_embedding_dimension"`
	Mode          *string `json:"pooling_mode"`
	CLS           bool    `json:"pooling_mode_cls_token"`
	Mean          *bool   `json:"pooling_mode_mean_tokens"`
	Max           bool    `json:"pooling_mode_max_tokens"`
	MeanSqrtLen   bool    `json:"pooling_mode_mean_sqrt_len_tokens"`
	WeightedMean  bool    `json:"pooling_mode_weightedmean_tokens"`
	LastToken     bool    `json:"pooling_mode_lasttoken"`
	IncludePrompt *bool   `json:"include_prompt"`
}

// ParseConfig reads a sentence-transformers 1_Pooling/config.json, with
// that module's defaults for absent keys (mean pooling, include_prompt
// true); a "pooling_mode" string overrides the flags, as there.
func ParseConfig(b []byte) (Config, error) {
	var s stConfig
	if err := json.Unmarshal(b, &s); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	mean := s.Mean == nil || *s.Mean
	flags := [numModes]bool{CLS: s.CLS, Max: s.Max, Mean: mean, MeanSqrtLen: s.MeanSqrtLen, WeightedMean: s.WeightedMean, LastToken: s.LastToken}
	if s.Mode != nil {
		m, err := ParseMode(*s.Mode)
		if err != nil {
			return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		flags = [numModes]bool{}
		flags[m] = true
	}
	c := Config{Dim: s.Dim, IncludePrompt: s.IncludePrompt == nil || *s.IncludePrompt}
	for m, on := range flags {
		if on {
			c.Modes = append(c.Modes, Mode(m))
		}
	}
	return c, c.Validate()
}

// Pooling is a configured pooling module on a Backend. It holds no
// per-call state and is safe for concurrent use; each goroutine passes
// its own Acts.
type Pooling struct {
	Config
	be       kernels.Backend
	weighted []Mode // modes computed as weighted sums
}

// New returns the pooling c describes, running on be.
func New(be kernels.Backend, c Config) (*Pooling, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := &Pooling{Config: c, be: be}
	for _, m := range c.Modes {
		if m != Max {
			p.weighted = append(p.weighted, m)
		}
	}
	return p, nil
}

// Acts hold one batch's pooling inputs, reusable across batches of up to
// MaxTokens tokens. After Forward they hold what a backward pass needs:
//
//	Mask    [batch, seq]               the mask the modes used (prompt removed)
//	Weights [weighted modes, batch, seq] each weighted mode's weights, in Mode order
type Acts struct {
	Mask      []int32
	Weights   kernels.Buf
	MaxTokens int
	host      []float32
	be        kernels.Backend
}

// Release returns the Acts' device memory to the Backend; a must not be
// used afterwards.
func (a *Acts) Release() {
	if a.be != nil {
		a.be.Free(a.Weights)
		a.be, a.Weights = nil, kernels.Buf{}
	}
}

// NewActs allocates Acts for batches of up to maxTokens tokens.
func (p *Pooling) NewActs(maxTokens int) (*Acts, error) {
	n := len(p.weighted) * maxTokens
	w, err := p.be.Alloc(n)
	if err != nil {
		return nil, fmt.Errorf("pooling: %w", err)
	}
	return &Acts{Mask: make([]int32, 0, maxTokens), Weights: w, MaxTokens: maxTokens, host: make([]float32, n), be: p.be}, nil
}

// Forward pools hidden states into one vector per sequence:
//
//	out    [batch, OutputDim]
//	hidden [batch, seq, Dim]
//	mask   [batch, seq]   1 for tokens, 0 for padding
//
// promptLen is the number of leading positions the prompt takes ([CLS]
// included), used when IncludePrompt is false; pass 0 without a prompt.
func (p *Pooling) Forward(out kernels.Buf, a *Acts, hidden kernels.Buf, mask []int32, batch, seq, promptLen int) error {
	T := batch * seq
	switch {
	case batch <= 0 || seq <= 0:
		return fmt.Errorf("pooling: batch %d × seq %d", batch, seq)
	case T > a.MaxTokens:
		return fmt.Errorf("pooling: %d tokens exceed the Acts' %d", T, a.MaxTokens)
	case len(mask) != T:
		return fmt.Errorf("pooling: mask of %d for batch %d × seq %d", len(mask), batch, seq)
	case hidden.Len() < T*p.Dim || out.Len() < batch*p.OutputDim():
		return fmt.Errorf("pooling: hidden holds %d (want %d), out %d (want %d)", hidden.Len(), T*p.Dim, out.Len(), batch*p.OutputDim())
	}
	a.Mask = append(a.Mask[:0], mask...)
	if !p.IncludePrompt && promptLen > 0 {
		for b := range batch {
			clear(a.Mask[b*seq : b*seq+min(promptLen, seq)])
		}
	}
	D := p.OutputDim()
	w := a.host[:len(p.weighted)*T]
	for i, m := range p.weighted {
		modeWeights(w[i*T:(i+1)*T], m, a.Mask, batch, seq)
	}
	if len(w) > 0 {
		if err := p.be.Upload(a.Weights, w); err != nil {
			return fmt.Errorf("pooling: %w", err)
		}
	}
	wi := 0
	for i, m := range p.Modes {
		o := out.Slice(i*p.Dim, out.Len()-i*p.Dim)
		if m == Max {
			p.be.MaskedMax(o, hidden, a.Mask, batch, seq, p.Dim, D)
			continue
		}
		// o[b,:] = w[b,:]·hidden[b]: a 1×seq by seq×Dim product per sequence.
		p.be.GemmStrided(false, false, 1, p.Dim, seq, 1,
			a.Weights.Slice(wi*T, T), seq, seq,
			hidden, p.Dim, seq*p.Dim,
			0, o, D, D, batch)
		wi++
	}
	return nil
}

// Backward adds to dHidden [batch, seq, Dim] the gradient of the pooled
// output given dOut [batch, OutputDim], using the mask and weights the
// last Forward on a left there and the same hidden states: each weighted
// mode passes dOut[b]·w[b,l] to position l; max passes dOut[b,c] to the
// position that held the maximum. Masked (and, without include_prompt,
// prompt) positions get nothing.
func (p *Pooling) Backward(dHidden kernels.Buf, a *Acts, dOut, hidden kernels.Buf, batch, seq int) error {
	T := batch * seq
	switch {
	case batch <= 0 || seq <= 0 || len(a.Mask) != T:
		return fmt.Errorf("pooling: Backward for batch %d × seq %d after a Forward over %d tokens", batch, seq, len(a.Mask))
	case hidden.Len() < T*p.Dim || dHidden.Len() < T*p.Dim || dOut.Len() < batch*p.OutputDim():
		return fmt.Errorf("pooling: Backward: hidden %d, dHidden %d (want %d), dOut %d (want %d)", hidden.Len(), dHidden.Len(), T*p.Dim, dOut.Len(), batch*p.OutputDim())
	}
	D := p.OutputDim()
	wi := 0
	for i, m := range p.Modes {
		d := dOut.Slice(i*p.Dim, dOut.Len()-i*p.Dim)
		if m == Max {
			p.be.MaskedMaxBackward(dHidden, d, hidden, a.Mask, batch, seq, p.Dim, D)
			continue
		}
		// dHidden[b] += w[b]ᵀ·dOut[b]: a seq×1 by 1×Dim product per sequence.
		p.be.GemmStrided(true, false, seq, p.Dim, 1, 1,
			a.Weights.Slice(wi*T, T), seq, seq,
			d, D, D,
			1, dHidden, p.Dim, seq*p.Dim, batch)
		wi++
	}
	return nil
}

// modeWeights fills w [batch, seq] with mode m's weights for mask.
func modeWeights(w []float32, m Mode, mask []int32, batch, seq int) {
	clear(w)
	for b := range batch {
		row, mr := w[b*seq:(b+1)*seq], mask[b*seq:(b+1)*seq]
		switch m {
		case CLS:
			row[0] = 1
		case LastToken:
			for l := seq - 1; l >= 0; l-- {
				if mr[l] != 0 {
					row[l] = 1
					break
				}
			}
		case Mean, MeanSqrtLen, WeightedMean:
			var sum float64
			for l, v := range mr {
				if v != 0 {
					if m == WeightedMean {
						sum += float64(l + 1)
					} else {
						sum++
					}
				}
			}
			sum = max(sum, 1e-9)
			if m == MeanSqrtLen {
				sum = math.Sqrt(sum)
			}
			for l, v := range mr {
				if v != 0 {
					x := 1.0
					if m == WeightedMean {
						x = float64(l + 1)
					}
					row[l] = float32(x / sum)
				}
			}
		}
	}
}

// Normalize scales each row of x (rows of dim values) to unit L2 norm:
// x / max(‖x‖₂, 1e-12), as torch.nn.functional.normalize.
func Normalize(x []float32, dim int) {
	if dim <= 0 {
		return
	}
	for r := 0; r+dim <= len(x); r += dim {
		row := x[r : r+dim]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		inv := float32(1 / max(math.Sqrt(ss), 1e-12))
		for i := range row {
			row[i] *= inv
		}
	}
}
