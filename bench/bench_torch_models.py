"""The PyTorch models of the benchmarks (bench_train_step_torch.py,
bench_eval.py): BERT-base or GPT-2 small sequence classifiers, 2 labels, or
(qwen2, the SFT step of bench_sft_step.sh) a Qwen2ForCausalLM of
FTUNE_BENCH_LLM_SHAPE's sizes (Qwen2.5-0.5B's by default, as bench_train_step.c).

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
                              GPT2ForSequenceClassification, Qwen2Config, Qwen2ForCausalLM)
except ImportError as e:
    sys.exit(f"bench_torch_models: {e}: the PyTorch baseline needs transformers "
             "(bash env/reference.sh)")


QWEN2_SHAPE = "896,4864,24,14,2,151936"  # Qwen2.5-0.5B


def qwen2_config():
    """Qwen2.5-0.5B's config, sizes from FTUNE_BENCH_LLM_SHAPE
    ("hidden,intermediate,layers,heads,kv_heads,vocab", as bench_train_step.c)."""
    text = os.environ.get("FTUNE_BENCH_LLM_SHAPE") or QWEN2_SHAPE
    try:
        hid, inter, layers, heads, kv, vocab = (int(x) for x in text.split(","))
    except ValueError:
        sys.exit(f"bench_torch_models: FTUNE_BENCH_LLM_SHAPE: expected "
                 f"hidden,intermediate,layers,heads,kv_heads,vocab, got {text!r}")
    return Qwen2Config(hidden_size=hid, intermediate_size=inter, num_hidden_layers=layers,
                       num_attention_heads=heads, num_key_value_heads=kv, vocab_size=vocab,
                       tie_word_embeddings=True, rope_theta=1e6, rms_norm_eps=1e-6,
                       max_position_embeddings=32768, attention_dropout=0.0,
                       use_cache=False)  # training keeps no KV cache (ftune has none)


def make_model(arch, dropout):
    """(model, impl name): arch bert, gpt2 or qwen2, random weights (speed does not depend on them)."""
    attn = os.environ.get("FTUNE_BENCH_ATTN", "sdpa")
    if arch == "qwen2":
        model = Qwen2ForCausalLM(qwen2_config())
    elif arch == "bert":
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
    """Mean cross-entropy, as Trainer's loss: a classifier's over rows, a
    causal LM's (labels [B, T], -100 uncounted) transformers' own shifted
    next-token loss."""
    if labels.dim() == 2:
        return model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss
    return F.cross_entropy(logits(model, impl, ids, lengths), labels)


def decays(name):
    """Trainer's weight-decay rule (no decay on biases and norm layers:
    LayerNorm, ln_*, Qwen2's RMSNorms), by name for these models
    (Trainer.get_decay_parameter_names gives the same set)."""
    return "bias" not in name and "norm" not in name.lower() and ".ln_" not in name
