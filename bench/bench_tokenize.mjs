// The JavaScript side of bench_tokenize.sh: the same corpus, the same
// measure (encode loop only, after one warm-up pass, whole passes until
// MIN_SECONDS), one "key=value" line.
// usage: node bench_tokenize.mjs wordpiece|bpe|bpe-hf PACKAGE_DIR CORPUS_JSONL [MIN_SECONDS] [FILE...]
//   wordpiece: PACKAGE_DIR is @huggingface/tokenizers, FILE the
//   bert-base-uncased tokenizer.json; bpe: PACKAGE_DIR is gpt-3-encoder;
//   bpe-hf: PACKAGE_DIR is @huggingface/tokenizers, FILEs GPT-2's vocab.json
//   and merges.txt, made into Hugging Face gpt2's tokenizer.json.
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';

const [kind, pkg, corpusPath, minArg, tokenizerJson, mergesTxt] = process.argv.slice(2);
const minSeconds = Number(minArg || 1);
const texts = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l.length)
  .map((l) => JSON.parse(l).text);
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);

let encode;
if (kind === 'wordpiece') {
  const { Tokenizer } = await import(path.join(pkg, 'dist', 'tokenizers.mjs'));
  const tok = new Tokenizer(JSON.parse(fs.readFileSync(tokenizerJson, 'utf8')),
    { do_lower_case: true });
  encode = (t) => tok.encode(t, { add_special_tokens: false }).ids;
} else if (kind === 'bpe-hf') {
  const { Tokenizer } = await import(path.join(pkg, 'dist', 'tokenizers.mjs'));
  const vocab = JSON.parse(fs.readFileSync(tokenizerJson, 'utf8'));
  const merges = fs.readFileSync(mergesTxt, 'utf8').split('\n')
    .filter((l) => l.length && !l.startsWith('#version'));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const eot = '<|endoftext|>';
  const tok = new Tokenizer({
    added_tokens: [{ id: vocab[eot], content: eot, single_word: false, lstrip: false,
                     rstrip: false, normalized: true, special: true }],
    normalizer: null, pre_tokenizer: byteLevel, post_processor: byteLevel, decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '',
             end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  }, { add_prefix_space: false });
  // \s as Hugging Face (Rust) has it, Unicode White_Space; JavaScript's \s
  // also matches U+FEFF and misses U+0085 (see tests/reference/make_bpe_fixtures.js).
  tok.pre_tokenizer.pattern =
    /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
  encode = (t) => tok.encode(t, { add_special_tokens: false }).ids;
} else {
  const require = createRequire(import.meta.url);
  const enc = require(path.join(pkg, 'index.js'));
  encode = (t) => enc.encode(t);
}

function pass() {
  let tokens = 0;
  for (const t of texts) tokens += encode(t).length;
  return tokens;
}

const tokens = pass();
let passes = 0;
const start = process.hrtime.bigint();
let elapsed = 0;
while (elapsed < minSeconds) {
  pass();
  passes++;
  elapsed = Number(process.hrtime.bigint() - start) / 1e9;
}
const impl = kind === 'bpe' ? 'gpt-3-encoder@1.1.4' : '@huggingface/tokenizers@0.2.0';
console.log(`impl=${impl} kind=${kind} texts=${texts.length} bytes=${bytes} tokens=${tokens} ` +
  `passes=${passes} seconds=${elapsed.toFixed(3)} mb_per_s=${(bytes * passes / elapsed / 1e6).toFixed(2)} ` +
  `texts_per_s=${(texts.length * passes / elapsed).toFixed(0)}`);
