package pooling

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/kotodama-ai/kotodama/kernels"
)

// Latent-attention pooling, after NV-Embed (Lee et al. 2024, "NV-Embed:
// Improved Techniques for Training LLMs as Generalist Embedding Models"),
// LatentAttentionModel of its modeling_nvembed.py. The token states are
// the queries of one cross-attention block whose keys and values come
// from a trained array of latents; a GEGLU feed-forward follows; both
// blocks are pre-LayerNorm with a residual; then the tokens are
// mean-pooled with padding (and, optionally, the instruction) masked:
//
//	X  = H + Wo·Attn(q = Wq·LN(H), k|v = Wkv·LN_ctx(latents))
//	Y  = X + W2·GEGLU(W1·LN_ff(X) + b1) + b2
//	out = Σ_l mask_l·Y_l / Σ_l mask_l
//
// Attention has no mask (every latent is valid) and no biases; heads are
// split as contiguous groups of HeadDim features. GEGLU(a | g) = a·GELU(g)
// with the first half of W1's outputs the value, the second the gate.

// LatentEps is the epsilon of the three LayerNorms: torch.nn.LayerNorm's
// default, which NV-Embed does not override.
const LatentEps = 1e-5

// LatentFFMult is the width of the feed-forward's hidden layer in units
// of Dim (NV-Embed's FeedForward mult).
const LatentFFMult = 4

// LatentConfig sizes a latent-attention pooling module.
type LatentConfig struct {
	// Dim is the width of the token states (NV-Embed's hidden_dim and
	// latent_dim, which must agree).
	Dim int
	// Latents is the number of latent vectors r (num_latents_value;
	// NV-Embed: 512).
	Latents int
	// Heads is the number of attention heads (num_cross_heads; NV-Embed: 8).
	Heads int
	// HeadDim is the width of one head (cross_dim_head). The attention's
	// inner width is Heads·HeadDim, which need not equal Dim: NV-Embed-v2
	// uses HeadDim = Dim = 4096. NewLatentConfig picks Dim/Heads.
	HeadDim int
	// Normalize asks for unit-length embeddings (output_normalize). Forward
	// returns the mean itself; the model that uses the module (package
	// embed) normalizes, as a Normalize module would, and contrastive
	// losses normalize on their own.
	Normalize bool
	// IncludePrompt false leaves the instruction's tokens out of the mean,
	// as NV-Embed does (is_mask_instruction). The attention still sees
	// them.
	IncludePrompt bool
}

// NewLatentConfig returns NV-Embed's sizes (512 latents, 8 heads) for
// token states of width dim, with heads of dim/8 features, the
// instruction excluded from the mean and no normalization.
func NewLatentConfig(dim int) LatentConfig {
	return LatentConfig{Dim: dim, Latents: 512, Heads: 8, HeadDim: max(1, dim/8)}
}

// Inner is the width of the attention's queries, keys and values.
func (c LatentConfig) Inner() int { return c.Heads * c.HeadDim }

// FF is the width of the feed-forward's hidden layer (GEGLU output).
func (c LatentConfig) FF() int { return LatentFFMult * c.Dim }

// NumParams is the number of float32 values of c's parameters.
func (c LatentConfig) NumParams() int {
	d, in, f := c.Dim, c.Inner(), c.FF()
	return 2*d + 2*d + in*d + 2*in*d + d*in + 2*d + 2*f*d + 2*f + d*f + d + c.Latents*d
}

// Validate checks that c can be built.
func (c LatentConfig) Validate() error {
	if c.Dim <= 0 || c.Latents <= 0 || c.Heads <= 0 || c.HeadDim <= 0 {
		return fmt.Errorf("%w: latent attention with dim %d, %d latents, %d heads of %d", ErrConfig, c.Dim, c.Latents, c.Heads, c.HeadDim)
	}
	return nil
}

// LatentParams are a LatentAttention's weights, as views into one Buf in
// a layout decided by the config alone, so a second LatentParams of the
// same config (gradients, optimizer moments) lines up element for
// element. Shapes in PyTorch's layout (Linear weights are [out, in]):
//
//	Norm, NormContext, NormFF    LayerNorm gamma (weight) and beta (bias), [Dim] each
//	ToQ   [Inner, Dim]      ToKV [2·Inner, Dim] (keys, then values)   ToOut [Dim, Inner]
//	FFIn  [2·FF, Dim]  FFInBias [2·FF]   (values, then gates)
//	FFOut [Dim, FF]    FFOutBias [Dim]
//	Latents [Latents, Dim]
type LatentParams struct {
	Arena                            kernels.Buf
	NormGamma, NormBeta              kernels.Buf
	ContextGamma, ContextBeta        kernels.Buf
	ToQ, ToKV, ToOut                 kernels.Buf
	FFGamma, FFBeta                  kernels.Buf
	FFIn, FFInBias, FFOut, FFOutBias kernels.Buf
	Latents                          kernels.Buf
	cfg                              LatentConfig
}

// NewLatentParams allocates zeroed parameters for c on be.
func NewLatentParams(be kernels.Backend, c LatentConfig) (*LatentParams, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	arena, err := be.Alloc(c.NumParams())
	if err != nil {
		return nil, fmt.Errorf("pooling: allocating %d latent-attention parameters: %w", c.NumParams(), err)
	}
	d, in, f := c.Dim, c.Inner(), c.FF()
	off := 0
	take := func(n int) kernels.Buf {
		b := arena.Slice(off, n)
		off += n
		return b
	}
	// NV-Embed's state_dict order.
	p := &LatentParams{Arena: arena, cfg: c}
	p.NormGamma, p.NormBeta = take(d), take(d)
	p.ContextGamma, p.ContextBeta = take(d), take(d)
	p.ToQ, p.ToKV, p.ToOut = take(in*d), take(2*in*d), take(d*in)
	p.FFGamma, p.FFBeta = take(d), take(d)
	p.FFIn, p.FFInBias = take(2*f*d), take(2*f)
	p.FFOut, p.FFOutBias = take(d*f), take(d)
	p.Latents = take(c.Latents * d)
	if off != arena.Len() {
		panic(fmt.Sprintf("pooling: latent parameter layout covers %d of %d values", off, arena.Len()))
	}
	return p, nil
}

// Named is one tensor under its name, as a view into a parameter arena.
type Named struct {
	Name  string
	Shape []int
	Buf   kernels.Buf
}

// LatentPrefix is what NV-Embed's checkpoints put before the names of
// Tensors (the module's attribute in NVEmbedModel).
const LatentPrefix = "latent_attention_model."

// Tensors lists the parameters under the names of NV-Embed's
// LatentAttentionModel state_dict (without LatentPrefix), in arena order.
func (p *LatentParams) Tensors() []Named {
	c := p.cfg
	d, in, f := c.Dim, c.Inner(), c.FF()
	return []Named{
		{"cross_attend_blocks.0.norm.weight", []int{d}, p.NormGamma},
		{"cross_attend_blocks.0.norm.bias", []int{d}, p.NormBeta},
		{"cross_attend_blocks.0.norm_context.weight", []int{d}, p.ContextGamma},
		{"cross_attend_blocks.0.norm_context.bias", []int{d}, p.ContextBeta},
		{"cross_attend_blocks.0.fn.to_q.weight", []int{in, d}, p.ToQ},
		{"cross_attend_blocks.0.fn.to_kv.weight", []int{2 * in, d}, p.ToKV},
		{"cross_attend_blocks.0.fn.to_out.weight", []int{d, in}, p.ToOut},
		{"cross_attend_blocks.1.norm.weight", []int{d}, p.FFGamma},
		{"cross_attend_blocks.1.norm.bias", []int{d}, p.FFBeta},
		{"cross_attend_blocks.1.fn.net.0.weight", []int{2 * f, d}, p.FFIn},
		{"cross_attend_blocks.1.fn.net.0.bias", []int{2 * f}, p.FFInBias},
		{"cross_attend_blocks.1.fn.net.2.weight", []int{d, f}, p.FFOut},
		{"cross_attend_blocks.1.fn.net.2.bias", []int{d}, p.FFOutBias},
		{"latents", []int{c.Latents, d}, p.Latents},
	}
}

// Init sets p as a fresh NV-Embed LatentAttentionModel is (PyTorch's
// defaults; the model calls no init of its own): latents from N(0, 1);
// every Linear weight and bias from U(−1/√fan_in, 1/√fan_in)
// (kaiming_uniform with a = √5); LayerNorm weights 1 and biases 0. The
// draw is a pure function of seed. p must be in host memory.
func (p *LatentParams) Init(seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 0x6c6174656e74)) // "latent"
	c := p.cfg
	uniform := func(b kernels.Buf, fanIn int) {
		bound := 1 / math.Sqrt(float64(fanIn))
		for i := range b.Host() {
			b.Host()[i] = float32((2*r.Float64() - 1) * bound)
		}
	}
	fill := func(b kernels.Buf, v float32) {
		for i := range b.Host() {
			b.Host()[i] = v
		}
	}
	if p.Arena.Host() == nil && p.Arena.Len() > 0 {
		return fmt.Errorf("pooling: Init: %w", errDevice)
	}
	for _, t := range p.Tensors() {
		switch t.Name {
		case "latents":
			for i := range t.Buf.Host() {
				t.Buf.Host()[i] = float32(r.NormFloat64())
			}
		case "cross_attend_blocks.0.fn.to_out.weight":
			uniform(t.Buf, c.Inner())
		case "cross_attend_blocks.1.fn.net.2.weight", "cross_attend_blocks.1.fn.net.2.bias":
			uniform(t.Buf, c.FF())
		case "cross_attend_blocks.0.fn.to_q.weight", "cross_attend_blocks.0.fn.to_kv.weight",
			"cross_attend_blocks.1.fn.net.0.weight", "cross_attend_blocks.1.fn.net.0.bias":
			uniform(t.Buf, c.Dim)
		default: // LayerNorms
			if strings.HasSuffix(t.Name, ".weight") {
				fill(t.Buf, 1)
			} else {
				fill(t.Buf, 0)
			}
		}
	}
	return nil
}

var errDevice = errors.New("parameters are not in host memory")

// LatentAttention is latent-attention pooling on a Backend. Its
// parameters are read-only during Forward, so one LatentAttention serves
// any number of goroutines, each with its own LatentActs.
type LatentAttention struct {
	LatentConfig
	Params *LatentParams
	be     kernels.Backend
	mean   *Pooling
}

// NewLatentAttention returns the module c describes on be, with zeroed
// parameters (Init or LoadWeights them).
func NewLatentAttention(be kernels.Backend, c LatentConfig) (*LatentAttention, error) {
	p, err := NewLatentParams(be, c)
	if err != nil {
		return nil, err
	}
	mean, err := New(be, Config{Dim: c.Dim, Modes: []Mode{Mean}, IncludePrompt: c.IncludePrompt})
	if err != nil {
		return nil, err
	}
	return &LatentAttention{LatentConfig: c, Params: p, be: be, mean: mean}, nil
}

// OutputDim is the width of the pooled vector, Dim.
func (l *LatentAttention) OutputDim() int { return l.Dim }

// NewGrads returns zeroed gradients laid out like l's parameters.
func (l *LatentAttention) NewGrads() (*LatentParams, error) {
	return NewLatentParams(l.be, l.LatentConfig)
}

// LatentActs hold one batch's tensors, for batches of up to MaxTokens
// tokens; reuse them across batches. After Forward the views are cut to
// its T = Batch·Seq tokens and hold what Backward needs:
//
//	XNorm [T, Dim]            LN(H)                       XMean, XRstd [T]
//	CNorm [Latents, Dim]      LN_ctx(latents)             CMean, CRstd [Latents]
//	Q     [T, Inner]          XNorm·Wqᵀ
//	KV    [Latents, 2·Inner]  CNorm·Wkvᵀ (keys, then values)
//	Probs [Heads, T, Latents] softmax(Q_h·K_hᵀ/√HeadDim)
//	Ctx   [T, Inner]          Probs_h·V_h, heads side by side
//	Mid   [T, Dim]            Ctx·Woᵀ + H
//	FNorm [T, Dim]            LN_ff(Mid)                  FMean, FRstd [T]
//	Pre   [T, 2·FF]           FNorm·W1ᵀ + b1 (values, then gates)
//	Act   [T, FF]             GEGLU(Pre)
//	Out   [T, Dim]            Act·W2ᵀ + b2 + Mid: NV-Embed's hiddens before the mean
type LatentActs struct {
	MaxTokens  int
	Batch, Seq int

	XNorm, XMean, XRstd kernels.Buf
	CNorm, CMean, CRstd kernels.Buf
	Q, KV, Probs, Ctx   kernels.Buf
	Mid                 kernels.Buf
	FNorm, FMean, FRstd kernels.Buf
	Pre, Act, Out       kernels.Buf

	pool  *Acts
	full  *LatentActs // the uncut views
	arena kernels.Buf
	grad  *latentScratch
	be    kernels.Backend
	cfg   LatentConfig
}

// NewActs allocates activations for batches of up to maxTokens tokens.
func (l *LatentAttention) NewActs(maxTokens int) (*LatentActs, error) {
	c := l.LatentConfig
	if maxTokens <= 0 {
		return nil, fmt.Errorf("pooling: NewActs(%d tokens)", maxTokens)
	}
	T, d, in, f, r, h := maxTokens, c.Dim, c.Inner(), c.FF(), c.Latents, c.Heads
	need := T*(d+2) + r*(d+2) + T*in + r*2*in + h*T*r + T*in + T*d + T*(d+2) + T*2*f + T*f + T*d
	arena, err := l.be.Alloc(need)
	if err != nil {
		return nil, fmt.Errorf("pooling: allocating latent-attention activations for %d tokens: %w", T, err)
	}
	off := 0
	take := func(n int) kernels.Buf {
		b := arena.Slice(off, n)
		off += n
		return b
	}
	a := &LatentActs{MaxTokens: T, arena: arena, be: l.be, cfg: c}
	a.full = &LatentActs{
		XNorm: take(T * d), XMean: take(T), XRstd: take(T),
		CNorm: take(r * d), CMean: take(r), CRstd: take(r),
		Q: take(T * in), KV: take(r * 2 * in), Probs: take(h * T * r), Ctx: take(T * in),
		Mid:   take(T * d),
		FNorm: take(T * d), FMean: take(T), FRstd: take(T),
		Pre: take(T * 2 * f), Act: take(T * f), Out: take(T * d),
	}
	if off != need {
		panic(fmt.Sprintf("pooling: latent activation layout covers %d of %d values", off, need))
	}
	if a.pool, err = l.mean.NewActs(T); err != nil {
		l.be.Free(arena)
		return nil, err
	}
	return a, nil
}

// Release returns the activations' memory to the Backend; a must not be
// used afterwards.
func (a *LatentActs) Release() {
	if a.be == nil {
		return
	}
	a.be.Free(a.arena)
	if a.grad != nil {
		a.be.Free(a.grad.arena)
	}
	a.pool.Release()
	a.be, a.arena, a.grad = nil, kernels.Buf{}, nil
}

// shape cuts the views to batch×seq tokens.
func (a *LatentActs) shape(batch, seq int) {
	c, f := a.cfg, a.full
	T, d, in, ff, h, r := batch*seq, c.Dim, c.Inner(), c.FF(), c.Heads, c.Latents
	a.Batch, a.Seq = batch, seq
	a.XNorm, a.XMean, a.XRstd = f.XNorm.Slice(0, T*d), f.XMean.Slice(0, T), f.XRstd.Slice(0, T)
	a.CNorm, a.CMean, a.CRstd = f.CNorm, f.CMean, f.CRstd
	a.Q, a.KV, a.Probs, a.Ctx = f.Q.Slice(0, T*in), f.KV, f.Probs.Slice(0, h*T*r), f.Ctx.Slice(0, T*in)
	a.Mid = f.Mid.Slice(0, T*d)
	a.FNorm, a.FMean, a.FRstd = f.FNorm.Slice(0, T*d), f.FMean.Slice(0, T), f.FRstd.Slice(0, T)
	a.Pre, a.Act, a.Out = f.Pre.Slice(0, T*2*ff), f.Act.Slice(0, T*ff), f.Out.Slice(0, T*d)
}

// at returns the view of b from offset off to its end.
func at(b kernels.Buf, off int) kernels.Buf { return b.Slice(off, b.Len()-off) }

// Forward pools token states into one vector per sequence:
//
//	out    [batch, Dim]          the masked mean of a.Out
//	hidden [batch, seq, Dim]     the encoder's last hidden state H
//	mask   [batch, seq]          1 for tokens, 0 for padding
//
// promptLen is the number of leading positions the instruction takes
// ([CLS] included), left out of the mean when IncludePrompt is false;
// pass 0 without one. The activations Backward needs stay in a.
func (l *LatentAttention) Forward(out kernels.Buf, a *LatentActs, hidden kernels.Buf, mask []int32, batch, seq, promptLen int) error {
	c := l.LatentConfig
	T, d, in, f, r, h, dh := batch*seq, c.Dim, c.Inner(), c.FF(), c.Latents, c.Heads, c.HeadDim
	switch {
	case a == nil || a.cfg != c:
		return fmt.Errorf("pooling: LatentActs made for another latent attention")
	case batch <= 0 || seq <= 0:
		return fmt.Errorf("pooling: batch %d × seq %d", batch, seq)
	case T > a.MaxTokens:
		return fmt.Errorf("pooling: %d tokens exceed the LatentActs' %d", T, a.MaxTokens)
	case len(mask) != T:
		return fmt.Errorf("pooling: mask of %d for batch %d × seq %d", len(mask), batch, seq)
	case hidden.Len() < T*d || out.Len() < batch*d:
		return fmt.Errorf("pooling: hidden holds %d (want %d), out %d (want %d)", hidden.Len(), T*d, out.Len(), batch*d)
	}
	a.shape(batch, seq)
	be, p := l.be, l.Params
	scale := float32(1 / math.Sqrt(float64(dh)))

	// Keys and values from the latents: the same for every sequence.
	be.LayerNorm(a.CNorm, a.CMean, a.CRstd, p.Latents, p.ContextGamma, p.ContextBeta, r, d, LatentEps)
	be.Gemm(false, true, r, 2*in, d, 1, a.CNorm, d, p.ToKV, d, 0, a.KV, 2*in)
	// Queries from the tokens.
	be.LayerNorm(a.XNorm, a.XMean, a.XRstd, hidden, p.NormGamma, p.NormBeta, T, d, LatentEps)
	be.Gemm(false, true, T, in, d, 1, a.XNorm, d, p.ToQ, d, 0, a.Q, in)
	// Per head: Probs_h = softmax(s·Q_h·K_hᵀ) [T, r], Ctx_h = Probs_h·V_h [T, dh].
	for hd := range h {
		be.Gemm(false, true, T, r, dh, scale, at(a.Q, hd*dh), in, at(a.KV, hd*dh), 2*in, 0, a.Probs.Slice(hd*T*r, T*r), r)
	}
	be.Softmax(a.Probs, h*T, r)
	for hd := range h {
		be.Gemm(false, false, T, dh, r, 1, a.Probs.Slice(hd*T*r, T*r), r, at(a.KV, in+hd*dh), 2*in, 0, at(a.Ctx, hd*dh), in)
	}
	// Mid = Ctx·Woᵀ + H.
	be.Gemm(false, true, T, d, in, 1, a.Ctx, in, p.ToOut, in, 0, a.Mid, d)
	be.Add(a.Mid, a.Mid, hidden, T*d)
	// Out = W2·GEGLU(W1·LN_ff(Mid) + b1) + b2 + Mid.
	be.LayerNorm(a.FNorm, a.FMean, a.FRstd, a.Mid, p.FFGamma, p.FFBeta, T, d, LatentEps)
	be.Gemm(false, true, T, 2*f, d, 1, a.FNorm, d, p.FFIn, d, 0, a.Pre, 2*f)
	be.AddBias(a.Pre, p.FFInBias, T, 2*f)
	be.GEGLU(a.Act, a.Pre, T, f)
	be.Gemm(false, true, T, d, f, 1, a.Act, f, p.FFOut, f, 0, a.Out, d)
	be.AddBias(a.Out, p.FFOutBias, T, d)
	be.Add(a.Out, a.Out, a.Mid, T*d)
	return l.mean.Forward(out, a.pool, a.Out, mask, batch, seq, promptLen)
}

// latentScratch is the backward pass's working memory, made on first use
// and sized for MaxTokens.
type latentScratch struct {
	arena      kernels.Buf
	dOut, dTmp kernels.Buf // [T, Dim] each
	dAct       kernels.Buf // [T, FF]
	dPre       kernels.Buf // [T, 2·FF]
	dCtx       kernels.Buf // [T, Inner]; dQ after the attention backward
	dProbs     kernels.Buf // [Heads, T, Latents]
	dKV        kernels.Buf // [Latents, 2·Inner]
	dCNorm     kernels.Buf // [Latents, Dim]
	zeros      []float32   // [T, Dim] host zeros: Upload clears dOut on any Backend
}

func (a *LatentActs) scratch() (*latentScratch, error) {
	if a.grad != nil {
		return a.grad, nil
	}
	c := a.cfg
	T, d, in, f, r, h := a.MaxTokens, c.Dim, c.Inner(), c.FF(), c.Latents, c.Heads
	need := 2*T*d + T*f + 2*T*f + T*in + h*T*r + 2*r*in + r*d
	arena, err := a.be.Alloc(need)
	if err != nil {
		return nil, fmt.Errorf("pooling: allocating latent-attention backward scratch for %d tokens: %w", T, err)
	}
	off := 0
	take := func(n int) kernels.Buf {
		b := arena.Slice(off, n)
		off += n
		return b
	}
	a.grad = &latentScratch{arena: arena, dOut: take(T * d), dTmp: take(T * d), dAct: take(T * f), dPre: take(2 * T * f),
		dCtx: take(T * in), dProbs: take(h * T * r), dKV: take(2 * r * in), dCNorm: take(r * d),
		zeros: make([]float32, T*d)}
	return a.grad, nil
}

// Backward back-propagates dOut [Batch, Dim], the gradient of the pooled
// vectors of the last Forward on a, whose input was hidden: it adds the
// gradient with respect to hidden to dHidden [Batch, Seq, Dim] and each
// parameter's gradient to g (NewGrads). Padded and excluded positions
// pass their share through the attention only; padding gets exactly 0.
func (l *LatentAttention) Backward(dHidden kernels.Buf, g *LatentParams, a *LatentActs, dOut, hidden kernels.Buf) error {
	c := l.LatentConfig
	batch, seq := a.Batch, a.Seq
	T, d, in, f, r, h, dh := batch*seq, c.Dim, c.Inner(), c.FF(), c.Latents, c.Heads, c.HeadDim
	switch {
	case a.cfg != c:
		return fmt.Errorf("pooling: LatentActs made for another latent attention")
	case T == 0:
		return fmt.Errorf("pooling: latent attention Backward before Forward")
	case g == nil || g.cfg != c:
		return fmt.Errorf("pooling: gradients are not a LatentParams of this config")
	case hidden.Len() < T*d || dHidden.Len() < T*d || dOut.Len() < batch*d:
		return fmt.Errorf("pooling: Backward: hidden %d, dHidden %d (want %d), dOut %d (want %d)", hidden.Len(), dHidden.Len(), T*d, dOut.Len(), batch*d)
	}
	s, err := a.scratch()
	if err != nil {
		return err
	}
	be, p := l.be, l.Params
	scale := float32(1 / math.Sqrt(float64(dh)))
	dY := s.dOut.Slice(0, T*d)     // gradient of Out; then of Mid
	dTmp := s.dTmp.Slice(0, T*d)   // of FNorm; then of XNorm
	dAct := s.dAct.Slice(0, T*f)   // of Act
	dPre := s.dPre.Slice(0, 2*T*f) // of Pre
	dCtx := s.dCtx.Slice(0, T*in)  // of Ctx; then of Q
	dP := s.dProbs.Slice(0, h*T*r) // of Probs; then of the scores
	dKV, dCN := s.dKV, s.dCNorm    // of KV, of CNorm

	// Mean pooling: dY = the pooled gradient spread over the pooled tokens.
	if err := be.Upload(dY, s.zeros[:T*d]); err != nil {
		return fmt.Errorf("pooling: %w", err)
	}
	if err := l.mean.Backward(dY, a.pool, dOut, a.Out, batch, seq); err != nil {
		return err
	}
	// Feed-forward: Out = W2·Act + b2 + Mid.
	be.BiasBackward(g.FFOutBias, dY, T, d)
	be.Gemm(true, false, d, f, T, 1, dY, d, a.Act, f, 1, g.FFOut, f)
	be.Gemm(false, false, T, f, d, 1, dY, d, p.FFOut, f, 0, dAct, f)
	be.GEGLUBackward(dPre, dAct, a.Pre, T, f)
	be.BiasBackward(g.FFInBias, dPre, T, 2*f)
	be.Gemm(true, false, 2*f, d, T, 1, dPre, 2*f, a.FNorm, d, 1, g.FFIn, d)
	be.Gemm(false, false, T, d, 2*f, 1, dPre, 2*f, p.FFIn, d, 0, dTmp, d)
	be.LayerNormBackward(dTmp, g.FFGamma, g.FFBeta, dTmp, a.Mid, p.FFGamma, a.FMean, a.FRstd, T, d)
	be.Add(dY, dY, dTmp, T*d) // dMid: the residual plus the feed-forward's branch
	// Attention: Mid = Ctx·Woᵀ + H.
	be.Gemm(true, false, d, in, T, 1, dY, d, a.Ctx, in, 1, g.ToOut, in)
	be.Gemm(false, false, T, in, d, 1, dY, d, p.ToOut, in, 0, dCtx, in)
	for hd := range h {
		P, dPh := a.Probs.Slice(hd*T*r, T*r), dP.Slice(hd*T*r, T*r)
		// dV_h = P_hᵀ·dCtx_h,  dP_h = dCtx_h·V_hᵀ
		be.Gemm(true, false, r, dh, T, 1, P, r, at(dCtx, hd*dh), in, 0, at(dKV, in+hd*dh), 2*in)
		be.Gemm(false, true, T, r, dh, 1, at(dCtx, hd*dh), in, at(a.KV, in+hd*dh), 2*in, 0, dPh, r)
	}
	be.SoftmaxBackward(dP, a.Probs, h*T, r)
	dQ := dCtx // dCtx is spent
	for hd := range h {
		dS := dP.Slice(hd*T*r, T*r)
		// dQ_h = s·dS_h·K_h,  dK_h = s·dS_hᵀ·Q_h
		be.Gemm(false, false, T, dh, r, scale, dS, r, at(a.KV, hd*dh), 2*in, 0, at(dQ, hd*dh), in)
		be.Gemm(true, false, r, dh, T, scale, dS, r, at(a.Q, hd*dh), in, 0, at(dKV, hd*dh), 2*in)
	}
	// Queries: Q = LN(H)·Wqᵀ; dH = dMid + LN⁻¹(dQ·Wq).
	be.Gemm(true, false, in, d, T, 1, dQ, in, a.XNorm, d, 1, g.ToQ, d)
	be.Gemm(false, false, T, d, in, 1, dQ, in, p.ToQ, d, 0, dTmp, d)
	be.LayerNormBackward(dTmp, g.NormGamma, g.NormBeta, dTmp, hidden, p.NormGamma, a.XMean, a.XRstd, T, d)
	be.Add(dHidden, dHidden, dY, T*d)
	be.Add(dHidden, dHidden, dTmp, T*d)
	// Latents: KV = LN_ctx(latents)·Wkvᵀ.
	be.Gemm(true, false, 2*in, d, r, 1, dKV, 2*in, a.CNorm, d, 1, g.ToKV, d)
	be.Gemm(false, false, r, d, 2*in, 1, dKV, 2*in, p.ToKV, d, 0, dCN, d)
	be.LayerNormBackward(dCN, g.ContextGamma, g.ContextBeta, dCN, p.Latents, p.ContextGamma, a.CMean, a.CRstd, r, d)
	be.Add(g.Latents, g.Latents, dCN, r*d)
	return nil
}
