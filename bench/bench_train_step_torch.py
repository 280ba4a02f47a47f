#!/usr/bin/env python3
"""PyTorch twin of bench_train_step.c: the same model shapes and step
(forward, cross-entropy, backward, clip_grad_norm_ 1.0, AdamW with HF's
decay groups), fp32 or bf16 autocast, timed the same way (median of STEPS after WARMUP), with
the process's peak resident memory (getrusage ru_maxrss).

usage: bench_train_step_torch.py [bert|gpt2] [BATCH] [SEQ] [STEPS] [WARMUP] [DROPOUT] [PRECISION]

PRECISION: fp32 (default) or bf16: forward and loss under
torch.autocast("cpu", dtype=torch.bfloat16), float32 weights and optimizer,
which is what Trainer's bf16=True does on a CPU.

The model: bench_torch_models.py (transformers' classes with sdpa attention;
a python without transformers is refused).
bench_train_step.sh picks the python. Threads: torch.set_num_threads(FTUNE_BENCH_THREADS or 2).
"""
import os
import resource
import statistics
import sys
import time

import torch

from bench_torch_models import decays, loss as model_loss, make_model


def main():
    a = sys.argv[1:]
    arch = a[0] if a else "bert"
    b, t = (int(a[1]) if len(a) > 1 else 16), (int(a[2]) if len(a) > 2 else 128)
    steps, warm = (int(a[3]) if len(a) > 3 else 5), (int(a[4]) if len(a) > 4 else 2)
    dropout = float(a[5]) if len(a) > 5 else 0.1
    bf16 = len(a) > 6 and a[6] == "bf16"
    torch.set_num_threads(int(os.environ.get("FTUNE_BENCH_THREADS", "2")))
    torch.manual_seed(0)
    model, impl = make_model(arch, dropout)
    model.train()
    named = list(model.named_parameters())
    groups = [{"params": [p for n, p in named if decays(n)], "weight_decay": 0.01},
              {"params": [p for n, p in named if not decays(n)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=2e-5)
    times = []
    for s in range(warm + steps):
        ids = torch.randint(1000, 21000, (b, t))
        lengths = torch.full((b,), t)
        labels = torch.arange(b) % 2
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model_loss(model, impl, ids, lengths, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if s >= warm:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    c, i, layers = 768, 3072, 12
    gflop = (6.0 * layers * (4 * c * c + 2 * c * i) * b * t + 3.0 * layers * 4.0 * b * t * t * c) / 1e9
    print(f"impl=pytorch torch={torch.__version__} model={impl} precision={'bf16' if bf16 else 'fp32'} arch={arch} batch={b} seq={t} dropout={dropout:g} step_s={med:.3f} "
          f"step_min_s={min(times):.3f} step_max_s={max(times):.3f} gflop={gflop:.1f} gflops={gflop / med:.1f} threads={torch.get_num_threads()} "
          f"peak_rss_mib={rss_mib:.0f} loss={loss.float().item():.4f}")


if __name__ == "__main__":
    main()
