#!/usr/bin/env python3
"""PyTorch twin of ftune-eval's scoring: BERT-base sequence classification,
forward only (model.eval(), torch.no_grad(), softmax), on batches of
BATCH x SEQ token ids with every position real (the lengths the ftune side
sees too: bench_eval.sh makes texts that fill SEQ tokens).

usage: bench_eval.py [BATCH] [SEQ] [BATCHES] [WARMUP] [PRECISION]

PRECISION: fp32 (default); autocast (torch.autocast("cpu", bfloat16), what
Trainer's bf16=True does); bf16 (the whole model cast to bfloat16, Trainer's
bf16_full_eval=True; autocast stays on for the float32 padding mask). bf16 products run through oneDNN (mkldnn) in torch.

Prints examples_per_s = BATCH / median batch time over BATCHES batches after
WARMUP. The model: transformers' BertForSequenceClassification sized to
BERT-base where transformers can be imported (env/reference.sh's PyTorch 2;
FTUNE_BENCH_ATTN's attention, sdpa by default, or eager), else
tests/reference/make_model_fixtures.py's plain-PyTorch re-statement of it
(Debian's torch 1.13; FTUNE_BENCH_TORCH_IMPL=plain forces it); random
weights (the speed does not depend on them). bench_eval.sh picks the
python; threads: torch.set_num_threads(FTUNE_BENCH_THREADS or 2).
"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import make_model_fixtures as mk  # noqa: E402


def make_model():
    """transformers' class when importable (and not FTUNE_BENCH_TORCH_IMPL=plain), else ours."""
    if os.environ.get("FTUNE_BENCH_TORCH_IMPL", "transformers") != "plain":
        try:
            import transformers
            from transformers import BertConfig, BertForSequenceClassification
        except ImportError:
            transformers = None
        if transformers is not None:
            attn = os.environ.get("FTUNE_BENCH_ATTN", "sdpa")
            model = BertForSequenceClassification(BertConfig(num_labels=2))
            model.set_attn_implementation(attn)
            return model, f"transformers-{transformers.__version__}-{attn}"
    model = mk.BertForSequenceClassification()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)
    return model, "plain"


def main():
    a = sys.argv[1:]
    b, t = (int(a[0]) if a else 64), (int(a[1]) if len(a) > 1 else 128)
    batches, warm = (int(a[2]) if len(a) > 2 else 3), (int(a[3]) if len(a) > 3 else 1)
    prec = a[4] if len(a) > 4 else "fp32"
    if prec not in ("fp32", "autocast", "bf16"):
        sys.exit(f"bench_eval.py: PRECISION must be fp32, autocast or bf16, got {prec}")
    torch.set_num_threads(int(os.environ.get("FTUNE_BENCH_THREADS", "2")))
    mk.DROPOUT = 0.1  # off anyway in eval mode
    mk.LAYERS, mk.HIDDEN, mk.HEADS, mk.INTER, mk.LABELS = 12, 768, 12, 3072, 2
    mk.VOCAB, mk.POSITIONS = 30522, 512
    torch.manual_seed(0)
    model, impl = make_model()
    model.eval()
    if prec == "bf16":
        model = model.to(torch.bfloat16)
    times = []
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec != "fp32"):
        for s in range(warm + batches):
            ids = torch.randint(1000, 21000, (b, t))
            lengths = torch.full((b,), t)
            t0 = time.perf_counter()
            if impl == "plain":
                logits = model(ids, lengths)
            else:
                logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
            probs = torch.softmax(logits, dim=-1)
            if s >= warm:
                times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"impl=pytorch torch={torch.__version__} model={impl} precision={prec} batch={b} seq={t} batch_s={med:.3f} examples_per_s={b / med:.2f} "
          f"threads={torch.get_num_threads()} p0={probs[0, 0].float().item():.4f}")


if __name__ == "__main__":
    main()
