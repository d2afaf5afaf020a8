package tokenizer

import (
	"unicode/utf8"
)

// A postProcessor adds the model's special tokens around the encoded
// sequences and sets their type ids (Hugging Face's PostProcessor).
type postProcessor interface {
	// addedTokens is how many special tokens process adds.
	addedTokens(pair bool) int
	// process appends the final tokens of a (and b when pair) to e; ta
	// and tb are the texts the tokens' offsets point into.
	process(e *Encoding, a, b []stok, ta, tb string, pair, addSpecial bool)
}

// templatePiece is one element of a TemplateProcessing template: a
// sequence (0 for $A, 1 for $B) or a special token, with its type id.
type templatePiece struct {
	seq     int // -1 for a special token
	special string
	typeID  int
}

type templateSpecial struct {
	ids    []int32
	tokens []string
}

// templateProcessing is TemplateProcessing.
type templateProcessing struct {
	single, pair []templatePiece
	specials     map[string]templateSpecial
}

func (t *templateProcessing) addedTokens(pair bool) int {
	tpl := t.single
	if pair {
		tpl = t.pair
	}
	n := 0
	for _, p := range tpl {
		if p.seq < 0 {
			n += len(t.specials[p.special].ids)
		}
	}
	return n
}

func (t *templateProcessing) process(e *Encoding, a, b []stok, ta, tb string, pair, addSpecial bool) {
	tpl := t.single
	if pair {
		tpl = t.pair
	}
	for _, p := range tpl {
		switch {
		case p.seq == 0:
			appendSeq(e, a, p.typeID)
		case p.seq == 1:
			appendSeq(e, b, p.typeID)
		case addSpecial:
			sp := t.specials[p.special]
			for i, id := range sp.ids {
				e.push(id, p.typeID, sp.tokens[i], span{}, -1, true)
			}
		}
	}
}

// bertProcessing is BertProcessing: [CLS] A [SEP] (B [SEP]), the second
// sequence with type id 1.
type bertProcessing struct {
	sep, cls       string
	sepID, clsID   int32
	trimOffsets    bool // RobertaProcessing only
	addPrefixSpace bool // RobertaProcessing only
	roberta        bool
}

func (p *bertProcessing) addedTokens(pair bool) int {
	switch {
	case pair && p.roberta:
		return 4
	case pair:
		return 3
	}
	return 2
}

func (p *bertProcessing) process(e *Encoding, a, b []stok, ta, tb string, pair, addSpecial bool) {
	if p.roberta {
		if p.trimOffsets {
			trimOffsets(a, ta, p.addPrefixSpace)
			trimOffsets(b, tb, p.addPrefixSpace)
		}
		if !addSpecial {
			appendSeq(e, a, 0)
			appendSeq(e, b, 0)
			return
		}
		e.push(p.clsID, 0, p.cls, span{}, -1, true)
		appendSeq(e, a, 0)
		e.push(p.sepID, 0, p.sep, span{}, -1, true)
		if pair {
			e.push(p.sepID, 0, p.sep, span{}, -1, true)
			appendSeq(e, b, 0)
			e.push(p.sepID, 0, p.sep, span{}, -1, true)
		}
		return
	}
	if !addSpecial {
		appendSeq(e, a, 0)
		if pair {
			appendSeq(e, b, 1)
		}
		return
	}
	e.push(p.clsID, 0, p.cls, span{}, -1, true)
	appendSeq(e, a, 0)
	e.push(p.sepID, 0, p.sep, span{}, -1, true)
	if pair {
		appendSeq(e, b, 1)
		e.push(p.sepID, 1, p.sep, span{}, -1, true)
	}
}

// byteLevelProcessing is the ByteLevel post-processor: it only trims the
// spaces out of offsets.
type byteLevelProcessing struct{ trimOffsets, addPrefixSpace bool }

func (byteLevelProcessing) addedTokens(bool) int { return 0 }

func (p byteLevelProcessing) process(e *Encoding, a, b []stok, ta, tb string, pair, addSpecial bool) {
	p.adjust(a, b, ta, tb)
	appendSeq(e, a, 0)
	if pair {
		appendSeq(e, b, 1)
	}
}

func (p byteLevelProcessing) adjust(a, b []stok, ta, tb string) {
	if p.trimOffsets {
		trimOffsets(a, ta, p.addPrefixSpace)
		trimOffsets(b, tb, p.addPrefixSpace)
	}
}

// seqProcessing is a Sequence of post-processors: offset adjusters
// (ByteLevel) then at most one that adds special tokens.
type seqProcessing struct {
	adjusters []byteLevelProcessing
	last      postProcessor // nil: plain concatenation
}

func (s *seqProcessing) addedTokens(pair bool) int {
	if s.last == nil {
		return 0
	}
	return s.last.addedTokens(pair)
}

func (s *seqProcessing) process(e *Encoding, a, b []stok, ta, tb string, pair, addSpecial bool) {
	for _, adj := range s.adjusters {
		adj.adjust(a, b, ta, tb)
	}
	if s.last != nil {
		s.last.process(e, a, b, ta, tb, pair, addSpecial)
		return
	}
	appendSeq(e, a, 0)
	if pair {
		appendSeq(e, b, 1)
	}
}

// trimOffsets is process_offsets: leading and trailing spaces ('Ġ' or
// white space) of a token are cut from its offsets, except the one space
// add_prefix_space put before the first token. Hugging Face counts in
// characters of the input (the offsets Python sees), so the cut moves over
// that many characters of text, not bytes.
func trimOffsets(s []stok, text string, addPrefixSpace bool) {
	isSpace := func(r rune) bool { return r == byteRune[' '] || isRustWhitespace(r) }
	for i := range s {
		tok := s[i].str
		lead, trail := 0, 0
		for _, r := range tok {
			if !isSpace(r) {
				break
			}
			lead++
		}
		for j := len(tok); j > 0; {
			r, sz := utf8.DecodeLastRuneInString(tok[:j])
			if !isSpace(r) {
				break
			}
			trail++
			j -= sz
		}
		off := &s[i].off
		if lead > 0 {
			first := i == 0 || off.start == 0
			if first && addPrefixSpace && lead == 1 {
				lead = 0
			}
			st := int(off.start)
			for k := 0; k < lead && st < int(off.end); k++ {
				_, sz := utf8.DecodeRuneInString(text[st:])
				st += sz
			}
			off.start = int32(min(st, int(off.end)))
		}
		if trail > 0 && utf8.RuneCountInString(text[:off.end]) >= trail {
			e := int(off.end)
			for k := 0; k < trail && e > int(off.start); k++ {
				_, sz := utf8.DecodeLastRuneInString(text[:e])
				e -= sz
			}
			off.end = int32(max(e, int(off.start)))
		}
	}
}

func min32(a, b int32) int32 {
	if a < b {
		return a
	}
	return b
}

func max32(a, b int32) int32 {
	if a > b {
		return a
	}
	return b
}
