"""eval_lm_reference.py: ftune-eval's causal-LM loss recomputed by transformers.

Usage: eval_lm_reference.py MODEL_DIR DATA_DIR SPLIT REPORT_JSON

Reads the SPLIT rows of DATA_DIR (ftune-shard --task causal_lm, unpacked),
runs AutoModelForCausalLM from MODEL_DIR on each row's real tokens, and
takes transformers' own loss (model(input_ids, labels=labels).loss: logits
shifted by one against the labels, -100 ignored, mean over the row's counted
tokens) times the row's counted tokens, summed over rows in float64 and
divided by the total: the mean over every token of the split, what
ftune-eval reports. Passes when report.json's num_tokens is equal and its
loss and perplexity are within 1e-5 relative.

Why 1e-5: both sides are float32 forwards whose products sum in other
orders (oneDNN or OpenBLAS against ATen), so logits differ by a few float32
roundings (about 1e-7 relative each), and torch's log-softmax over 50257
classes is float32 too; the mean over hundreds of tokens of such errors stays
near 1e-6. A real mistake (a shift off by one, a token counted twice, the
wrong mask) moves the loss by percent.
"""
import json
import math
import os
import sys

import h5py
import numpy as np
import torch
from transformers import AutoModelForCausalLM


def rows(data, split):
    man = json.load(open(os.path.join(data, "manifest.json")))
    assert man["task"] == "causal_lm" and not man["lm"]["packing"]
    for f in man["splits"][split]["files"]:
        with h5py.File(os.path.join(data, f["name"]), "r") as h:
            ids, lengths, labels = h["input_ids"][:], h["lengths"][:], h["labels"][:]
            for i in range(ids.shape[0]):
                n = int(lengths[i])
                yield ids[i, :n].astype(np.int64), labels[i, :n].astype(np.int64)


def main():
    model_dir, data, split, report = sys.argv[1:5]
    torch.set_grad_enabled(False)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    total, tokens = 0.0, 0
    for ids, labels in rows(data, split):
        counted = int((labels[1:] != -100).sum())
        if counted == 0:
            continue
        out = model(torch.from_numpy(ids)[None], labels=torch.from_numpy(labels)[None])
        total += float(out.loss) * counted
        tokens += counted
    mean = total / tokens
    got = json.load(open(report))
    ok = got["num_tokens"] == tokens
    rel = abs(got["loss"] - mean) / mean
    rel_ppl = abs(got["perplexity"] - math.exp(mean)) / math.exp(mean)
    ok = ok and rel < 1e-5 and rel_ppl < 1e-5
    print(f"transformers: {tokens} tokens, mean loss {mean:.9f}, perplexity {math.exp(mean):.6f}; "
          f"ftune-eval: {got['num_tokens']} tokens, loss {got['loss']:.9f} "
          f"(relative difference {rel:.2e}), perplexity {got['perplexity']:.6f} ({rel_ppl:.2e})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
