#!/usr/bin/env python3
"""PyTorch's run settings for the benchmarks, and a sweep that picks the
fastest per case, so that ftune is compared with PyTorch at its best on the
machine rather than at one fixed setting.

A settings string is KEY=VALUE words joined by commas, e.g.
  threads=2,omp=PASSIVE,mkldnn=1,attn=sdpa,denormal=0,compile=none,grad=no_grad,bf16=cast
  threads   torch.set_num_threads (1, 2, ..., nproc)
  omp       OMP_WAIT_POLICY for torch's OpenMP (libgomp in the pip wheels, so
            KMP_* do not apply): PASSIVE, ACTIVE, default (unset it), or
            env (leave it as given: the default)
  mkldnn    torch.backends.mkldnn.enabled (1 or 0)
  attn      transformers' attention: sdpa or eager
  denormal  torch.set_flush_denormal (1 or 0)
  compile   none, default or max-autotune-no-cudagraphs: torch.compile with
            backend inductor (needs g++); the warm-up step that compiles is
            reported apart as first_step_s / first_batch_s, never timed
  grad      eval only: no_grad or inference (torch.inference_mode)
  bf16      eval's bf16 case only: autocast or cast (the model cast to bf16)
Keys left out keep the defaults (DEFAULTS; threads from FTUNE_BENCH_THREADS,
attn from FTUNE_BENCH_ATTN, as before this module).

FTUNE_BENCH_TORCH_SETTINGS holds one settings string for every case, or
per-case strings "CASE:SETTINGS;CASE:SETTINGS" with CASE one of train-fp32,
train-bf16, eval-fp32, eval-bf16 (the sweep prints that form). "auto" is
resolved by the shell scripts (bench_lib.sh), which run this sweep first.

usage: bench_torch_settings.py [-h] [--cases LIST] [--arch bert|gpt2]
  [--train-shape BxT] [--eval-shape BxT] [--steps N] [--warmup N]
  [--threads LIST] [--no-compile] [--timeout-s S]

The sweep is greedy, one key at a time in the order of SWEEP_ORDER: each
candidate runs in a fresh process (OMP_WAIT_POLICY is read when torch loads)
on a small shape, and replaces the best so far only when at least
MIN_GAIN faster, so ties keep the defaults. It prints one table row per
candidate, a WINNER line per case and a last line
"SETTINGS case:...;case:..." for FTUNE_BENCH_TORCH_SETTINGS.
"""
import argparse
import os
import subprocess
import sys

CASES = ("train-fp32", "train-bf16", "eval-fp32", "eval-bf16")
DEFAULTS = {"threads": "2", "omp": "env", "mkldnn": "1", "attn": "sdpa", "denormal": "0",
            "compile": "none", "grad": "no_grad", "bf16": "cast"}
CHOICES = {"omp": ("env", "PASSIVE", "ACTIVE", "default"), "mkldnn": ("1", "0"), "attn": ("sdpa", "eager"),
           "denormal": ("0", "1"), "compile": ("none", "default", "max-autotune-no-cudagraphs"),
           "grad": ("no_grad", "inference"), "bf16": ("cast", "autocast")}
SWEEP_ORDER = ("threads", "omp", "mkldnn", "attn", "denormal", "grad", "bf16", "compile")
MIN_GAIN = 0.03


def parse(text):
    """Settings dict from a KEY=VALUE,... string over DEFAULTS; ValueError on
    an unknown key or value."""
    s = dict(DEFAULTS)
    s["threads"] = os.environ.get("FTUNE_BENCH_THREADS", s["threads"])
    s["attn"] = os.environ.get("FTUNE_BENCH_ATTN", s["attn"])
    for word in filter(None, (w.strip() for w in text.split(","))):
        key, eq, value = word.partition("=")
        if not eq or key not in DEFAULTS:
            raise ValueError(f"settings: unknown key in {word!r} (keys: {', '.join(DEFAULTS)})")
        if key == "threads" and not (value.isdigit() and int(value) > 0):
            raise ValueError(f"settings: threads must be a positive integer, got {value!r}")
        if key in CHOICES and value not in CHOICES[key]:
            raise ValueError(f"settings: {key} must be one of {', '.join(CHOICES[key])}, got {value!r}")
        s[key] = value
    return s


def format_settings(s):
    return ",".join(f"{k}={s[k]}" for k in DEFAULTS)


def for_case(text, case):
    """The settings string for CASE out of FTUNE_BENCH_TORCH_SETTINGS's value:
    a plain string applies to every case; "case:..;case:.." picks CASE's part
    (empty when CASE is not named)."""
    if ":" not in text:
        return text
    for part in text.split(";"):
        name, _, value = part.strip().partition(":")
        if name == case:
            return value
    return ""


def prepare(case):
    """Read FTUNE_BENCH_TORCH_SETTINGS for CASE and set what must be in the
    environment before torch loads (OMP_WAIT_POLICY, FTUNE_BENCH_ATTN).
    Call before importing torch; returns the settings dict."""
    text = os.environ.get("FTUNE_BENCH_TORCH_SETTINGS", "")
    if text == "auto":
        sys.exit("FTUNE_BENCH_TORCH_SETTINGS=auto is resolved by bench_train_step.sh / "
                 "bench_eval.sh; give a settings string here")
    try:
        s = parse(for_case(text, case))
    except ValueError as e:
        sys.exit(f"FTUNE_BENCH_TORCH_SETTINGS: {e}")
    if s["omp"] == "default":
        os.environ.pop("OMP_WAIT_POLICY", None)
    elif s["omp"] != "env":
        os.environ["OMP_WAIT_POLICY"] = s["omp"]
    os.environ["FTUNE_BENCH_ATTN"] = s["attn"]
    return s


def describe(s):
    """The settings word for the result line, with the OpenMP policy that ran."""
    ran = dict(s, omp=os.environ.get("OMP_WAIT_POLICY", "default") if s["omp"] == "env" else s["omp"])
    return format_settings(ran)


def apply(s):
    """The process-wide torch settings (after torch is imported)."""
    import torch
    torch.set_num_threads(int(s["threads"]))
    torch.backends.mkldnn.enabled = s["mkldnn"] == "1"
    torch.set_flush_denormal(s["denormal"] == "1")


def maybe_compile(model, s):
    """MODEL under torch.compile (inductor) when the settings ask for it."""
    if s["compile"] == "none":
        return model
    import torch
    return torch.compile(model, mode=s["compile"], backend="inductor")


def child_command(case, args, here):
    kind, prec = case.split("-")
    if kind == "train":
        b, t = args.train_shape
        return [sys.executable, os.path.join(here, "bench_train_step_torch.py"), args.arch,
                str(b), str(t), str(args.steps), str(args.warmup), "0.1", prec]
    b, t = args.eval_shape
    return [sys.executable, os.path.join(here, "bench_eval.py"), str(b), str(t),
            str(args.steps), str(args.warmup), "fp32" if prec == "fp32" else "bf16"]


def run_candidate(case, s, args, here):
    """(seconds per step or batch, first step or batch in seconds, note)
    for settings S on CASE, or (None, None, why) when the run failed."""
    env = dict(os.environ, FTUNE_BENCH_TORCH_SETTINGS=f"{case}:{format_settings(s)}")
    try:
        p = subprocess.run(child_command(case, args, here), env=env, capture_output=True,
                           text=True, timeout=args.timeout_s)
    except subprocess.TimeoutExpired:
        return None, None, f"timed out after {args.timeout_s:g} s"
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["?"])[-1]
        return None, None, f"failed ({p.returncode}): {tail[:100]}"
    words = dict(w.split("=", 1) for w in p.stdout.split() if "=" in w)
    key = "step_s" if case.startswith("train") else "batch_s"
    first = words.get("first_step_s", words.get("first_batch_s"))
    return float(words[key]), float(first) if first else None, ""


def candidates(key, case, args):
    """The values of KEY to try for CASE (none where KEY does not apply)."""
    if key == "threads":
        return args.threads
    if key == "omp":
        return CHOICES["omp"][1:]
    if key == "grad" and not case.startswith("eval"):
        return ()
    if key == "bf16" and case != "eval-bf16":
        return ()
    if key == "compile" and args.no_compile:
        return ()
    return CHOICES[key]


def sweep_case(case, args, here):
    """Greedy sweep of CASE; prints a row per candidate; the winning dict."""
    best = parse("")
    best["omp"] = os.environ.get("OMP_WAIT_POLICY") or "default"  # what env means here
    best_s = None
    trials = [("defaults", best)] + [
        (f"{key}={value}", key) for key in SWEEP_ORDER for value in candidates(key, case, args)]
    tried = set()
    for label, trial in trials:
        if not isinstance(trial, dict):
            trial = dict(best, **{trial: label.split("=", 1)[1]})
        if format_settings(trial) in tried:
            continue
        tried.add(format_settings(trial))
        sec, first, note = run_candidate(case, trial, args, here)
        mark = ""
        if sec is not None and (best_s is None or sec < best_s * (1 - MIN_GAIN)):
            best, best_s, mark = trial, sec, "*"
        first_txt = f"{first:8.3f}" if first is not None else "       -"
        sec_txt = f"{sec:8.3f}" if sec is not None else "       -"
        print(f"{case:10} {label:40} {sec_txt} {first_txt} {mark:1} {note}", flush=True)
    return best, best_s


def shape(text):
    b, _, t = text.partition("x")
    return int(b), int(t)


def main():
    ap = argparse.ArgumentParser(description="Pick PyTorch's fastest settings per benchmark case.")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated, of " + ", ".join(CASES))
    ap.add_argument("--arch", default="bert", choices=("bert", "gpt2"), help="training model (eval: bert)")
    ap.add_argument("--train-shape", type=shape, default=(2, 128), help="BxT of the training step (2x128)")
    ap.add_argument("--eval-shape", type=shape, default=(8, 128), help="BxT of an eval batch (8x128)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps or batches per candidate (3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed first steps (1; compiles there)")
    ap.add_argument("--threads", default=f"1,2,{os.cpu_count()}", help="thread counts (1,2,nproc)")
    ap.add_argument("--no-compile", action="store_true", help="leave torch.compile out")
    ap.add_argument("--timeout-s", type=float, default=600, help="per candidate (600)")
    args = ap.parse_args()
    args.threads = tuple(dict.fromkeys(x.strip() for x in args.threads.split(",") if x.strip()))
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for c in cases:
        if c not in CASES:
            ap.error(f"--cases: {c!r} is not one of {', '.join(CASES)}")
    here = os.path.dirname(os.path.abspath(__file__))
    print(f"# sweep: train {args.arch} {args.train_shape[0]}x{args.train_shape[1]}, eval bert "
          f"{args.eval_shape[0]}x{args.eval_shape[1]}, {args.steps} timed after {args.warmup} "
          f"warm-up; greedy in the order {', '.join(SWEEP_ORDER)}; a change must gain "
          f"{100 * MIN_GAIN:.0f}%; * = new best")
    print(f"{'case':10} {'candidate (over the best so far)':40} {'time_s':>8} {'first_s':>8}")
    winners, parts = {}, []
    for case in cases:
        winners[case] = sweep_case(case, args, here)
    for case, (s, sec) in winners.items():
        print(f"WINNER {case} {format_settings(s)} time_s={sec if sec is None else round(sec, 4)}")
        parts.append(f"{case}:{format_settings(s)}")
    if all(sec is None for _, sec in winners.values()):
        sys.exit("bench_torch_settings: every candidate failed")
    print("SETTINGS " + ";".join(parts))


if __name__ == "__main__":
    main()
