package tokenizer

import (
	"fmt"
)

// sentencePiece builds a tokenizer from a SentencePiece .model with
// SentencePiece's own semantics (its normalizer, its unigram or BPE
// encoder), which are what Google's sentencepiece library returns for
// EncodeAsIds: no BOS/EOS. In a model directory whose
// tokenizer_config.json names a class, that class's special tokens are
// matched in the text and added around it as transformers' slow
// tokenizer does: DebertaV2Tokenizer ([CLS] A [SEP]), T5Tokenizer (A
// </s>), LlamaTokenizer (<s> A).
func (l *loader) sentencePiece(data []byte, name string, cfg *tokConfig) (*Pipeline, error) {
	src := l.show(name)
	mp, err := parseSPM(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: sentencepiece model: %v: %w", src, err, ErrBadFile)
	}
	tokens := make([]string, len(mp.pieces))
	types := make(map[string]int, len(mp.pieces))
	var byteIDs [256]int32
	for i := range byteIDs {
		byteIDs[i] = -1
	}
	var user []string
	var userIdx []int
	for i, p := range mp.pieces {
		tokens[i] = p.piece
		types[p.piece] = p.typ
		if p.typ == spmByte {
			if v, ok := bytePiece(p.piece); ok {
				byteIDs[v] = int32(i)
			}
		}
		if p.typ == spmUserDefined {
			user = append(user, p.piece)
			userIdx = append(userIdx, i)
		}
	}
	sn := &spmNormalizer{addDummyPrefix: mp.addDummyPrefix, removeExtraWhitespaces: mp.removeExtraWhitespaces,
		escapeWhitespaces: mp.escapeWhitespaces, suffix: mp.treatWhitespaceAsSufix, user: newMatcher(user, userIdx)}
	if len(mp.charsmap) > 0 {
		if sn.m, err = parseCharsmap(mp.charsmap); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: normalizer_spec: %v: %w", src, err, ErrBadFile)
		}
	}
	t := &Pipeline{source: src, normalizer: sn,
		decoder: spmDecoder{types: types, unkSurface: mp.unkSurface, addDummyPrefix: mp.addDummyPrefix, suffix: mp.treatWhitespaceAsSufix}}
	switch mp.modelType {
	case 1:
		u, err := newSPMUnigram(mp, tokens, byteIDs)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %s: model (unigram): %v: %w", src, err, ErrBadFile)
		}
		t.model = u
	case 2:
		b := &spmBPE{tokens: tokens, unk: int32(mp.unkID), bytes: mp.byteFallback, byteIDs: byteIDs, user: newMatcher(user, userIdx)}
		b.types = make([]int, len(mp.pieces))
		b.scores = make([]float32, len(mp.pieces))
		var keys []string
		var ids []int32
		for i, p := range mp.pieces {
			b.types[i], b.scores[i] = p.typ, p.score
			if p.typ == spmNormal || p.typ == spmUserDefined || p.typ == spmUnused {
				keys = append(keys, p.piece)
				ids = append(ids, int32(i))
			}
		}
		if b.unk < 0 || int(b.unk) >= len(mp.pieces) {
			return nil, fmt.Errorf("tokenizer: %s: model (bpe): unk_id %d out of range: %w", src, b.unk, ErrBadFile)
		}
		b.pieces = newTrie(keys, ids)
		t.model = b
	default:
		return nil, fmt.Errorf("tokenizer: %s: sentencepiece model_type %d (only unigram=1 and bpe=2): %w", src, mp.modelType, ErrUnsupported)
	}
	var added []addedToken
	lookup := func(s string) int32 {
		for i, p := range mp.pieces {
			if p.piece == s {
				return int32(i)
			}
		}
		return -1
	}
	if cfg.TokenizerClass != "" {
		defs := map[string]string{"unk": "<unk>", "bos": "<s>", "eos": "</s>", "pad": "<pad>"}
		switch cfg.TokenizerClass {
		case "DebertaV2Tokenizer", "DebertaV2TokenizerFast":
			defs = map[string]string{"unk": "[UNK]", "sep": "[SEP]", "pad": "[PAD]", "cls": "[CLS]", "mask": "[MASK]", "bos": "[CLS]", "eos": "[SEP]"}
		}
		added = cfg.specialAdded(lookup, defs)
		post, err := spmPost(cfg, lookup)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", cfg.source, err)
		}
		t.post = post
	}
	for i, p := range mp.pieces {
		if p.typ == spmControl {
			added = append(added, addedToken{id: int32(i), content: p.piece, special: true})
		}
	}
	// Control pieces are special (Decode can skip them) but never matched
	// in text, as in sentencepiece; only configured special tokens are.
	if err := t.setVocab(tokens, added); err != nil {
		return nil, err
	}
	var matchable []addedToken
	for _, a := range added {
		if cfg.TokenizerClass != "" && a.special {
			matchable = append(matchable, a)
		}
	}
	t.added = addedVocab{}
	if cfg.TokenizerClass != "" {
		t.added.tokens = matchable
		var raw []string
		var idx []int
		for i, a := range matchable {
			raw = append(raw, a.content)
			idx = append(idx, i)
		}
		t.added.raw = newMatcher(raw, idx)
	}
	t.padID = 0
	if mp.padID >= 0 {
		t.padID = mp.padID
	}
	if id := lookup(cfg.special(cfg.PadToken, "")); id >= 0 {
		t.padID = int(id)
	}
	return t, nil
}

// spmPost returns the special-token template of a SentencePiece-based
// tokenizer class.
func spmPost(cfg *tokConfig, lookup func(string) int32) (postProcessor, error) {
	tok := func(raw []byte, def string) (string, int32, error) {
		s := cfg.special(raw, def)
		id := lookup(s)
		if id < 0 {
			return "", 0, fmt.Errorf("special token %q is not a piece of the model: %w", s, ErrBadFile)
		}
		return s, id, nil
	}
	switch cfg.TokenizerClass {
	case "DebertaV2Tokenizer", "DebertaV2TokenizerFast":
		cls, clsID, err := tok(cfg.ClsToken, "[CLS]")
		if err != nil {
			return nil, err
		}
		sep, sepID, err := tok(cfg.SepToken, "[SEP]")
		if err != nil {
			return nil, err
		}
		return &bertProcessing{cls: cls, sep: sep, clsID: clsID, sepID: sepID}, nil
	case "T5Tokenizer", "T5TokenizerFast":
		eos, eosID, err := tok(cfg.EosToken, "</s>")
		if err != nil {
			return nil, err
		}
		sp := map[string]templateSpecial{eos: {ids: []int32{eosID}, tokens: []string{eos}}}
		return &templateProcessing{
			single:   []templatePiece{{seq: 0}, {seq: -1, special: eos}},
			pair:     []templatePiece{{seq: 0}, {seq: -1, special: eos}, {seq: 1}, {seq: -1, special: eos}},
			specials: sp,
		}, nil
	case "LlamaTokenizer", "LlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast":
		tp := &templateProcessing{specials: map[string]templateSpecial{}}
		addBOS, addEOS := boolOr(cfg.AddBOS, true), boolOr(cfg.AddEOS, false)
		var bos, eos string
		if addBOS {
			s, id, err := tok(cfg.BosToken, "<s>")
			if err != nil {
				return nil, err
			}
			bos = s
			tp.specials[s] = templateSpecial{ids: []int32{id}, tokens: []string{s}}
		}
		if addEOS {
			s, id, err := tok(cfg.EosToken, "</s>")
			if err != nil {
				return nil, err
			}
			eos = s
			tp.specials[s] = templateSpecial{ids: []int32{id}, tokens: []string{s}}
		}
		for pass := 0; pass < 2; pass++ {
			var seq []templatePiece
			for k := 0; k <= pass; k++ {
				if bos != "" {
					seq = append(seq, templatePiece{seq: -1, special: bos, typeID: k})
				}
				seq = append(seq, templatePiece{seq: k, typeID: k})
				if eos != "" {
					seq = append(seq, templatePiece{seq: -1, special: eos, typeID: k})
				}
			}
			if pass == 0 {
				tp.single = seq
			} else {
				tp.pair = seq
			}
		}
		return tp, nil
	}
	return nil, fmt.Errorf("tokenizer_class %q with only a SentencePiece model (no tokenizer.json): %w", cfg.TokenizerClass, ErrUnsupported)
}
