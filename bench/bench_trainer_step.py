#!/usr/bin/env python3
"""The training step as transformers' Trainer runs it: the same model and
shapes as bench_train_step_torch.py (random weights from the config, dropout),
trained by transformers.Trainer on a synthetic in-memory dataset, so that the
benchmark also counts what Trainer adds around forward, backward and AdamW
(accelerate's wrapping, loss bookkeeping, clipping, the LR scheduler,
callbacks).

usage: bench_trainer_step.py [bert|gpt2] [BATCH] [SEQ] [STEPS] [WARMUP] [DROPOUT] [PRECISION]

TrainingArguments: use_cpu=True, per_device_train_batch_size BATCH,
max_steps WARMUP + STEPS, optim adamw_torch (lr 2e-5, weight decay 0.01 on
Trainer's decay groups), max_grad_norm 1.0, bf16=True for PRECISION bf16
(autocast), logging and saving off, report_to none, dataloader_num_workers 0.
A TrainerCallback takes the time from on_step_begin to on_step_end (one
optimizer step: forward, backward, clipping, AdamW, scheduler; Trainer has
fetched the batch before on_step_begin) and prints the median over the
STEPS after WARMUP, and the process's peak resident memory.
Settings: threads, OpenMP policy, mkldnn, attention and flush-denormal of
FTUNE_BENCH_TORCH_SETTINGS's train-fp32 / train-bf16 case
(bench_torch_settings.py); its compile setting becomes TrainingArguments'
torch_compile / torch_compile_mode.
"""
import resource
import statistics
import sys
import tempfile
import time

import bench_torch_settings

SETTINGS = bench_torch_settings.prepare(
    "train-bf16" if len(sys.argv) > 7 and sys.argv[7] == "bf16" else "train-fp32")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import Trainer, TrainerCallback, TrainingArguments  # noqa: E402

from bench_torch_models import make_model  # noqa: E402


class StepTimer(TrainerCallback):
    """Wall time of each optimizer step, on_step_begin to on_step_end."""

    def __init__(self):
        self.times = []
        self._t0 = None

    def on_step_begin(self, args, state, control, **kwargs):
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._t0)


class SyntheticDataset(torch.utils.data.Dataset):
    """N rows of random ids that fill SEQ tokens, labels alternating 0/1
    (bench_train_step_torch.py's batches)."""

    def __init__(self, n, seq):
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(1000, 21000, (n, seq), generator=g)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]),
                "labels": torch.tensor(i % 2)}


def training_args(out_dir, batch, max_steps, bf16):
    compile_mode = SETTINGS["compile"]
    return TrainingArguments(
        output_dir=out_dir, use_cpu=True, per_device_train_batch_size=batch,
        max_steps=max_steps, learning_rate=2e-5, weight_decay=0.01, optim="adamw_torch",
        max_grad_norm=1.0, bf16=bf16, logging_strategy="no", save_strategy="no",
        eval_strategy="no", report_to="none", dataloader_num_workers=0, disable_tqdm=True,
        torch_compile=compile_mode != "none",
        torch_compile_backend="inductor" if compile_mode != "none" else None,
        torch_compile_mode=compile_mode if compile_mode != "none" else None,
        seed=0)


def main():
    a = sys.argv[1:]
    if a and a[0] in ("-h", "--help"):
        print(__doc__)
        return
    arch = a[0] if a else "bert"
    if arch not in ("bert", "gpt2"):
        sys.exit(f"bench_trainer_step.py: the model must be bert or gpt2, got {arch!r}")
    b, t = (int(a[1]) if len(a) > 1 else 16), (int(a[2]) if len(a) > 2 else 128)
    steps, warm = (int(a[3]) if len(a) > 3 else 5), (int(a[4]) if len(a) > 4 else 2)
    dropout = float(a[5]) if len(a) > 5 else 0.1
    bf16 = len(a) > 6 and a[6] == "bf16"
    if steps < 1:
        sys.exit("bench_trainer_step.py: STEPS must be at least 1")
    transformers.logging.set_verbosity_error()
    bench_torch_settings.apply(SETTINGS)
    torch.manual_seed(0)
    model, impl = make_model(arch, dropout)
    timer = StepTimer()
    with tempfile.TemporaryDirectory(prefix="ftune-bench-trainer-") as out_dir:
        trainer = Trainer(model=model, args=training_args(out_dir, b, warm + steps, bf16),
                          train_dataset=SyntheticDataset(b * (warm + steps), t), callbacks=[timer])
        # Trainer (accelerate) may reset the thread count: set ours again.
        bench_torch_settings.apply(SETTINGS)
        out = trainer.train()
    times = timer.times[warm:]
    med = statistics.median(times)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    c, i, layers = 768, 3072, 12
    gflop = (6.0 * layers * (4 * c * c + 2 * c * i) * b * t + 3.0 * layers * 4.0 * b * t * t * c) / 1e9
    print(f"impl=trainer torch={torch.__version__} model={impl} precision={'bf16' if bf16 else 'fp32'} arch={arch} batch={b} seq={t} dropout={dropout:g} step_s={med:.3f} "
          f"step_min_s={min(times):.3f} step_max_s={max(times):.3f} gflop={gflop:.1f} gflops={gflop / med:.1f} threads={torch.get_num_threads()} "
          f"peak_rss_mib={rss_mib:.0f} steps={len(timer.times)} first_step_s={timer.times[0]:.3f} train_loss={out.training_loss:.4f} "
          f"settings={bench_torch_settings.describe(SETTINGS)}")


if __name__ == "__main__":
    main()
