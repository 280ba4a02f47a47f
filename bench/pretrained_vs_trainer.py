"""The Trainer side of bench/pretrained_vs_trainer.sh, and its comparison.

Subcommands (run with the reference environment's python, env/reference.sh):

  start MODEL SHARDS OUT SEED
      OUT: MODEL (a pretrained BertModel folder, no head) with a
      classification head for SHARDS' labels, initialised by transformers'
      from_pretrained under torch.manual_seed(SEED), saved with
      save_pretrained, tokenizer files copied: the one start folder both ftune
      and Trainer fine-tune. OUT-scratch: the same config and tokenizer and no
      weights (ftune-train --allow_random_init true trains it from scratch).
  trainer START SHARDS ORDER OUT LR WD WARMUP DROPOUT SEED
      Fine-tunes START with transformers' Trainer on SHARDS' train split,
      taking the batches in ORDER (bench/sampler_order's lines: the batches
      ftune-train takes), AdamW with lr LR, weight decay WD (Trainer's decay
      groups), linear schedule with WARMUP steps, max_grad_norm 1, dropout as
      the config's or 0 (DROPOUT false); logs every step. Writes
      OUT/log_history.json and OUT/predictions.json (test split argmax).
  compare NAME SHARDS FTUNE_OUT FTUNE_EVAL TRAINER_OUT SCRATCH_EVAL SVG
      Prints one JSON line: accuracy and macro-F1 on the test split for ftune,
      Trainer and ftune from scratch (scikit-learn, from the predictions),
      the step-for-step relative loss difference (worst, median, last), and
      writes the two loss curves overlaid in SVG.
"""
import glob
import json
import math
import os
import shutil
import statistics
import sys

import h5py
import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def manifest(shards):
    with open(os.path.join(shards, "manifest.json")) as f:
        return json.load(f)


def split_rows(shards, split):
    """input_ids, lengths, labels of a split, files in the manifest's order."""
    m = manifest(shards)
    ids, lengths, labels = [], [], []
    for entry in m["splits"][split]["files"]:
        with h5py.File(os.path.join(shards, entry["name"]), "r") as f:
            ids.append(f["input_ids"][:].astype(np.int64))
            lengths.append(f["lengths"][:].astype(np.int64))
            labels.append(f["labels"][:].astype(np.int64))
    return np.concatenate(ids), np.concatenate(lengths), np.concatenate(labels)


def cmd_start(model, shards, out, seed):
    from transformers import BertForSequenceClassification
    names = manifest(shards)["labels"]
    torch.manual_seed(int(seed))
    m = BertForSequenceClassification.from_pretrained(
        model, num_labels=len(names), id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)})
    m.save_pretrained(out)
    scratch = out + "-scratch"
    os.makedirs(scratch, exist_ok=True)
    shutil.copy(os.path.join(out, "config.json"), scratch)
    for name in TOKENIZER_FILES:
        for d in (out, scratch):
            if os.path.exists(os.path.join(model, name)):
                shutil.copy(os.path.join(model, name), d)


class Rows(torch.utils.data.Dataset):
    def __init__(self, ids, lengths, labels):
        self.ids, self.lengths, self.labels = ids, lengths, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        t = self.ids.shape[1]
        return {"input_ids": torch.from_numpy(self.ids[i]),
                "attention_mask": (torch.arange(t) < int(self.lengths[i])).long(),
                "token_type_ids": torch.zeros(t, dtype=torch.long),
                "labels": torch.tensor(int(self.labels[i]))}


def cmd_trainer(start, shards, order_path, out, lr, wd, warmup, dropout, seed):
    from transformers import (BertForSequenceClassification, Trainer, TrainingArguments,
                              default_data_collator)
    with open(order_path) as f:
        order = [json.loads(l) for l in f if l.strip()]
    flat = [i for batch in order for i in batch]
    batch = len(order[0])
    kw = {}
    if dropout == "false":
        kw = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    model = BertForSequenceClassification.from_pretrained(start, dtype=torch.float32,
                                                          attn_implementation="eager", **kw)
    train = Rows(*split_rows(shards, "train"))

    class FixedOrder(torch.utils.data.Sampler):
        def __iter__(self):
            return iter(flat)

        def __len__(self):
            return len(flat)

    class OrderedTrainer(Trainer):
        def _get_train_sampler(self, *args, **kwargs):
            return FixedOrder()

    args = TrainingArguments(
        output_dir=out, per_device_train_batch_size=batch, learning_rate=float(lr),
        weight_decay=float(wd), warmup_steps=int(warmup), max_steps=len(order),
        lr_scheduler_type="linear", max_grad_norm=1.0, adam_epsilon=1e-8, logging_steps=1,
        save_strategy="no", report_to="none", seed=int(seed), use_cpu=True,
        dataloader_drop_last=True, disable_tqdm=True, dataloader_num_workers=0)
    trainer = OrderedTrainer(model=model, args=args, train_dataset=train,
                             data_collator=default_data_collator)
    trainer.train()
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "log_history.json"), "w") as f:
        json.dump(trainer.state.log_history, f)
    # Every test row (Trainer.predict would drop the last partial batch too).
    test = Rows(*split_rows(shards, "test"))
    model.eval()
    preds = []
    with torch.no_grad():
        for lo in range(0, len(test), 64):
            rows = [test[i] for i in range(lo, min(lo + 64, len(test)))]
            inputs = {k: torch.stack([r[k] for r in rows]) for k in ("input_ids", "attention_mask",
                                                                   "token_type_ids")}
            preds += [int(x) for x in model(**inputs).logits.argmax(-1)]
    with open(os.path.join(out, "predictions.json"), "w") as f:
        json.dump(preds, f)


def ftune_losses(out):
    with open(os.path.join(out, "log.jsonl")) as f:
        rows = [json.loads(l) for l in f if l.strip()]
    return {r["step"]: r["loss"] for r in rows if "loss" in r and "eval_loss" not in r}


def ftune_scores(eval_dir):
    """Scores of ftune-eval's predictions.jsonl, from its own true and
    predicted labels (its rows follow the eval order, not example_index)."""
    with open(os.path.join(eval_dir, "predictions.jsonl")) as f:
        rows = [json.loads(l) for l in f if l.strip()]
    return scores([r["true_label"] for r in rows], [r["pred_label"] for r in rows]), len(rows)


def scores(y, p):
    return {"accuracy": accuracy_score(y, p), "macro_f1": f1_score(y, p, average="macro")}


def svg(path, title, curves):
    """Loss against step, one polyline per (name, colour, {step: loss})."""
    w, h, pad = 720, 360, 50
    steps = [s for _, _, c in curves for s in c]
    losses = [v for _, _, c in curves for v in c.values()]
    x0, x1 = min(steps), max(steps)
    y0, y1 = 0.0, max(losses) * 1.05
    sx = lambda s: pad + (s - x0) / max(x1 - x0, 1) * (w - 2 * pad)
    sy = lambda v: h - pad - (v - y0) / (y1 - y0) * (h - 2 * pad)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
           f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>',
           f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="black"/>',
           f'<text x="{w / 2}" y="{h - 15}" text-anchor="middle">optimizer step ({x0}-{x1})</text>',
           f'<text x="15" y="{h / 2}" transform="rotate(-90 15 {h / 2})" text-anchor="middle">training loss</text>']
    for k in range(5):
        v = y0 + (y1 - y0) * k / 4
        out.append(f'<text x="{pad - 5}" y="{sy(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    for i, (name, colour, c) in enumerate(curves):
        pts = " ".join(f"{sx(s):.1f},{sy(v):.1f}" for s, v in sorted(c.items()))
        dash = ' stroke-dasharray="5,3"' if i else ""
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} points="{pts}"/>')
        out.append(f'<text x="{w - pad - 150}" y="{pad + 15 * i}" fill="{colour}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def cmd_compare(name, shards, ftune_out, ftune_eval, trainer_out, scratch_eval, svg_path):
    _, _, y = split_rows(shards, "test")
    ours = ftune_losses(ftune_out)
    with open(os.path.join(trainer_out, "log_history.json")) as f:
        theirs = {r["step"]: r["loss"] for r in json.load(f) if "loss" in r}
    common = sorted(set(ours) & set(theirs))
    rel = [abs(ours[s] - theirs[s]) / abs(theirs[s]) for s in common]
    with open(os.path.join(trainer_out, "predictions.json")) as f:
        tp = json.load(f)
    ours_scores, n_ours = ftune_scores(ftune_eval)
    scratch_scores, n_scratch = ftune_scores(scratch_eval)
    assert n_ours == n_scratch == len(y) == len(tp), "every test row scored once by each"
    row = {"dataset": name, "test_rows": len(y), "steps": len(common),
           "ftune": ours_scores, "trainer": scores(y, tp), "ftune_from_scratch": scratch_scores,
           "loss_rel_diff": {"worst": max(rel), "median": statistics.median(rel),
                             "last": rel[-1], "within_1pct": sum(r <= 0.01 for r in rel)},
           "final_loss": {"ftune": ours[common[-1]], "trainer": theirs[common[-1]]}}
    svg(svg_path, f"{name}: training loss, ftune and transformers' Trainer (dropout off, same batches)",
        [("ftune", "#1f77b4", ours), ("Trainer", "#ff7f0e", theirs)])
    print(json.dumps(row))


def main():
    cmds = {"start": (cmd_start, 4), "trainer": (cmd_trainer, 9), "compare": (cmd_compare, 7)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) - 2 != cmds[sys.argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    fn, _ = cmds[sys.argv[1]]
    fn(*sys.argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
