// Package tokenizer turns text into the token ids a model reads, producing
// exactly the ids the reference tokenizers (Hugging Face tokenizers,
// sentencepiece) produce.
package tokenizer

// Encoding is one tokenized input: ids with the special tokens the
// post-processor adds, and what goes with each id.
type Encoding struct {
	IDs               []int    // token ids
	TypeIDs           []int    // segment of each token (0, or 1 for the second of a pair)
	Tokens            []string // token strings
	Offsets           []Offset // byte span of each token in the input; {0,0} for added special tokens
	SpecialTokensMask []int    // 1 where the post-processor added a special token
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
}

// WithMaxLength truncates the result to at most n ids, special tokens
// included, as Hugging Face's truncation with strategy longest_first and
// side right does (content tokens go, special tokens stay).
func WithMaxLength(n int) EncodeOption { return func(c *encodeConfig) { c.maxLength = n } }

// WithPair encodes text together with a second sequence, as for
// cross-encoders and next-sentence inputs.
func WithPair(second string) EncodeOption { return func(c *encodeConfig) { c.pair = &second } }

// WithoutSpecialTokens encodes without the post-processor's special tokens
// (add_special_tokens=False).
func WithoutSpecialTokens() EncodeOption { return func(c *encodeConfig) { c.noSpecial = true } }
