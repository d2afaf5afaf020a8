package embed

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/kotodama-ai/kotodama/bert"
	"github.com/kotodama-ai/kotodama/kernels"
	"github.com/kotodama-ai/kotodama/pooling"
	"github.com/kotodama-ai/kotodama/tokenizer"
)

// Model is a loaded embedding model. Its methods are safe for concurrent
// use.
type Model struct {
	dir           string
	be            kernels.Backend
	enc           *bert.Model
	tok           tokenizer.Tokenizer
	pool          *pooling.Pooling
	latent        *pooling.LatentAttention // replaces pool's Forward when set (latent.go)
	normalize     bool
	maxSeq        int
	lower         bool
	prompts       map[string]string
	defaultPrompt string

	mu     sync.Mutex
	free   []*workspace
	closed bool

	owned    func() error // releases the device WithDevice opened (device.go)
	inflight int          // Encode calls under way
}

// Dim is the length of the vectors Encode returns (before truncate_dim).
func (m *Model) Dim() int { return m.pool.OutputDim() }

// MaxSeqLength is the number of tokens, special tokens included, beyond
// which texts are truncated.
func (m *Model) MaxSeqLength() int { return m.maxSeq }

// Prompts returns a copy of the model's named prompts
// (config_sentence_transformers.json), and the default prompt name ("" for
// none).
func (m *Model) Prompts() (prompts map[string]string, defaultName string) {
	p := make(map[string]string, len(m.prompts))
	for k, v := range m.prompts {
		p[k] = v
	}
	return p, m.defaultPrompt
}

// Tokenizer is the model's tokenizer.
func (m *Model) Tokenizer() tokenizer.Tokenizer { return m.tok }

// Close releases the model's buffers. Encode calls after Close fail with
// ErrClosed; calls in progress finish first.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, w := range m.free {
		w.release(m.be)
	}
	m.free = nil
	if m.inflight == 0 {
		return m.releaseDevice()
	}
	return nil
}

// EncodeOption changes one Encode call.
type EncodeOption func(*encodeConfig)

type encodeConfig struct {
	promptName  *string
	prompt      *string
	batchSize   int
	normalize   bool
	maxLength   int
	truncateDim int
	progress    func(done int)
}

// WithPromptName prepends the model's prompt of that name
// (config_sentence_transformers.json) to every text. An unknown name is
// an error wrapping ErrUnknownPrompt.
func WithPromptName(name string) EncodeOption { return func(c *encodeConfig) { c.promptName = &name } }

// WithPrompt prepends prefix to every text; it takes precedence over
// WithPromptName and over the model's default prompt. An empty prefix
// turns the default prompt off.
func WithPrompt(prefix string) EncodeOption { return func(c *encodeConfig) { c.prompt = &prefix } }

// WithBatchSize sets how many texts go through the model together
// (default 32, as sentence-transformers).
func WithBatchSize(n int) EncodeOption { return func(c *encodeConfig) { c.batchSize = n } }

// WithNormalize scales every vector to unit length after truncation
// (normalize_embeddings=True), whether or not the model has a Normalize
// module.
func WithNormalize() EncodeOption { return func(c *encodeConfig) { c.normalize = true } }

// WithMaxLength truncates texts to n tokens (special tokens included)
// instead of the model's MaxSeqLength; n may not exceed the model's
// position embeddings.
func WithMaxLength(n int) EncodeOption { return func(c *encodeConfig) { c.maxLength = n } }

// WithTruncateDim keeps the first n dimensions of every vector
// (Matryoshka models), applied after the model's own Normalize module and
// before WithNormalize, as sentence-transformers' truncate_dim.
func WithTruncateDim(n int) EncodeOption { return func(c *encodeConfig) { c.truncateDim = n } }

// WithProgress calls fn after each batch with the number of texts
// encoded so far.
func WithProgress(fn func(done int)) EncodeOption { return func(c *encodeConfig) { c.progress = fn } }

// Encode returns one vector per text, in the order of texts. An empty
// list gives an empty result. ctx is checked between batches.
func (m *Model) Encode(ctx context.Context, texts []string, opts ...EncodeOption) ([][]float32, error) {
	c := encodeConfig{batchSize: 32}
	for _, o := range opts {
		o(&c)
	}
	maxLen := m.maxSeq
	if c.maxLength != 0 {
		maxLen = c.maxLength
	}
	dim := m.Dim()
	switch {
	case c.batchSize <= 0:
		return nil, fmt.Errorf("embed: batch size %d", c.batchSize)
	case maxLen < 2 || maxLen > m.enc.Config.MaxPositionEmbeddings:
		return nil, fmt.Errorf("embed: max length %d outside [2, %d]", maxLen, m.enc.Config.MaxPositionEmbeddings)
	case c.truncateDim < 0 || c.truncateDim > dim:
		return nil, fmt.Errorf("embed: truncate_dim %d outside [1, %d]", c.truncateDim, dim)
	}
	outDim := dim
	if c.truncateDim > 0 {
		outDim = c.truncateDim
	}
	prompt, err := m.prompt(c)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	closed := m.closed
	if !closed {
		m.inflight++
	}
	m.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	defer m.encodeDone()
	if len(texts) == 0 {
		return [][]float32{}, nil
	}

	promptLen := 0
	if prompt != "" && !m.pool.IncludePrompt {
		if promptLen, err = m.promptLength(prompt, maxLen); err != nil {
			return nil, err
		}
	}
	seqs, err := m.tokenize(ctx, texts, prompt, maxLen)
	if err != nil {
		return nil, err
	}
	// Longest first, as sentence-transformers (which sorts by characters;
	// the token count is what padding costs, so sort by that).
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(seqs[b].ids) - len(seqs[a].ids) })

	flat := make([]float32, len(texts)*outDim)
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = flat[i*outDim : (i+1)*outDim : (i+1)*outDim]
	}
	longest := len(seqs[order[0]].ids)
	w, err := m.workspace(min(c.batchSize, len(texts)), longest)
	if err != nil {
		return nil, err
	}
	defer m.release(w)
	for start := 0; start < len(order); start += c.batchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch := order[start:min(start+c.batchSize, len(order))]
		if err := m.encodeBatch(w, out, seqs, batch, promptLen, c, outDim); err != nil {
			return nil, err
		}
		if c.progress != nil {
			c.progress(start + len(batch))
		}
	}
	return out, nil
}

func (m *Model) prompt(c encodeConfig) (string, error) {
	switch {
	case c.prompt != nil:
		return *c.prompt, nil
	case c.promptName != nil:
		p, ok := m.prompts[*c.promptName]
		if !ok {
			return "", fmt.Errorf("%w: %q (the model has %s)", ErrUnknownPrompt, *c.promptName, promptNames(m.prompts))
		}
		return p, nil
	case m.defaultPrompt != "":
		return m.prompts[m.defaultPrompt], nil
	}
	return "", nil
}

// seq is one tokenized text.
type seq struct{ ids, types []int32 }

// prepare is sentence-transformers' Transformer.tokenize text handling:
// strip, then lower-case when the model says so.
func (m *Model) prepare(s string) string {
	s = pyStrip(s)
	if m.lower {
		s = pyLower(s)
	}
	return s
}

// tokenize turns prompt+text into ids for every text, on several
// goroutines when there are many texts.
func (m *Model) tokenize(ctx context.Context, texts []string, prompt string, maxLen int) ([]seq, error) {
	seqs := make([]seq, len(texts))
	workers := min(runtime.GOMAXPROCS(0), (len(texts)+63)/64)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(texts); i += workers {
				if i%256 == w && ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				enc, err := m.tok.Encode(m.prepare(prompt+texts[i]), tokOpts(maxLen)...)
				if err != nil {
					errs[w] = fmt.Errorf("embed: text %d: %w", i, err)
					return
				}
				if len(enc.IDs) == 0 || len(enc.IDs) > maxLen {
					errs[w] = fmt.Errorf("embed: text %d: the tokenizer gave %d ids (max length %d)", i, len(enc.IDs), maxLen)
					return
				}
				s := seq{ids: make([]int32, len(enc.IDs)), types: make([]int32, len(enc.IDs))}
				for j, id := range enc.IDs {
					s.ids[j] = int32(id)
				}
				for j, t := range enc.TypeIDs {
					if j < len(s.types) {
						s.types[j] = int32(t)
					}
				}
				seqs[i] = s
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return seqs, nil
}

// tokOpts are the tokenizer options of sentence-transformers'
// Transformer.tokenize: special tokens, truncation to maxLen keeping them
// (longest_first), and no padding per text whatever the tokenizer file
// says (sentence-transformers pads a batch itself).
func tokOpts(maxLen int) []tokenizer.EncodeOption {
	return []tokenizer.EncodeOption{tokenizer.WithMaxLength(maxLen), tokenizer.WithPadding(tokenizer.Padding{})}
}

// promptLength is the number of leading positions sentence-transformers
// attributes to the prompt when include_prompt is false: the prompt
// tokenized alone, less a trailing special token ([SEP]); the [CLS] at
// the front counts.
func (m *Model) promptLength(prompt string, maxLen int) (int, error) {
	enc, err := m.tok.Encode(m.prepare(prompt), tokOpts(maxLen)...)
	if err != nil {
		return 0, fmt.Errorf("embed: prompt: %w", err)
	}
	n := len(enc.IDs)
	if n > 0 && n <= len(enc.SpecialTokensMask) && enc.SpecialTokensMask[n-1] == 1 {
		n--
	}
	return n, nil
}

// encodeBatch runs the texts seqs[batch[i]] through the model and writes
// their vectors to out[batch[i]].
func (m *Model) encodeBatch(w *workspace, out [][]float32, seqs []seq, batch []int, promptLen int, c encodeConfig, outDim int) error {
	seqLen := 0
	for _, i := range batch {
		seqLen = max(seqLen, len(seqs[i].ids))
	}
	B, T := len(batch), len(batch)*seqLen
	ids, types, mask := w.ids[:T], w.types[:T], w.mask[:T]
	pad := int32(m.tok.PadID())
	for b, i := range batch {
		s := seqs[i]
		row := ids[b*seqLen : (b+1)*seqLen]
		n := copy(row, s.ids)
		for j := n; j < seqLen; j++ {
			row[j] = pad
		}
		clear(types[b*seqLen : (b+1)*seqLen])
		copy(types[b*seqLen:], s.types)
		mr := mask[b*seqLen : (b+1)*seqLen]
		for j := range mr {
			mr[j] = 0
			if j < n {
				mr[j] = 1
			}
		}
	}
	if err := m.enc.Forward(w.acts, ids, types, mask, B, seqLen); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	D := m.Dim()
	if err := m.poolForward(w, mask, B, seqLen, promptLen); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	host := w.host[:B*D]
	if err := m.be.Download(host, w.pooled.Slice(0, B*D)); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	if m.normalize {
		pooling.Normalize(host, D)
	}
	for b, i := range batch {
		copy(out[i], host[b*D:b*D+outDim])
		if c.normalize {
			pooling.Normalize(out[i], outDim)
		}
	}
	return nil
}

// workspace is one Encode call's buffers, reused across calls.
type workspace struct {
	batch, seq       int
	acts             *bert.Activations
	pacts            *pooling.Acts
	lacts            *pooling.LatentActs
	pooled           kernels.Buf
	host             []float32
	ids, types, mask []int32
}

func (w *workspace) release(be kernels.Backend) {
	w.acts.Release()
	w.pacts.Release()
	if w.lacts != nil {
		w.lacts.Release()
	}
	be.Free(w.pooled)
}

// workspace returns buffers for batches of up to batch sequences of up to
// seqLen tokens, reusing a free one when it is big enough.
func (m *Model) workspace(batch, seqLen int) (*workspace, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	for i, w := range m.free {
		if w.batch*w.seq >= batch*seqLen && w.seq >= seqLen && w.batch >= batch {
			m.free = slices.Delete(m.free, i, i+1)
			m.mu.Unlock()
			return w, nil
		}
	}
	m.mu.Unlock()
	T := batch * seqLen
	acts, err := m.enc.NewActivations(T, seqLen, false)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	pacts, err := m.pool.NewActs(T)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	pooled, err := m.be.Alloc(batch * m.Dim())
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	w := &workspace{
		batch: batch, seq: seqLen, acts: acts, pacts: pacts, pooled: pooled,
		host: make([]float32, batch*m.Dim()),
		ids:  make([]int32, T), types: make([]int32, T), mask: make([]int32, T),
	}
	if err := m.newLatentActs(w); err != nil {
		return nil, err
	}
	return w, nil
}

// release returns w to the pool, replacing a smaller free workspace so
// the pool keeps the most useful ones.
func (m *Model) release(w *workspace) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		w.release(m.be)
		return
	}
	const keep = 4
	if len(m.free) < keep {
		m.free = append(m.free, w)
		return
	}
	smallest := 0
	for i, f := range m.free {
		if f.batch*f.seq < m.free[smallest].batch*m.free[smallest].seq {
			smallest = i
		}
	}
	if m.free[smallest].batch*m.free[smallest].seq < w.batch*w.seq {
		m.free[smallest].release(m.be)
		m.free[smallest] = w
	} else {
		w.release(m.be)
	}
}

// pyStrip removes leading and trailing white space as Python's str.strip
// does: Go's unicode.IsSpace plus the separators U+001C..U+001F.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) })
}

// pyLower lower-cases as Python's str.lower does, except for the
// context-dependent final sigma (Go maps Σ to σ everywhere): U+0130 (İ)
// becomes "i̇" as in Python rather than Go's plain "i".
func pyLower(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "\u0130", "i\u0307"))
}
