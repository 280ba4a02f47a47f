#!/usr/bin/env python3
"""Make the GPT-2 byte-level BPE fixtures that test_tok_bpe compares with,
id for id:

  tests/fixtures/tokenizer/gpt2/expected.jsonl
      one line per text of tests/fixtures/tokenizer/corpus.jsonl, then the
      hand-written cases below: {"i", "source" ("corpus" or "hand"), "text",
      "ids" (without special tokens: `tokenizer(text,
      add_special_tokens=False)`), "refs" (the references that gave these
      ids), and "note" on the texts with U+FEFF or U+0085}.

The vocabulary is models/vocab/gpt2-vocab.json + gpt2-merges.txt, OpenAI's
encoder.json + vocab.bpe (byte-identical to Hugging Face's gpt2).

Two independent references, both from PyPI (into a virtual environment
outside the tree, see tests/reference/README.md):
  * `tokenizers` (Apache-2.0), the Rust library behind every Hugging Face
    fast tokenizer, given the tokenizer.json that Hugging Face's gpt2 has
    (built here from the two files: null normalizer, ByteLevel pre-tokenizer
    without prefix space, ByteLevel post-processor and decoder, BPE model,
    added token <|endoftext|> = 50256). Only it splits out <|endoftext|> as
    Hugging Face does: the hand cases with it come from it alone;
  * OpenAI's encoder.py, transcribed below (merge the lowest-ranked pair
    everywhere, repeat) with its pattern run by `regex`, whose \\s is Unicode
    White_Space as in Hugging Face (Oniguruma) and tiktoken.
Both must agree on every text and the ids must decode back to the text; the
script stops otherwise.

The earlier JavaScript references (gpt-3-encoder, @huggingface/tokenizers
0.2.0) gave the same ids, except that JavaScript's \\s adds U+FEFF and lacks
U+0085: the texts with either keep a "note" saying so (test_tok_bpe counts
them, as the White_Space corner cases of the corpus).

Usage: make_bpe_fixtures.py [-h] [--out DIR]   (default DIR
       tests/fixtures/tokenizer/gpt2)
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
VOCAB = os.path.join(ROOT, "models", "vocab", "gpt2-vocab.json")
MERGES = os.path.join(ROOT, "models", "vocab", "gpt2-merges.txt")
CORPUS = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "corpus.jsonl")
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "gpt2")
EOT = "<|endoftext|>"
ENCODER_PY_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
NOTE = ("has U+FEFF or U+0085: JavaScript \\s differs (the earlier references); "
        "ids from Hugging Face tokenizers, \\s = White_Space")

# Hand-written texts: each states what it checks.
HAND_CASES = [
    "",                                          # empty text: no ids
    " ",                                         # one space at the end: \s+(?!\S)
    "a  b   c\t\td \n\ne",                       # runs of white space: the last one goes with the word
    "  leading and trailing  ",
    "\n\n\nHello\n",
    "don't won't I'm it's you're we've they'll she'd",
    "DON'T IT'S 'tis 're 'll ''s '''",           # contractions are lower-case only
    'Hello, World! (test) [brackets] {braces} "quotes" a.b,c;d:e?f',
    "$100 50% a+b=c <html> a|b ~tilde `tick` ^caret @at *star _under #hash",
    "123,456.78 1e-5 3.14159 0x1F 2024-01-01 ½ ² ٣ Ⅻ",
    "café CAFÉ naïve Ångström cafe\u0301 straße İstanbul",
    "北京欢迎你 東京タワー 서울 漢字ｶﾀｶﾅ",
    "emoji 😀👍🏽 👩‍👩‍👧 🇫🇷 ❤️ ☕",
    "Привет мир Ελληνικά שלום العربية हिन्दी ไทย",
    "ctrl\u0007bell\u001bX\u007f\u200btab\there\r\nnew\u00adsoft nbsp\u00a0x em\u2003y ideo\u3000z",
    "nel\u0085next bom\ufeffmark \ufeff lead \u0085 x",  # White_Space differences (see above)
    "https://example.com/path?q=1&r=2#frag user@example.org",
    "a" * 300,                                   # a long word (not cached)
    "ab" * 200 + " " + "!?" * 100,
    "soh \u0001 and us \u001f",                  # controls (NUL cannot pass through cJSON's strings)
    "x\U0010FFFDy \ue000 private use \U0001F9FF",
    EOT,                                         # the special token alone
    f"Hello world{EOT}Next document",            # in the middle, no spaces
    f"first {EOT} second",                       # spaces on both sides stay in the text
    f"a{EOT}{EOT}b {EOT}\n",
    "<|endoftext| almost <|endoftext|> <|ENDOFTEXT|> <|endoftext|>>",
    f"  \n{EOT}  ",
]


def read_vocab():
    with open(VOCAB, encoding="utf-8") as f:
        vocab = json.load(f)
    with open(MERGES, encoding="utf-8") as f:
        merges = [line for line in f.read().split("\n") if line and not line.startswith("#version")]
    return vocab, merges


def tokenizer_json(vocab, merges):
    """Hugging Face gpt2's tokenizer.json, from vocab.json + merges.txt."""
    def byte_level(prefix, trim):
        return {"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": trim,
                "use_regex": True}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": vocab[EOT], "content": EOT, "single_word": False,
                          "lstrip": False, "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": byte_level(False, True),
        "post_processor": byte_level(True, False),
        "decoder": byte_level(True, True),
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "vocab": vocab, "merges": merges},
    }


def bytes_to_unicode():
    """encoder.py's reversible map of the 256 bytes to printable characters."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class EncoderPy:
    """OpenAI's gpt-2 src/encoder.py (MIT), transcribed."""

    def __init__(self, regex, vocab, merges):
        self.encoder = vocab
        self.decoder = {v: k for k, v in vocab.items()}
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        self.ranks = {tuple(m.split()): i for i, m in enumerate(merges)}
        self.pattern = regex.compile(ENCODER_PY_PATTERN)
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = list(token)
        while len(word) > 1:
            pairs = {(a, b) for a, b in zip(word, word[1:])}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        self.cache[token] = word
        return word

    def encode(self, text):
        ids = []
        for token in self.pattern.findall(text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[piece] for piece in self.bpe(token))
        return ids

    def decode(self, ids):
        text = "".join(self.decoder[i] for i in ids)
        return bytearray(self.byte_decoder[c] for c in text).decode("utf-8", errors="replace")


def import_references():
    try:
        import regex
        import tokenizers
    except ImportError as e:
        sys.exit(f"make_bpe_fixtures.py: {e}: run it with the reference environment's python "
                 "(python3 -m venv /root/.cache/ftune-ref && "
                 "/root/.cache/ftune-ref/bin/pip install tokenizers regex)")
    return regex, tokenizers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=OUT_DIR, help="output folder (default %(default)s)")
    args = parser.parse_args()
    regex, tokenizers = import_references()
    vocab, merges = read_vocab()
    hf = tokenizers.Tokenizer.from_str(json.dumps(tokenizer_json(vocab, merges)))
    openai = EncoderPy(regex, vocab, merges)
    hf_ref = f"hf-tokenizers-{tokenizers.__version__}"

    with open(CORPUS, encoding="utf-8") as f:
        texts = [("corpus", json.loads(line)["text"]) for line in f if line.strip()]
    texts += [("hand", text) for text in HAND_CASES]
    out, notes = [], 0
    for i, (source, text) in enumerate(texts):
        ids = hf.encode(text, add_special_tokens=False).ids
        rec = {"i": i, "source": source, "text": text, "ids": ids, "refs": [hf_ref]}
        if EOT not in text:
            if openai.encode(text) != ids:
                sys.exit(f"make_bpe_fixtures.py: text {i}: encoder.py and tokenizers differ")
            if openai.decode(ids) != text:
                sys.exit(f"make_bpe_fixtures.py: text {i}: decode differs")
            rec["refs"].append("openai-encoder.py")
        if hf.decode(ids, skip_special_tokens=False) != text:
            sys.exit(f"make_bpe_fixtures.py: text {i}: tokenizers does not decode it back")
        if "\u0085" in text or "\ufeff" in text:
            rec["note"] = NOTE
            notes += 1
        out.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "expected.jsonl")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {len(out)} texts ({notes} with a note) to {path}")


if __name__ == "__main__":
    main()
