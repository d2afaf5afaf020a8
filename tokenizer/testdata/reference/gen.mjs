// Generates the reference fixtures in this directory with the official
// Rust Hugging Face tokenizers crate (its Node binding, npm `tokenizers`
// 0.23.2). Not run by tests; rerun by hand:
//
//	mkdir /tmp/tokpeer && cd /tmp/tokpeer && npm install --ignore-scripts tokenizers@0.23.2
//	TOKENIZERS_NODE=/tmp/tokpeer/node_modules/tokenizers SHARED=/work/shared/data \
//	    node tokenizer/testdata/reference/gen.mjs
//
// Each fixture is a tokenizer.json (trained here by the crate's own
// trainers on Japanese and English sentences from JSICK, then edited as
// noted) and cases.jsonl: for every text the crate's ids, tokens, byte
// offsets, type ids, special-tokens mask, word ids and decodings, and for
// pairs the same under several truncation settings. The trainers are not
// deterministic (hash-map order breaks ties), so a rerun gives different
// but equally valid fixtures.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const tk = require(process.env.TOKENIZERS_NODE || 'tokenizers');
const here = path.dirname(fileURLToPath(import.meta.url));
const shared = process.env.SHARED || '/work/shared/data';
const golden = path.join(here, '..', '..', '..', 'testdata', 'golden', 'tokenizers');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tokref-'));

// ---- corpora ----
const jsick = fs.readFileSync(path.join(shared, 'jsick', 'train.tsv'), 'utf8').split('\n').slice(1)
  .map((l) => l.split('\t')).filter((c) => c.length > 9);
const train = [];
for (const c of jsick.slice(0, 400)) {
  for (const s of [c[8], c[9], c[2], c[3]]) if (s && s.trim()) train.push(s.trim());
}
const trainFile = path.join(tmp, 'train.txt');
fs.writeFileSync(trainFile, train.join('\n') + '\n');

// Held-out texts: later JSICK rows, the edge cases of the shared fixtures,
// and a few written for these components.
const texts = [];
for (const c of jsick.slice(5000, 5030)) texts.push(c[8]);
for (const c of jsick.slice(5000, 5010)) if (c[2]) texts.push(c[2]);
for (const line of fs.readFileSync(path.join(golden, 'bert-base-uncased', 'cases.jsonl'), 'utf8').trim().split('\n')) {
  texts.push(JSON.parse(line).text);
}
texts.push(
  "I'm sure they'll say it's 12345 or 3.14159 — don't you think?",
  'Spaces:  two,   three,\tTAB\nnewline\r\nCRLF   ',
  '   leading and trailing   ',
  'ÀÉÎÕÜ çà et là İstanbul ǅ ﬁ ﷺ',
  'ＡＢＣ１２３ ｶﾞｷﾞｸﾞ ㍻ ① ™',
  '東京都の人口は約1400万人です。2024年には1,400万人を超えた！',
  '👨‍👩‍👧 🇯🇵 ✌🏽 x\u0301 e\u0301\u0302',
  '<s>user</s> [CLS] <|endoftext|> <mask> <special_word> hello<special_word>world',
  '',
  ' ',
);

// ---- helpers ----
function byteOffsets(text, offs) {
  const cps = Array.from(text);
  const at = [0];
  for (const c of cps) at.push(at[at.length - 1] + Buffer.byteLength(c, 'utf8'));
  return offs.map(([s, e]) => [at[s], at[e]]);
}

function dump(e, text) {
  return {
    ids: e.getIds(),
    tokens: e.getTokens(),
    offsets: byteOffsets(text, e.getOffsets()),
    type_ids: e.getTypeIds(),
    special_tokens_mask: e.getSpecialTokensMask(),
    attention_mask: e.getAttentionMask(),
    word_ids: e.getWordIds().map((w) => (w === null || w === undefined ? -1 : w)),
  };
}

function loadJSON(t) {
  const f = path.join(tmp, 'x.json');
  t.save(f);
  return JSON.parse(fs.readFileSync(f, 'utf8'));
}

function fromJSON(obj) {
  return tk.Tokenizer.fromString(JSON.stringify(obj));
}

const pairTexts = [
  [texts[0], texts[1]],
  [texts[2], texts[45]],
  [texts[50], texts[3]],
  ['短い', '東京都の人口は約1400万人です。2024年には1,400万人を超えた！'],
];
const truncations = [
  { maxLength: 12, strategy: 'longest_first', direction: 'right' },
  { maxLength: 9, strategy: 'longest_first', direction: 'left' },
  { maxLength: 15, strategy: 'only_second', direction: 'right' },
  { maxLength: 20, strategy: 'only_first', direction: 'right' },
  { maxLength: 5, strategy: 'longest_first', direction: 'right' },
];

async function writeFixture(name, tok, readme, { pairTruncation = true } = {}) {
  const dir = path.join(here, name);
  fs.mkdirSync(dir, { recursive: true });
  tok.save(path.join(dir, 'tokenizer.json'), false);
  const t = tk.Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  const lines = [];
  for (const text of texts) {
    const e = await t.encode(text);
    const row = { text, ...dump(e, text) };
    row.no_special_ids = (await t.encode(text, null, { addSpecialTokens: false })).getIds();
    row.decoded = await t.decode(e.getIds(), false);
    row.decoded_skip_special = await t.decode(e.getIds(), true);
    lines.push(JSON.stringify(row));
  }
  for (const [a, b] of pairTexts) {
    t.disableTruncation();
    const e = await t.encode(a, b);
    lines.push(JSON.stringify({ text: a, pair: b, ...dump(e, a) , offsets: undefined }));
    for (const tr of pairTruncation ? truncations : []) {
      const camel = { longest_first: 'LongestFirst', only_first: 'OnlyFirst', only_second: 'OnlySecond' };
      t.setTruncation(tr.maxLength, { strategy: camel[tr.strategy], direction: tr.direction });
      let row;
      try {
        const te = await t.encode(a, b);
        row = { text: a, pair: b, truncation: tr, ids: te.getIds(), type_ids: te.getTypeIds(), special_tokens_mask: te.getSpecialTokensMask() };
      } catch (err) {
        row = { text: a, pair: b, truncation: tr, error: String(err) };
      }
      lines.push(JSON.stringify(row));
    }
    t.disableTruncation();
  }
  // Batch padding (longest, multiple of 8, left) over the first texts.
  t.setPadding({ direction: 'left', padToMultipleOf: 8, padId: 0, padTypeId: 0, padToken: '<pad>' });
  const batch = texts.slice(0, 5);
  const encs = await t.encodeBatch(batch);
  lines.push(JSON.stringify({ batch, padding: { direction: 'left', multiple: 8, id: 0, token: '<pad>' },
    batch_ids: encs.map((e) => e.getIds()), batch_attention_mask: encs.map((e) => e.getAttentionMask()) }));
  t.disablePadding();
  fs.writeFileSync(path.join(dir, 'cases.jsonl'), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'README.md'), `# Reference fixture: ${name}\n\n${readme}\n\n` +
    'Produced by `gen.mjs` in the parent directory with the Rust Hugging Face tokenizers crate ' +
    '(npm `tokenizers` 0.23.2): `tokenizer.json` is the crate\'s own serialization; every field of ' +
    '`cases.jsonl` is the crate\'s output (offsets converted from characters to UTF-8 bytes). ' +
    'Training text: JSICK train (CC BY-SA 4.0), rows 0-399; test texts: JSICK rows 5000+, the ' +
    'shared fixtures\' edge cases, and a few lines written for these components.\n');
  console.log(name, lines.length, 'lines');
}

// ---- A: GPT-4-style byte-level BPE ----
{
  const t = new tk.Tokenizer(tk.BPE.empty());
  t.setNormalizer(tk.nfcNormalizer());
  t.setPreTokenizer(tk.sequencePreTokenizer([
    tk.splitPreTokenizer("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", 'isolated', false),
    tk.byteLevelPreTokenizer(false, false),
  ]));
  t.train([trainFile]);
  const j = loadJSON(t);
  // Make every byte representable, as GPT-style vocabularies are.
  let next = Math.max(...Object.values(j.model.vocab)) + 1;
  for (const c of tk.byteLevelAlphabet()) if (!(c in j.model.vocab)) j.model.vocab[c] = next++;
  j.decoder = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };
  j.post_processor = { type: 'Sequence', processors: [
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    { type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [next], tokens: ['<|begin_of_text|>'] } } },
  ] };
  j.added_tokens = [
    { id: next, content: '<|begin_of_text|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    { id: next + 1, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
  ];
  await writeFixture('bpe-bytelevel', fromJSON(j),
    'GPT-4 / Llama-3 style: NFC, Split with the cl100k regex (case-insensitive contractions, `\\p{N}{1,3}`, ' +
    'the `\\s+(?!\\S)` lookahead), ByteLevel without regex, byte-level BPE (trained, then every byte added to ' +
    'the vocabulary), ByteLevel decoder, post-processor Sequence[ByteLevel(trim_offsets), TemplateProcessing] ' +
    'with `<|begin_of_text|>`, added special tokens.');
}

// ---- B: WordPiece with many normalizers and pre-tokenizers ----
{
  const t = new tk.Tokenizer(tk.WordPiece.empty());
  t.setNormalizer(tk.sequenceNormalizer([tk.nfkdNormalizer(), tk.stripAccentsNormalizer(), tk.lowercase(),
    tk.replace('\u30fc', '-'), tk.stripNormalizer(true, true)]));
  t.setPreTokenizer(tk.sequencePreTokenizer([tk.whitespacePreTokenizer(), tk.digitsPreTokenizer(true),
    tk.punctuationPreTokenizer('contiguous')]));
  t.train([trainFile]);
  const j = loadJSON(t);
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const vocab = {};
  specials.forEach((s, i) => { vocab[s] = i; });
  for (const [k, v] of Object.entries(j.model.vocab).sort((a, b) => a[1] - b[1])) if (!(k in vocab)) vocab[k] = Object.keys(vocab).length;
  j.model.vocab = vocab;
  j.model.unk_token = '[UNK]';
  j.model.max_input_chars_per_word = 12;
  j.normalizer.normalizers.splice(3, 1, { type: 'Replace', pattern: { Regex: '\\s{2,}|\u30fc+' }, content: ' ' });
  j.added_tokens = specials.map((s, i) => ({ id: i, content: s, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const n = Object.keys(vocab).length;
  j.added_tokens.push(
    { id: n, content: '<special_word>', single_word: true, lstrip: true, rstrip: true, normalized: false, special: false },
    { id: n + 1, content: 'istanbul', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
  );
  j.post_processor = { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] };
  j.decoder = { type: 'WordPiece', prefix: '##', cleanup: true };
  await writeFixture('wordpiece-normalizers', fromJSON(j),
    'WordPiece (trained; max_input_chars_per_word 12) behind Sequence[NFKD, StripAccents, Lowercase, ' +
    'Replace(regex `\\s{2,}|ー+` -> space), Strip] and Sequence[Whitespace, Digits(individual), ' +
    'Punctuation(contiguous)]; BertProcessing; added tokens with single_word/lstrip/rstrip and one ' +
    'normalized added token.');
}

// ---- C: Unigram with byte fallback ----
{
  const t = new tk.Tokenizer(tk.Unigram.empty());
  t.setNormalizer(tk.sequenceNormalizer([tk.nmt(), tk.nfkcNormalizer(), tk.replace('  ', ' ')]));
  t.setPreTokenizer(tk.sequencePreTokenizer([tk.metaspacePreTokenizer('\u2581', 'first', true), tk.digitsPreTokenizer(false)]));
  t.train([trainFile]);
  const j = loadJSON(t);
  const vocab = j.model.vocab.filter(([p]) => !/^<0x[0-9A-F]{2}>$/.test(p));
  vocab.unshift(['<unk>', 0], ['<s>', 0], ['</s>', 0]);
  // Drop single characters of some scripts so that byte fallback and
  // unknown fusing have work to do.
  const kept = vocab.filter(([p], i) => i < 3 || !(/^[\u3400-\u9fff]$/.test(p) && p.codePointAt(0) % 3 === 0));
  for (let b = 0; b < 200; b++) kept.push([`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, -30]);
  j.model = { type: 'Unigram', unk_id: 0, vocab: kept, byte_fallback: true };
  j.added_tokens = [
    { id: 0, content: '<unk>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    { id: 1, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    { id: 2, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
  ];
  j.post_processor = { type: 'TemplateProcessing',
    single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
    pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
    special_tokens: { '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } } };
  j.decoder = { type: 'Sequence', decoders: [{ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: true }, { type: 'ByteFallback' }, { type: 'Fuse' }] };
  await writeFixture('unigram-bytefallback', fromJSON(j),
    'Unigram (trained; some single CJK ideographs removed, byte pieces <0x00>..<0xC7> added, byte_fallback) ' +
    'behind Sequence[Nmt, NFKC, Replace("  " -> " ")] and Sequence[Metaspace(prepend first), Digits]; ' +
    'T5-style template `A </s>`; decoders Metaspace, ByteFallback, Fuse.');
}

// ---- D: Llama-2 style BPE with byte fallback ----
{
  const t = new tk.Tokenizer(tk.BPE.empty());
  t.setNormalizer(tk.sequenceNormalizer([tk.prependNormalizer('\u2581'), tk.replace(' ', '\u2581')]));
  t.train([trainFile]);
  const j = loadJSON(t);
  const vocab = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = Object.keys(vocab).length;
  for (const [k, v] of Object.entries(j.model.vocab).sort((a, b) => a[1] - b[1])) if (!(k in vocab)) vocab[k] = Object.keys(vocab).length;
  // Drop some ideographs so that byte fallback runs (with their merges).
  const dropped = new Set(Object.keys(vocab).filter((k) => /^[\u4e00-\u9fff]$/.test(k) && k.codePointAt(0) % 4 === 0));
  const v2 = {};
  for (const k of Object.keys(vocab)) if (!dropped.has(k)) v2[k] = Object.keys(v2).length;
  const merges = j.model.merges.filter((m) => {
    const [a, b] = Array.isArray(m) ? m : m.split(' ');
    return a + b in v2 && a in v2 && b in v2;
  });
  j.model = { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab: v2, merges };
  j.added_tokens = ['<unk>', '<s>', '</s>'].map((s, i) => ({ id: i, content: s, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  j.post_processor = { type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } };
  j.decoder = { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] };
  await writeFixture('bpe-bytefallback', fromJSON(j),
    'Llama-2 style: normalizer Sequence[Prepend("▁"), Replace(" " -> "▁")], no pre-tokenizer, BPE (trained ' +
    'on the whole line; every fourth-codepoint CJK ideograph removed with its merges) with byte_fallback and ' +
    'fuse_unk; template `<s> A`; decoders Replace, ByteFallback, Fuse, Strip.');
}
// ---- E: RoBERTa style byte-level BPE ----
{
  const small = path.join(tmp, 'small.txt');
  fs.writeFileSync(small, train.slice(0, 600).join('\n') + '\n');
  const t = new tk.Tokenizer(tk.BPE.empty());
  t.setPreTokenizer(tk.byteLevelPreTokenizer(true, true));
  t.train([small]);
  const j = loadJSON(t);
  const vocab = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
  for (const c of tk.byteLevelAlphabet()) if (!(c in vocab)) vocab[c] = Object.keys(vocab).length;
  for (const [k] of Object.entries(j.model.vocab).sort((a, b) => a[1] - b[1])) if (!(k in vocab)) vocab[k] = Object.keys(vocab).length;
  const n = Object.keys(vocab).length;
  vocab['<mask>'] = n;
  j.model.vocab = vocab;
  j.added_tokens = [
    ...['<s>', '<pad>', '</s>', '<unk>'].map((c, i) => ({ id: i, content: c, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    { id: n, content: '<mask>', single_word: false, lstrip: true, rstrip: false, normalized: false, special: true },
  ];
  j.post_processor = { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: true };
  j.decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  await writeFixture('roberta-bytelevel', fromJSON(j),
    'RoBERTa style: ByteLevel pre-tokenizer (add_prefix_space, GPT-2 regex with its `\\s+(?!\\S)` lookahead), ' +
    'byte-level BPE (trained on 600 sentences, every byte in the vocabulary), RobertaProcessing (trim_offsets, ' +
    'add_prefix_space), ByteLevel decoder, `<mask>` with lstrip. Pair truncation is left out: with ' +
    'RobertaProcessing the crate splits some budgets differently from truncate_encodings\' arithmetic ' +
    '(e.g. 14 + 24 tokens cut to 9 gives 5/4, not 4/5, where the 4th token of the first sequence ends ' +
    'inside a character); Kotodama follows the arithmetic.', { pairTruncation: false });
}
fs.rmSync(tmp, { recursive: true });
