#!/usr/bin/env python3
"""Make the BERT WordPiece fixtures that test_tok_wordpiece compares with,
id for id:

  tests/fixtures/tokenizer/bert/tokenizer.json
      bert-base-uncased as a Hugging Face fast-tokenizer file, built from
      models/vocab/bert-base-uncased-vocab.txt with the settings of the
      real one (BertNormalizer lowercase + strip accents, BertPreTokenizer,
      WordPiece "##" / 100 chars, TemplateProcessing [CLS] $A [SEP],
      WordPiece decoder). Also an input of our tokenizer.json loader.
  tests/fixtures/tokenizer/bert/expected_ids.jsonl
      one line per text of tests/fixtures/tokenizer/corpus.jsonl, then the
      hand-written cases below: {"i", "source", "text", "ids" (no special
      tokens), "model_ids" (max_length 128: [CLS] .. [SEP], truncated with
      [SEP] kept last; written without the padding, which is [PAD] = 0 from
      "length" up to 128), "length", "truncated", "exact" (always true now:
      the field marked the texts where the earlier JavaScript reference was
      known to differ from Hugging Face), "decoded" (decode of model_ids,
      skip special, as transformers' BertTokenizerFast.decode with
      clean_up_tokenization_spaces true gives it)}.

The reference is `tokenizers` from PyPI (Apache-2.0), the Rust library
behind Hugging Face's BertTokenizerFast, into a virtual environment outside
the tree (see tests/reference/README.md). make_wordpiece_python_fixtures.py
is the second, independent reference (a transcription of the Python
BertTokenizer); `--check` here compares the two on every text.

tokenizer.json is written as the earlier JavaScript generator wrote it
(JSON.stringify with 2 spaces), so the committed file stays byte-identical:
that includes JavaScript's order of object keys, which puts the keys that are
array indices ("0", "1", ... "9999") first, in numeric order.

Usage: make_wordpiece_fixtures.py [-h] [--out DIR] [--check]   (default DIR
       tests/fixtures/tokenizer/bert)
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
VOCAB = os.path.join(ROOT, "models", "vocab", "bert-base-uncased-vocab.txt")
CORPUS = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "corpus.jsonl")
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "bert")
MAX_LENGTH = 128
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# Hand-written texts: each states what it checks.
HAND_CASES = [
    "",                                          # empty text: no ids
    "   \t\n  ",                                 # whitespace only
    "café CAFÉ Café naïve Ångström",             # accents stripped, lower-cased
    "cafe\u0301 e\u0300\u0301",                  # combining marks (NFD input)
    "北京欢迎你 東京タワー 서울 漢字ｶﾀｶﾅ",       # CJK ideographs split; kana/hangul not
    "emoji 😀👍🏽 👩‍👩‍👧 🇫🇷 ❤️ ☕",                   # symbols, ZWJ, skin tones, flags, VS16
    "ctrl\u0007bell\u001bX\u007f\u200btab\there\r\nnew\u00adsoft\ufeffbom",
    "a" * 100,                                   # 100 characters: still split
    "b" * 101,                                   # 101 characters: one [UNK]
    "x" + "é" * 100,                             # 101 code points before stripping
    "##ing ## # #hash unaffable unwanted running",
    "Hello, World! (test) [brackets] {braces} \"quotes\" 'apos' a.b,c;d:e?f",
    "$100 50% a+b=c <html> a|b ~tilde `tick` ^caret @at *star _under",
    "don't won't I'm it's you're we've",
    "¿Qué? ¡Sí! «quotes» „low“ – — … · • † ‰ ′ ″",
    "https://example.com/path?q=1&r=2#frag user@example.org",
    "hello [SEP] world [CLS][MASK] [unused5] [pad] [UNK]",
    "xyzzyqqq ʕ•ᴥ•ʔ ༼ つ ◕_◕ ༽つ",
    "İstanbul ǅemal ﬁne ﬂow ẞ straße",
    "  multiple   spaces\u00a0nbsp\u2003em\u3000ideo\u2028ls\u2029ps ",
    "Привет мир Ελληνικά שלום العربية हिन्दी ไทย",
    "123,456.78 1e-5 3.14159 0x1F",
]


def read_vocab():
    with open(VOCAB, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines.pop() != "":
        sys.exit(f"make_wordpiece_fixtures.py: {VOCAB}: no final newline")
    return {tok: i for i, tok in enumerate(lines)}


def js_key_order(obj):
    """The dict with its keys in the order JavaScript's JSON.stringify gives:
    array indices (canonical integers below 2^32 - 1) first, ascending."""
    def is_index(k):
        return re.fullmatch(r"0|[1-9][0-9]*", k) is not None and int(k) < 2**32 - 1
    first = sorted((k for k in obj if is_index(k)), key=int)
    return {k: obj[k] for k in first + [k for k in obj if not is_index(k)]}


def tokenizer_json(vocab):
    def special(tok):
        return {"SpecialToken": {"id": tok, "type_id": 0}}

    def added(tok):
        return {"id": vocab[tok], "content": tok, "single_word": False, "lstrip": False,
                "rstrip": False, "normalized": False, "special": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(t) for t in SPECIALS],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("[CLS]"), {"Sequence": {"id": "A", "type_id": 0}}, special("[SEP]")],
            "pair": [special("[CLS]"), {"Sequence": {"id": "A", "type_id": 0}}, special("[SEP]"),
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [vocab["[CLS]"]], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [vocab["[SEP]"]], "tokens": ["[SEP]"]},
            },
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": js_key_order(vocab)},
    }


def for_model(tok, text, vocab):
    full = tok.encode(text).ids
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    if full[0] != cls or full[-1] != sep:
        sys.exit("make_wordpiece_fixtures.py: the post-processor did not add [CLS] .. [SEP]")
    truncated = len(full) > MAX_LENGTH
    ids = full[:MAX_LENGTH - 1] + [sep] if truncated else full  # truncation keeps [SEP] last
    return ids, truncated


def clean_up_tokenization(text):
    """transformers' PreTrainedTokenizerBase.clean_up_tokenization, which
    BertTokenizerFast.decode applies to the whole text when
    clean_up_tokenization_spaces is true (bert-base-uncased's setting). The
    Rust WordPiece decoder's own `cleanup` works token by token, so " ' "
    (from "i've") never matches there."""
    for dirty, clean in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                         (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"),
                         (" 're", "'re")):
        text = text.replace(dirty, clean)
    return text


def import_tokenizers():
    try:
        import tokenizers
    except ImportError as e:
        sys.exit(f"make_wordpiece_fixtures.py: {e}: run it with the reference environment's "
                 "python (python3 -m venv /root/.cache/ftune-ref && "
                 "/root/.cache/ftune-ref/bin/pip install tokenizers)")
    return tokenizers


def check_with_python_rules(vocab, records):
    """Compare with make_wordpiece_python_fixtures.py's transcription of the
    Python BertTokenizer (both its Python and its Rust rules)."""
    sys.path.insert(0, HERE)
    import make_wordpiece_python_fixtures as py
    same = differ = 0
    for rec in records:
        if py.encode(rec["text"], vocab, rules="rust") == rec["ids"] == py.encode(rec["text"], vocab):
            same += 1
        else:
            differ += 1
            print(f"text {rec['i']} differs: {rec['text'][:80]!r}")
    print(f"tokenizers vs the Python BertTokenizer transcription: {same} agree, {differ} differ")
    return differ == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=OUT_DIR, help="output folder (default %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="also compare with make_wordpiece_python_fixtures.py's rules")
    args = parser.parse_args()
    tokenizers = import_tokenizers()
    vocab = read_vocab()
    tj = tokenizer_json(vocab)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(tj, indent=2, ensure_ascii=False) + "\n")
    tok = tokenizers.Tokenizer.from_str(json.dumps(tj))

    with open(CORPUS, encoding="utf-8") as f:
        texts = [("corpus", json.loads(line)["text"]) for line in f if line.strip()]
    texts += [("hand", text) for text in HAND_CASES]
    records = []
    for i, (source, text) in enumerate(texts):
        ids = tok.encode(text, add_special_tokens=False).ids
        model_ids, truncated = for_model(tok, text, vocab)
        padded = model_ids + [vocab["[PAD]"]] * (MAX_LENGTH - len(model_ids))
        records.append({"i": i, "source": source, "text": text, "ids": ids,
                        "model_ids": model_ids, "length": len(model_ids), "truncated": truncated,
                        "exact": True,
                        "decoded": clean_up_tokenization(
                            tok.decode(padded, skip_special_tokens=True))})
    path = os.path.join(args.out, "expected_ids.jsonl")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {len(records)} texts to {path} and tokenizer.json")
    if args.check and not check_with_python_rules(vocab, records):
        sys.exit(1)


if __name__ == "__main__":
    main()
