#!/usr/bin/env node
// Make the BERT WordPiece fixtures that test_tok_wordpiece compares with,
// id for id:
//   tests/fixtures/tokenizer/bert/tokenizer.json
//       bert-base-uncased as a Hugging Face fast-tokenizer file, built from
//       models/vocab/bert-base-uncased-vocab.txt with the settings of the
//       real one (BertNormalizer lowercase + strip accents, BertPreTokenizer,
//       WordPiece "##" / 100 chars, TemplateProcessing [CLS] $A [SEP],
//       WordPiece decoder). Also an input of our tokenizer.json loader.
//   tests/fixtures/tokenizer/bert/expected_ids.jsonl
//       one line per text of tests/fixtures/tokenizer/corpus.jsonl, then the
//       hand-written cases below: {"i", "source", "text", "ids" (no special
//       tokens), "model_ids" (max_length 128: [CLS] .. [SEP], truncated with
//       [SEP] kept last; written without the padding, which is [PAD] = 0 from
//       "length" up to 128), "length", "truncated",
//       "exact" (false with a "reason" where the reference is known to differ
//       from Hugging Face), "decoded" (decode of model_ids, skip special)}.
// The ids come from @huggingface/tokenizers@0.2.0, an independent JavaScript
// port of Hugging Face tokenizers (Apache-2.0), fetched with `npm pack` into
// a cache folder when not given.
//
// Known differences of that port from Hugging Face (Rust and Python), which
// mark a text "exact": false:
//   * it keeps unassigned code points (Cn); Hugging Face drops them as
//     control characters;
//   * it walks UTF-16 code units when spacing CJK ideographs, so ideographs
//     outside the BMP (U+20000..) are not split off;
//   * it lower-cases with String.toLowerCase, whose final-sigma rule the Rust
//     BertNormalizer does not apply (Python's str.lower does): any capital
//     sigma marks the text.
//
// Usage: make_wordpiece_fixtures.js [TOKENIZERS_PACKAGE_DIR]
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = path.join(__dirname, '..', '..');
const VOCAB = path.join(ROOT, 'models', 'vocab', 'bert-base-uncased-vocab.txt');
const CORPUS = path.join(ROOT, 'tests', 'fixtures', 'tokenizer', 'corpus.jsonl');
const OUT_DIR = path.join(ROOT, 'tests', 'fixtures', 'tokenizer', 'bert');
const MAX_LENGTH = 128;
const CACHE = process.env.FTUNE_NPM_CACHE || path.join(ROOT, '.cache', 'npm');

// Hand-written texts: each states what it checks.
const HAND_CASES = [
  '',                                          // empty text: no ids
  '   \t\n  ',                                 // whitespace only
  'café CAFÉ Café naïve Ångström',             // accents stripped, lower-cased
  'cafe\u0301 e\u0300\u0301',                  // combining marks (NFD input)
  '北京欢迎你 東京タワー 서울 漢字ｶﾀｶﾅ',       // CJK ideographs split; kana/hangul not
  'emoji 😀👍🏽 👩‍👩‍👧 🇫🇷 ❤️ ☕',                   // symbols, ZWJ, skin tones, flags, VS16
  'ctrl\u0007bell\u001bX\u007f\u200btab\there\r\nnew\u00adsoft\ufeffbom',
  'a'.repeat(100),                             // 100 characters: still split
  'b'.repeat(101),                             // 101 characters: one [UNK]
  'x' + 'é'.repeat(100),                       // 101 code points before stripping
  '##ing ## # #hash unaffable unwanted running',
  'Hello, World! (test) [brackets] {braces} "quotes" \'apos\' a.b,c;d:e?f',
  '$100 50% a+b=c <html> a|b ~tilde `tick` ^caret @at *star _under',
  'don\'t won\'t I\'m it\'s you\'re we\'ve',
  '¿Qué? ¡Sí! «quotes» „low“ – — … · • † ‰ ′ ″',
  'https://example.com/path?q=1&r=2#frag user@example.org',
  'hello [SEP] world [CLS][MASK] [unused5] [pad] [UNK]',
  'xyzzyqqq ʕ•ᴥ•ʔ ༼ つ ◕_◕ ༽つ',
  'İstanbul ǅemal ﬁne ﬂow ẞ straße',
  '  multiple   spaces\u00a0nbsp\u2003em\u3000ideo\u2028ls\u2029ps ',
  'Привет мир Ελληνικά שלום العربية हिन्दी ไทย',
  '123,456.78 1e-5 3.14159 0x1F',
];

function ensurePackage(spec, dirName) {
  const dir = path.join(CACHE, dirName, 'package');
  if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  fs.mkdirSync(path.join(CACHE, dirName), { recursive: true });
  const tgz = execFileSync('npm', ['pack', '--silent', spec],
    { cwd: path.join(CACHE, dirName), encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['xzf', tgz], { cwd: path.join(CACHE, dirName) });
  return dir;
}

function readVocab() {
  const lines = fs.readFileSync(VOCAB, 'utf8').split('\n');
  if (lines.pop() !== '') throw new Error(`${VOCAB}: no final newline`);
  const vocab = {};
  lines.forEach((tok, i) => { vocab[tok] = i; });
  return vocab;
}

function addedToken(id, content) {
  return { id, content, single_word: false, lstrip: false, rstrip: false,
           normalized: false, special: true };
}

function tokenizerJson(vocab) {
  const special = (tok) => ({ SpecialToken: { id: tok, type_id: 0 } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => addedToken(vocab[t], t)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true,
                  strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]')],
      pair: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]'),
             { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##',
             max_input_chars_per_word: 100, vocab },
  };
}

// Why the JavaScript port is known to differ from Hugging Face on text, or null.
function inexactReason(text) {
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (/\p{Cn}/u.test(ch)) return `unassigned code point U+${cp.toString(16).toUpperCase()}`;
    if (cp >= 0x20000 && cp <= 0x2FA1F) return `CJK ideograph outside the BMP U+${cp.toString(16).toUpperCase()}`;
    if (ch === '\u03A3') return 'capital sigma (final-sigma lower-casing)';
  }
  return null;
}

function forModel(tok, text, vocab) {
  const full = tok.encode(text).ids;
  const cls = vocab['[CLS]'], sep = vocab['[SEP]'], pad = vocab['[PAD]'];
  if (full[0] !== cls || full[full.length - 1] !== sep) throw new Error('post-processor did not add [CLS] .. [SEP]');
  let ids = full;
  const truncated = ids.length > MAX_LENGTH;
  if (truncated) ids = ids.slice(0, MAX_LENGTH - 1).concat([sep]); // truncation=True keeps [SEP] last
  const length = ids.length;
  while (ids.length < MAX_LENGTH) ids = ids.concat([pad]);
  return { model_ids: ids, length, truncated };
}

async function main() {
  const pkg = process.argv[2] || ensurePackage('@huggingface/tokenizers@0.2.0', 'huggingface-tokenizers-0.2.0');
  const { Tokenizer } = await import(path.join(pkg, 'dist', 'tokenizers.mjs'));
  const vocab = readVocab();
  const tj = tokenizerJson(vocab);
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(path.join(OUT_DIR, 'tokenizer.json'), JSON.stringify(tj, null, 2) + '\n');
  const config = { do_lower_case: true, model_max_length: 512, clean_up_tokenization_spaces: true };
  const tok = new Tokenizer(tj, config);

  const texts = fs.readFileSync(CORPUS, 'utf8').split('\n').filter((l) => l.length)
    .map((l) => ({ source: 'corpus', text: JSON.parse(l).text }));
  HAND_CASES.forEach((text) => texts.push({ source: 'hand', text }));
  let inexact = 0;
  const out = texts.map(({ source, text }, i) => {
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    const fm = forModel(tok, text, vocab);
    const reason = inexactReason(text);
    if (reason) inexact++;
    const rec = { i, source, text, ids, ...fm, exact: reason === null };
    if (reason) rec.reason = reason;
    rec.decoded = tok.decode(fm.model_ids, { skip_special_tokens: true });
    rec.model_ids = fm.model_ids.slice(0, fm.length);
    return JSON.stringify(rec);
  });
  fs.writeFileSync(path.join(OUT_DIR, 'expected_ids.jsonl'), out.join('\n') + '\n');
  console.log(`wrote ${out.length} texts (${inexact} not exact) to ${OUT_DIR}/expected_ids.jsonl`);
}

main().catch((e) => { console.error(e); process.exit(1); });
