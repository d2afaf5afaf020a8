package tokenizer

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A decoder turns token strings back into text (Hugging Face's Decoder):
// decodeChain rewrites the token list, and the results are concatenated.
type decoder interface {
	decodeChain(tokens []string) []string
}

// Decode turns ids back into text with the tokenizer's decoder (tokens
// joined by spaces when it has none), leaving out special added tokens
// when skipSpecial is set. An id outside the vocabulary is an error
// (ErrUnknownID).
func (t *Pipeline) Decode(ids []int, skipSpecial bool) (string, error) {
	tokens := make([]string, 0, len(ids))
	for _, id := range ids {
		if id < 0 || id >= len(t.vocab) {
			return "", fmt.Errorf("tokenizer: decode: id %d (vocabulary size %d): %w", id, len(t.vocab), ErrUnknownID)
		}
		if skipSpecial && t.special[int32(id)] {
			continue
		}
		tokens = append(tokens, t.vocab[id])
	}
	if t.decoder == nil {
		return strings.Join(tokens, " "), nil
	}
	return strings.Join(t.decoder.decodeChain(tokens), ""), nil
}

// seqDecoder applies decoders in order (Sequence).
type seqDecoder []decoder

func (s seqDecoder) decodeChain(tokens []string) []string {
	for _, d := range s {
		tokens = d.decodeChain(tokens)
	}
	return tokens
}

// wordPieceDecoder is the WordPiece decoder: continuation pieces lose
// their prefix, other tokens get a space before them, and optionally the
// English clean-up of spaces before punctuation.
type wordPieceDecoder struct {
	prefix  string
	cleanup bool
}

func (d wordPieceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		if i != 0 {
			if strings.HasPrefix(t, d.prefix) {
				t = strings.Replace(t, d.prefix, "", 1)
			} else {
				t = " " + t
			}
		}
		if d.cleanup {
			t = cleanupSpaces(t)
		}
		out[i] = t
	}
	return out
}

// cleanupSpaces is the decoders' English clean-up (clean_up_tokenization).
func cleanupSpaces(s string) string {
	return cleanupReplacer.Replace(s)
}

var cleanupReplacer = strings.NewReplacer(
	" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'", " n't", "n't",
	" 'm", "'m", " do not", " don't", " 's", "'s", " 've", "'ve", " 're", "'re",
)

// metaspaceDecoder is the Metaspace decoder: the replacement character
// becomes a space, except in the first token when a prefix was added.
type metaspaceDecoder struct {
	replacement rune
	scheme      prependScheme
}

func (d metaspaceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		var sb strings.Builder
		for _, r := range t {
			if r == d.replacement {
				if i == 0 && d.scheme != prependNever {
					continue
				}
				sb.WriteByte(' ')
			} else {
				sb.WriteRune(r)
			}
		}
		out[i] = sb.String()
	}
	return out
}

// byteLevelDecoder is the ByteLevel decoder: GPT-2's byte stand-ins back
// to bytes, invalid UTF-8 replaced by U+FFFD.
type byteLevelDecoder struct{}

func (byteLevelDecoder) decodeChain(tokens []string) []string {
	var b []byte
	for _, t := range tokens {
		start := len(b)
		ok := true
		for _, r := range t {
			c, known := runeByte[r]
			if !known {
				ok = false
				break
			}
			b = append(b, c)
		}
		if !ok {
			b = append(b[:start], t...)
		}
	}
	return []string{strings.ToValidUTF8(string(b), "\uFFFD")}
}

// byteFallbackDecoder is the ByteFallback decoder: runs of <0xXX> tokens
// become the text of their bytes, or one U+FFFD per byte if invalid.
type byteFallbackDecoder struct{}

func (byteFallbackDecoder) decodeChain(tokens []string) []string {
	out := make([]string, 0, len(tokens))
	var pending []byte
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if utf8.Valid(pending) {
			out = append(out, string(pending))
		} else {
			for range pending {
				out = append(out, "\uFFFD")
			}
		}
		pending = pending[:0]
	}
	for _, t := range tokens {
		if len(t) == 6 && strings.HasPrefix(t, "<0x") && t[5] == '>' {
			if v, err := strconv.ParseUint(t[3:5], 16, 8); err == nil {
				pending = append(pending, byte(v))
				continue
			}
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

// fuseDecoder is Fuse: all tokens become one.
type fuseDecoder struct{}

func (fuseDecoder) decodeChain(tokens []string) []string {
	return []string{strings.Join(tokens, "")}
}

// stripDecoder is Strip: up to start leading and stop trailing copies of
// a character are removed from every token.
type stripDecoder struct {
	content     rune
	start, stop int
}

func (d stripDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		for k := 0; k < d.start; k++ {
			r, sz := utf8.DecodeRuneInString(t)
			if sz == 0 || r != d.content {
				break
			}
			t = t[sz:]
		}
		for k := 0; k < d.stop; k++ {
			r, sz := utf8.DecodeLastRuneInString(t)
			if sz == 0 || r != d.content {
				break
			}
			t = t[:len(t)-sz]
		}
		out[i] = t
	}
	return out
}

// replaceDecoder is the Replace decoder: matches of a pattern in every
// token become content.
type replaceDecoder struct {
	pat     pattern
	content string
}

func (d replaceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		ms := d.pat.find([]byte(t), nil)
		if len(ms) == 0 {
			out[i] = t
			continue
		}
		var sb strings.Builder
		prev := 0
		for _, m := range ms {
			sb.WriteString(t[prev:m.start])
			sb.WriteString(d.content)
			prev = m.end
		}
		sb.WriteString(t[prev:])
		out[i] = sb.String()
	}
	return out
}

// bpeDecoder is the BPEDecoder: the end-of-word suffix becomes a space
// (nothing on the last token).
type bpeDecoder struct{ suffix string }

func (d bpeDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		rep := " "
		if i == len(tokens)-1 {
			rep = ""
		}
		out[i] = strings.ReplaceAll(t, d.suffix, rep)
	}
	return out
}

// ctcDecoder is CTC: repeated tokens collapse, the pad token goes, the
// word delimiter becomes a space.
type ctcDecoder struct {
	pad, delimiter string
	cleanup        bool
}

func (d ctcDecoder) decodeChain(tokens []string) []string {
	out := make([]string, 0, len(tokens))
	for i, t := range tokens {
		if i > 0 && tokens[i-1] == t {
			continue
		}
		t = strings.ReplaceAll(t, d.pad, "")
		if d.cleanup {
			t = strings.ReplaceAll(cleanupSpaces(t), d.delimiter, " ")
		}
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}
