package tokenizer

// Encoding is one tokenized input: ids with the special tokens the
// post-processor adds, and what goes with each id.
type Encoding struct {
	IDs               []int    // token ids
	TypeIDs           []int    // segment of each token (0, or 1 for the second of a pair)
	Tokens            []string // token strings
	Offsets           []Offset // byte span of each token in its input text; {0,0} for added special tokens and padding
	SpecialTokensMask []int    // 1 where the post-processor added a special token (or padding)
	AttentionMask     []int    // 1 for real tokens, 0 for padding
	WordIDs           []int    // index of the pre-tokenized word each token came from; -1 for special tokens and padding
}

// Offset is a half-open byte range [Start, End) of the input text.
type Offset struct{ Start, End int }

// Tokenizer is what an encoder needs from a tokenizer. Implementations are
// safe for concurrent use.
type Tokenizer interface {
	// Encode tokenizes text as the reference does with
	// add_special_tokens=True, applying opts (truncation, a second
	// sequence, no special tokens).
	Encode(text string, opts ...EncodeOption) (*Encoding, error)
	// Decode turns ids back into text, leaving out special tokens when
	// skipSpecial is set.
	Decode(ids []int, skipSpecial bool) (string, error)
	// VocabSize is the number of ids, added tokens included.
	VocabSize() int
	// TokenID returns the id of a token string.
	TokenID(token string) (int, bool)
	// Token returns the string of an id.
	Token(id int) (string, bool)
	// PadID is the id used for padding.
	PadID() int
}

// EncodeOption changes how Encode tokenizes.
type EncodeOption func(*encodeConfig)

type encodeConfig struct {
	maxLength int
	pair      *string
	noSpecial bool
	trunc     *Truncation
	pad       *Padding
}

// WithMaxLength truncates the result to at most n ids, special tokens
// included, as Hugging Face's truncation does: content tokens go, special
// tokens stay. The strategy and side are WithTruncation's or the
// tokenizer file's, by default longest_first from the right.
func WithMaxLength(n int) EncodeOption { return func(c *encodeConfig) { c.maxLength = n } }

// WithPair encodes text together with a second sequence, as for
// cross-encoders and next-sentence inputs.
func WithPair(second string) EncodeOption { return func(c *encodeConfig) { c.pair = &second } }

// WithoutSpecialTokens encodes without the post-processor's special tokens
// (add_special_tokens=False).
func WithoutSpecialTokens() EncodeOption { return func(c *encodeConfig) { c.noSpecial = true } }

// WithTruncation truncates as t says (strategy for pairs, side). It
// replaces the tokenizer file's own truncation settings; WithMaxLength, if
// also given, overrides t.MaxLength.
func WithTruncation(t Truncation) EncodeOption { return func(c *encodeConfig) { c.trunc = &t } }

// WithPadding pads the result as p says. A single Encode pads only to
// p.Length (or a multiple); EncodeBatch with p.Length 0 pads every
// encoding to the longest of the batch.
func WithPadding(p Padding) EncodeOption { return func(c *encodeConfig) { c.pad = &p } }

// Padding says how encodings are padded (Hugging Face's PaddingParams).
type Padding struct {
	Length   int    // pad to this many ids; 0 pads a batch to its longest
	Multiple int    // then round the length up to a multiple of this (pad_to_multiple_of)
	ID       int    // the pad id
	TypeID   int    // the type id of padding
	Token    string // the pad token string
	Left     bool   // pad on the left instead of the right
}
