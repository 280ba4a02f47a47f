#!/usr/bin/env python3
"""The reference side of bench_tokenize.sh: PyPI's `tokenizers` (the Rust
library behind every Hugging Face fast tokenizer) on the same corpus with
the same measure as bench/bench_tokenize.c: encode loop only (no start-up,
no file loading), one warm-up pass, then whole passes until MIN_SECONDS.

Two lines of "key=value" pairs:
  mode=encode        Tokenizer.encode(text, add_special_tokens=False) for
                     each text in turn, as ftune encodes (the ratio printed
                     by bench_tokenize.sh uses this line);
  mode=encode_batch  Tokenizer.encode_batch(texts) over the whole corpus,
                     for information (one thread here: no Python call per
                     text, the rest of the work the same).

One thread: RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=false are set
before `tokenizers` is imported (bench_tokenize.sh also pins the process to
one core with taskset). The tokenizer.json files are built from the
committed vocabularies by the fixture generators' own code
(tests/reference/make_wordpiece_fixtures.py, make_bpe_fixtures.py):
bert-base-uncased WordPiece and Hugging Face gpt2's byte-level BPE.
Note: each Encoding also carries tokens, offsets, masks and type ids, which
ftune's encode does not compute; that is the price of the library's API.

Usage: bench_tokenize.py wordpiece|bpe CORPUS_JSONL [MIN_SECONDS]
(run it with the reference environment's python, see
tests/reference/README.md)
"""
import json
import os
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree


def load_tokenizer(kind):
    import tokenizers
    if kind == "wordpiece":
        import make_wordpiece_fixtures as wp
        spec = wp.tokenizer_json(wp.read_vocab())
    else:
        import make_bpe_fixtures as bpe
        spec = bpe.tokenizer_json(*bpe.read_vocab())
    return tokenizers, tokenizers.Tokenizer.from_str(json.dumps(spec))


def timed_passes(one_pass, min_s):
    """(tokens of the warm-up pass, passes, seconds) of whole passes."""
    tokens = one_pass()
    passes, start, elapsed = 0, time.perf_counter(), 0.0
    while elapsed < min_s:
        one_pass()
        passes += 1
        elapsed = time.perf_counter() - start
    return tokens, passes, elapsed


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ("wordpiece", "bpe"):
        sys.exit("usage: bench_tokenize.py wordpiece|bpe CORPUS_JSONL [MIN_SECONDS]")
    kind, corpus = sys.argv[1], sys.argv[2]
    min_s = float(sys.argv[3]) if len(sys.argv) == 4 else 1.0
    with open(corpus, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    try:
        tokenizers, tok = load_tokenizer(kind)
    except ImportError as e:
        sys.exit(f"bench_tokenize.py: {e}: run it with the reference environment's python "
                 "(see tests/reference/README.md)")

    def each():
        return sum(len(tok.encode(t, add_special_tokens=False).ids) for t in texts)

    def batch():
        return sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))

    for mode, one_pass in (("encode", each), ("encode_batch", batch)):
        tokens, passes, seconds = timed_passes(one_pass, min_s)
        print(f"impl=tokenizers-{tokenizers.__version__} kind={kind} mode={mode} "
              f"texts={len(texts)} bytes={nbytes} tokens={tokens} passes={passes} "
              f"seconds={seconds:.3f} mb_per_s={nbytes * passes / seconds / 1e6:.2f} "
              f"texts_per_s={len(texts) * passes / seconds:.0f}", flush=True)


if __name__ == "__main__":
    main()
