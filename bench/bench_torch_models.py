"""The PyTorch models of the benchmarks (bench_train_step_torch.py,
bench_eval.py): BERT-base or GPT-2 small sequence classifiers, 2 labels.

transformers' own BertForSequenceClassification / GPT2ForSequenceClassification
where transformers can be imported (env/reference.sh's PyTorch 2), with
FTUNE_BENCH_ATTN's attention (sdpa, PyTorch 2's fused
scaled_dot_product_attention, by default; or eager); else
tests/reference/make_model_fixtures.py's plain-PyTorch re-statement of them
(Debian's torch 1.13). FTUNE_BENCH_TORCH_IMPL=plain forces the latter.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import make_model_fixtures as mk  # noqa: E402


def make_model(arch, dropout):
    """(model, impl name): arch bert or gpt2, random weights (speed does not depend on them)."""
    mk.DROPOUT = dropout
    mk.LAYERS, mk.HIDDEN, mk.HEADS, mk.INTER, mk.LABELS = 12, 768, 12, 3072, 2
    mk.VOCAB, mk.POSITIONS = (30522, 512) if arch == "bert" else (50257, 1024)
    if os.environ.get("FTUNE_BENCH_TORCH_IMPL", "transformers") != "plain":
        try:
            import transformers
            from transformers import (BertConfig, BertForSequenceClassification, GPT2Config,
                                      GPT2ForSequenceClassification)
        except ImportError:
            transformers = None
        if transformers is not None:
            attn = os.environ.get("FTUNE_BENCH_ATTN", "sdpa")
            if arch == "bert":
                model = BertForSequenceClassification(BertConfig(
                    hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout, num_labels=2))
            else:
                model = GPT2ForSequenceClassification(GPT2Config(
                    resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout, num_labels=2,
                    pad_token_id=50256))
            model.set_attn_implementation(attn)
            return model, f"transformers-{transformers.__version__}-{attn}"
    model = mk.BertForSequenceClassification() if arch == "bert" else mk.GPT2ForSequenceClassification()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)
    return model, "plain"


def logits(model, impl, ids, lengths):
    """The classifier's logits for ids [B, T] with lengths [B] (every benchmark
    position is real, so transformers' mask is all ones)."""
    if impl == "plain":
        return model(ids, lengths)
    return model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits


def loss(model, impl, ids, lengths, labels):
    """Mean cross-entropy, as Trainer's loss."""
    return F.cross_entropy(logits(model, impl, ids, lengths), labels)


def decays(name):
    """Trainer's weight-decay rule (no decay on biases and LayerNorm)."""
    return mk.decays(name)
