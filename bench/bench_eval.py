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
WARMUP. The model: bench_torch_models.py (transformers'
BertForSequenceClassification with sdpa attention; a python without
transformers is refused), random weights.
bench_eval.sh picks the python. Settings (threads, OpenMP policy, mkldnn,
attention, flush-denormal, torch.compile, no_grad or inference_mode, and for
PRECISION bf16 the cast or autocast): FTUNE_BENCH_TORCH_SETTINGS, case
eval-fp32 (fp32) or eval-bf16 (autocast, bf16) (bench_torch_settings.py); by
default torch.set_num_threads(FTUNE_BENCH_THREADS or 2), no_grad, and
PRECISION bf16 casts the model. first_batch_s is the first warm-up batch
(with torch.compile: the compilation), never part of batch_s.
"""
import statistics
import sys
import time

import bench_torch_settings

# The OpenMP policy is read when torch loads its OpenMP: settings first.
SETTINGS = bench_torch_settings.prepare(
    "eval-fp32" if len(sys.argv) <= 5 or sys.argv[5] == "fp32" else "eval-bf16")

import torch  # noqa: E402

from bench_torch_models import logits, make_model  # noqa: E402


def main():
    a = sys.argv[1:]
    b, t = (int(a[0]) if a else 64), (int(a[1]) if len(a) > 1 else 128)
    batches, warm = (int(a[2]) if len(a) > 2 else 3), (int(a[3]) if len(a) > 3 else 1)
    prec = a[4] if len(a) > 4 else "fp32"
    if prec not in ("fp32", "autocast", "bf16"):
        sys.exit(f"bench_eval.py: PRECISION must be fp32, autocast or bf16, got {prec}")
    if prec == "bf16" and SETTINGS["bf16"] == "autocast":
        prec = "autocast"
    if prec == "autocast":
        SETTINGS["bf16"] = "autocast"  # so that the printed settings say what ran
    bench_torch_settings.apply(SETTINGS)
    torch.manual_seed(0)
    model, impl = make_model("bert", 0.1)  # dropout off anyway in eval mode
    model.eval()
    if prec == "bf16":
        model = model.to(torch.bfloat16)
    model = bench_torch_settings.maybe_compile(model, SETTINGS)
    grad_off = torch.inference_mode() if SETTINGS["grad"] == "inference" else torch.no_grad()
    times = []
    with grad_off, torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec != "fp32"):
        for s in range(warm + batches):
            ids = torch.randint(1000, 21000, (b, t))
            lengths = torch.full((b,), t)
            t0 = time.perf_counter()
            probs = torch.softmax(logits(model, impl, ids, lengths), dim=-1)
            if s == 0:
                first_s = time.perf_counter() - t0
            if s >= warm:
                times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"impl=pytorch torch={torch.__version__} model={impl} precision={prec} batch={b} seq={t} batch_s={med:.3f} examples_per_s={b / med:.2f} "
          f"threads={torch.get_num_threads()} p0={probs[0, 0].float().item():.4f} first_batch_s={first_s:.3f} "
          f"settings={bench_torch_settings.describe(SETTINGS)}")


if __name__ == "__main__":
    main()
