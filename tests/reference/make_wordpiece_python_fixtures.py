#!/usr/bin/env python3
"""Make tests/fixtures/tokenizer/bert/python_rules.jsonl: expected ids for
the inputs on which the earlier JavaScript reference was known to differ
from Hugging Face, and for settings expected_ids.jsonl does not cover
(cased vocab.txt, strip_accents false); and python_random.jsonl: random
strings drawn from many scripts, symbols, marks and controls (a fixed seed),
with their ids under both rule sets, to reach Unicode corners no real
corpus does.

The expectations come from this file's transcription of the logic of
Hugging Face's Python BertTokenizer (transformers' BasicTokenizer +
WordpieceTokenizer, the same as Google's original tokenization.py, plus the
NFC step transformers added), run with Python's own unicodedata and
str.lower(). It is an independent check of ftune's C code, which uses
utf8proc. With --corpus it also compares itself with expected_ids.jsonl
(make_wordpiece_fixtures.py: Hugging Face tokenizers) on every exact corpus
text and reports the differences, as a check of the references against
each other. It needs nothing beyond python3.

Usage: make_wordpiece_python_fixtures.py [--corpus]
"""
import json
import os
import random
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
VOCAB = os.path.join(ROOT, "models", "vocab", "bert-base-uncased-vocab.txt")
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "bert")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch):
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F
            or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


def clean(text):
    out = []
    for ch in text:
        if ord(ch) in (0, 0xFFFD) or is_control(ch):
            continue
        out.append(" " if is_whitespace(ch) else ch)
    return "".join(out)


def space_cjk(text):
    return "".join(f" {ch} " if is_cjk(ord(ch)) else ch for ch in text)


def strip_accents(word):
    return "".join(c for c in unicodedata.normalize("NFD", word)
                   if unicodedata.category(c) != "Mn")


def split_punctuation(word):
    pieces, current = [], ""
    for ch in word:
        if is_punctuation(ch):
            if current:
                pieces.append(current)
            pieces.append(ch)
            current = ""
        else:
            current += ch
    if current:
        pieces.append(current)
    return pieces


def basic_tokenize(text, lower, strip, rules):
    """rules "python": BertTokenizer (NFC, str.lower with its final sigma,
    lower-case then strip); "rust": BertTokenizerFast's BertNormalizer (no
    NFC, lower-case character by character after stripping)."""
    text = space_cjk(clean(text))
    if rules == "python":
        text = unicodedata.normalize("NFC", text)
    strip = lower if strip is None else strip
    words = []
    for word in text.split():
        if rules == "python":
            word = word.lower() if lower else word
            word = strip_accents(word) if strip else word
        else:
            word = strip_accents(word) if strip else word
            word = "".join(c.lower() for c in word) if lower else word
        words.extend(split_punctuation(word))
    return words


def wordpiece(word, vocab):
    if len(word) > 100:
        return [vocab["[UNK]"]]
    ids, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = ("##" if start else "") + word[start:end]
            if piece in vocab:
                ids.append(vocab[piece])
                break
            end -= 1
        if end == start:
            return [vocab["[UNK]"]]
        start = end
    return ids


def split_specials(text):
    """The text cut into (is_special, part), leftmost-longest special first."""
    parts, start, i = [], 0, 0
    while i < len(text):
        hit = next((s for s in sorted(SPECIALS, key=len, reverse=True)
                    if text.startswith(s, i)), None)
        if hit:
            parts.append((False, text[start:i]))
            parts.append((True, hit))
            i += len(hit)
            start = i
        else:
            i += 1
    parts.append((False, text[start:]))
    return parts


def encode(text, vocab, lower=True, strip=None, rules="python"):
    ids = []
    for special, part in split_specials(text):
        if special:
            ids.append(vocab[part])
            continue
        for word in basic_tokenize(part, lower, strip, rules):
            ids.extend(wordpiece(word, vocab))
    return ids


# (text, do_lower_case, strip_accents, rules, what it checks); rules
# "python" for a vocab.txt folder, "rust" for a tokenizer.json one.
CASES = [
    ("he\u0378llo wor\U000E0080ld", True, None, "python", "unassigned code points are dropped"),
    ("\ue000hello\U000F0000", True, None, "python", "private-use code points are dropped"),
    ("\U00020000\U0002A6D6x\U0002B740", True, None, "python", "CJK ideographs outside the BMP are split off"),
    ("ΟΔΟΣ ΣΑΣ Σ ΑΣ. Α'Σ ΑΣ'Β", True, None, "python", "final sigma (Python str.lower)"),
    ("İstanbul İ", True, False, "python", "full lower-casing of U+0130 when accents are kept"),
    ("café Naïve CAFÉ", True, False, "python", "lowercase without stripping accents"),
    ("Hello World café", False, None, "python", "cased: no lower-casing, accents kept"),
    ("cafe\u0301 Cafe\u0301", False, None, "python", "cased: NFC before splitting"),
    ("cafe\u0301 Cafe\u0301", False, True, "python", "cased with accents stripped"),
    ("\u1fef \u037e", False, None, "python", "cased: NFC turns U+1FEF into a backtick"),
    ("hello[SEP]world [CLS]x", True, None, "python", "special tokens inside words"),
    ("ΟΔΟΣ ΣΑΣ Σ ΑΣ. Α'Σ ΑΣ'Β", True, None, "rust", "no final sigma in BertNormalizer"),
    ("\u1fef \u037e cafe\u0301", False, None, "rust", "cased: no NFC"),
    ("he\u0378llo \ue000x", True, None, "rust", "unassigned and private-use dropped"),
    ("İstanbul ǅemal", True, None, "rust", "strip then lower-case"),
]


# Code point ranges the random strings draw from (ASCII weighted up).
POOLS = [(0x20, 0x7E)] * 6 + [
    (0x01, 0x1F), (0x80, 0x9F), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF),
    (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x1E00, 0x1FFF),
    (0x2000, 0x206F), (0x2100, 0x23FF), (0x3000, 0x30FF), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xE000, 0xE0FF), (0xF900, 0xFAFF),
    (0xFB00, 0xFB4F), (0xFE00, 0xFE6F), (0xFF00, 0xFFEF), (0x1D400, 0x1D7FF),
    (0x1F300, 0x1FAFF), (0x20000, 0x2FA1F), (0xE0000, 0xE007F)]


def random_texts(count, seed=20240611):
    """Random strings of assigned code points (Python's Unicode 14, which
    utf8proc's 15 agrees with on these), without U+0000 (cJSON strings end
    there; NUL is a hand case of the C test)."""
    rng = random.Random(seed)
    texts = []
    while len(texts) < count:
        chars = []
        for _ in range(rng.randint(0, 40)):
            lo, hi = rng.choice(POOLS)
            ch = chr(rng.randint(lo, hi))
            if unicodedata.category(ch) in ("Cn", "Cs"):
                continue
            chars.append(ch)
            if rng.random() < 0.2:
                chars.append(" ")
        texts.append("".join(chars))
    return texts


def write_random(vocab, count=1000):
    path = os.path.join(OUT_DIR, "python_random.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for text in random_texts(count):
            f.write(json.dumps({"text": text, "python_ids": encode(text, vocab),
                                "rust_ids": encode(text, vocab, rules="rust")}) + "\n")
    print(f"wrote {count} random texts to {path}")


def main():
    with open(VOCAB, encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    out = []
    for text, lower, strip, rules, what in CASES:
        out.append(json.dumps({"text": text, "rules": rules, "do_lower_case": lower,
                               "strip_accents": strip,
                               "ids": encode(text, vocab, lower, strip, rules),
                               "checks": what}, ensure_ascii=False))
    path = os.path.join(OUT_DIR, "python_rules.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {len(out)} cases to {path}")
    write_random(vocab)
    if "--corpus" in sys.argv:
        compare_with_expected(vocab)


def compare_with_expected(vocab):
    same = differ = 0
    with open(os.path.join(OUT_DIR, "expected_ids.jsonl"), encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if not rec["exact"]:
                continue
            if encode(rec["text"], vocab, rules="rust") == rec["ids"] == encode(rec["text"], vocab):
                same += 1
            else:
                differ += 1
                print(f"text {rec['i']} differs: {rec['text'][:80]!r}")
    print(f"Python rules vs expected_ids.jsonl (tokenizers): {same} agree, {differ} differ")


if __name__ == "__main__":
    main()
