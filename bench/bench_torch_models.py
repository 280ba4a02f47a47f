"""The PyTorch models of the benchmarks (bench_train_step_torch.py,
bench_eval.py): BERT-base or GPT-2 small sequence classifiers, 2 labels.

transformers' own BertForSequenceClassification / GPT2ForSequenceClassification
(env/reference.sh's PyTorch 2 and transformers), with FTUNE_BENCH_ATTN's
attention (sdpa, PyTorch 2's fused scaled_dot_product_attention, by default;
or eager). A python without transformers (Debian's torch 1.13) is refused:
the plain-PyTorch re-statement of the classes that served it is retired.
"""
import os
import sys

import torch
import torch.nn.functional as F

try:
    import transformers
    from transformers import (BertConfig, BertForSequenceClassification, GPT2Config,
                              GPT2ForSequenceClassification)
except ImportError as e:
    sys.exit(f"bench_torch_models: {e}: the PyTorch baseline needs transformers "
             "(bash env/reference.sh)")


def make_model(arch, dropout):
    """(model, impl name): arch bert or gpt2, random weights (speed does not depend on them)."""
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


def logits(model, impl, ids, lengths):
    """The classifier's logits for ids [B, T] with lengths [B] (every benchmark
    position is real, so transformers' mask is all ones)."""
    return model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits


def loss(model, impl, ids, lengths, labels):
    """Mean cross-entropy, as Trainer's loss."""
    return F.cross_entropy(logits(model, impl, ids, lengths), labels)


def decays(name):
    """Trainer's weight-decay rule (no decay on biases and LayerNorm), by
    name for these two models (Trainer.get_decay_parameter_names gives the
    same set)."""
    return "bias" not in name and "LayerNorm" not in name and ".ln_" not in name
