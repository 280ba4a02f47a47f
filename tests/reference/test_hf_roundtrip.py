"""Hugging Face folders both ways between transformers and ftune.

1. transformers -> ftune: random-initialised BertForSequenceClassification
   and GPT2ForSequenceClassification of odd shapes (hidden 30 and 20, head
   sizes 10, 5, 6; 1, 2 and 7 labels; problem_type
   single_label_classification set; id2label given;
   1 or 2 layers), written with save_pretrained together with their
   tokenizers (BERT: the bert-base-uncased vocabulary, GPT-2: GPT-2's), are
   read by ftune-predict. On 40 texts of the tokenizer corpus its logits
   must equal transformers' within 1e-5 of the largest logit magnitude
   (float32 sums in another order: a few ulps of the partial sums), its
   probabilities within 1e-5, and its label names be config.json's.
2. A folder with only pytorch_model.bin (a pickle) is refused: exit 2, a
   message saying how to convert it; nothing is unpickled. problem_type
   regression is refused too (exit 2, named).
3. ftune -> transformers: ftune-train fine-tunes the 7-label BERT of 1 on
   a sharded dataset for 4 steps; its final/ is loaded by
   AutoModelForSequenceClassification.from_pretrained and
   AutoTokenizer.from_pretrained, and their probabilities on 100 texts match
   ftune-predict's within 1e-5.
Exit 0 when all hold, 1 otherwise, 77 without the reference stack.

Usage: test_hf_roundtrip.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import torch
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, BertConfig,
                              BertForSequenceClassification, BertTokenizer, GPT2Config,
                              GPT2ForSequenceClassification, GPT2Tokenizer)
except ImportError as e:
    print(f"test_hf_roundtrip: reference stack missing ({e}): run bash env/reference.sh: skipped")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_common import corpus_texts, verdict  # noqa: E402

TOL = 1e-5
FAILURES = []


def check(ok, what):
    print(f"test_hf_roundtrip: {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        FAILURES.append(what)


def predict(build, folder, texts):
    out = subprocess.run([os.path.join(build, "ftune-predict"), "--model", folder, "--json"],
                         input="".join(t + "\n" for t in texts).encode(), capture_output=True)
    if out.returncode != 0:
        raise RuntimeError(f"ftune-predict {folder}: exit {out.returncode}: {out.stderr.decode()}")
    return [json.loads(l) for l in out.stdout.decode().splitlines()]


def hf_scores(model, tok, texts):
    """Logits one text at a time (no padding to reason about)."""
    model.eval()
    rows = []
    with torch.no_grad():
        for t in texts:
            enc = tok(t, return_tensors="pt", truncation=True, max_length=64)
            rows.append(model(**enc).logits[0].double())
    return torch.stack(rows)


def compare(what, ours, logits):
    got = torch.tensor([r["logits"] for r in ours], dtype=torch.float64)
    probs = torch.tensor([r["probabilities"] for r in ours], dtype=torch.float64)
    scale = max(float(logits.abs().max()), 1.0)
    dl = float((got - logits).abs().max()) / scale
    dp = float((probs - torch.softmax(logits, -1)).abs().max())
    check(got.shape == logits.shape and dl <= TOL and dp <= TOL,
          f"{what}: logits within {dl:.2g} of transformers' (of max(|logit|, 1)), "
          f"probabilities within {dp:.2g}")


def bert_model(hidden, heads, layers, inter, labels, **kw):
    torch.manual_seed(hidden * 7 + labels)
    cfg = BertConfig(vocab_size=30522, hidden_size=hidden, num_attention_heads=heads,
                     num_hidden_layers=layers, intermediate_size=inter,
                     max_position_embeddings=64, num_labels=labels, **kw)
    return BertForSequenceClassification(cfg)


def gpt2_model(embd, heads, layers, labels, **kw):
    torch.manual_seed(embd * 11 + labels)
    cfg = GPT2Config(vocab_size=50257, n_embd=embd, n_head=heads, n_layer=layers,
                     n_positions=64, num_labels=labels, pad_token_id=50256, **kw)
    return GPT2ForSequenceClassification(cfg)


def to_ftune(build, src, texts, tmp):
    vocab = os.path.join(src, "models/vocab/bert-base-uncased-vocab.txt")
    gvocab = os.path.join(src, "models/vocab/gpt2-vocab.json")
    gmerges = os.path.join(src, "models/vocab/gpt2-merges.txt")
    names7 = {i: f"class-{chr(97 + i)}" for i in range(7)}
    cases = [
        ("bert h30 heads 3 (size 10), 2 layers, 7 labels, id2label, problem_type",
         bert_model(30, 3, 2, 37, 7, id2label=names7,
                    label2id={v: k for k, v in names7.items()},
                    problem_type="single_label_classification"), BertTokenizer(vocab)),
        ("bert h20 heads 4 (size 5), 1 layer, 1 label", bert_model(20, 4, 1, 16, 1),
         BertTokenizer(vocab)),
        ("gpt2 h30 heads 5 (size 6), 2 layers, 2 labels", gpt2_model(30, 5, 2, 2),
         GPT2Tokenizer(gvocab, gmerges)),
        ("gpt2 h20 heads 2 (size 10), 1 layer, 7 labels, id2label, problem_type",
         gpt2_model(20, 2, 1, 7, id2label=names7, label2id={v: k for k, v in names7.items()},
                    problem_type="single_label_classification"), GPT2Tokenizer(gvocab, gmerges)),
    ]
    bert7 = None
    for i, (what, model, tok) in enumerate(cases):
        folder = os.path.join(tmp, f"hf-{i}")
        model.save_pretrained(folder)
        tok.save_pretrained(folder)
        ours = predict(build, folder, texts)
        compare(what, ours, hf_scores(model, tok, texts))
        id2label = model.config.id2label
        want = [id2label[int(torch.tensor(r["logits"]).argmax())] for r in ours]
        check([r["label"] for r in ours] == want, f"{what}: label names from config.json")
        if i == 0:
            bert7 = folder
    return bert7


def regression_refused(build, src, tmp):
    """problem_type regression: ftune trains and scores classifiers only."""
    folder = os.path.join(tmp, "regression")
    bert_model(20, 4, 1, 16, 1, problem_type="regression").save_pretrained(folder)
    BertTokenizer(os.path.join(src, "models/vocab/bert-base-uncased-vocab.txt")).save_pretrained(folder)
    out = subprocess.run([os.path.join(build, "ftune-predict"), "--model", folder, "hello"],
                         capture_output=True)
    err = out.stderr.decode()
    check(out.returncode == 2 and "problem_type" in err and "regression" in err,
          f"problem_type regression refused (exit {out.returncode}): {err.strip()[:160]}")


def pickle_refused(build, src, tmp):
    model = bert_model(20, 4, 1, 16, 2)
    folder = os.path.join(tmp, "bin-only")
    os.makedirs(folder)
    model.config.save_pretrained(folder)
    torch.save(model.state_dict(), os.path.join(folder, "pytorch_model.bin"))
    BertTokenizer(os.path.join(src, "models/vocab/bert-base-uncased-vocab.txt")).save_pretrained(folder)
    out = subprocess.run([os.path.join(build, "ftune-predict"), "--model", folder, "hello"],
                         capture_output=True)
    err = out.stderr.decode()
    check(out.returncode == 2 and "pytorch_model.bin is a pickle" in err
          and "save_pretrained" in err, f"pytorch_model.bin-only folder refused (exit {out.returncode}): "
          f"{err.strip()[:160]}")


def from_ftune(build, bert7, texts, tmp):
    data = os.path.join(tmp, "raw.jsonl")
    with open(data, "w") as f:
        for i, t in enumerate(texts * 2):
            f.write(json.dumps({"text": t, "label": f"class-{chr(97 + i % 7)}"}) + "\n")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OMPI_MCA_ess_singleton_isolated="1")
    shards = os.path.join(tmp, "shards")
    subprocess.run([os.path.join(build, "ftune-shard"), "--input", data, "--tokenizer", bert7,
                    "--output", shards, "--max-length", "64", "--split", "0.8,0.1,0.1"],
                   check=True, capture_output=True, env=env)
    out = os.path.join(tmp, "trained")
    run = subprocess.run([os.path.join(build, "ftune-train"), "--model_name_or_path", bert7,
                          "--data_dir", shards, "--max_steps", "4",
                          "--per_device_train_batch_size", "8", "--learning_rate", "1e-3",
                          "--save_strategy", "no", "--disable_tqdm", "true",
                          "--output_dir", out], capture_output=True, env=env)
    if run.returncode != 0:
        check(False, f"ftune-train: exit {run.returncode}: {run.stderr.decode()[-400:]}")
        return
    final = os.path.join(out, "final")
    model = AutoModelForSequenceClassification.from_pretrained(final, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(final)
    ours = predict(build, final, texts)
    hf = hf_scores(model, tok, texts)
    probs = torch.tensor([r["probabilities"] for r in ours], dtype=torch.float64)
    dp = float((probs - torch.softmax(hf, -1)).abs().max())
    check(dp <= TOL, f"ftune's final/ in transformers (AutoModel + AutoTokenizer): "
          f"probabilities on {len(texts)} texts within {dp:.2g} of ftune-predict's")
    trained = load_moved(bert7, final)
    check(trained, "the fine-tuned weights differ from the start (training happened)")


def load_moved(a, b):
    from safetensors.torch import load_file
    x = load_file(os.path.join(a, "model.safetensors"))
    y = load_file(os.path.join(b, "model.safetensors"))
    return any(not torch.equal(x[k], y[k]) for k in x if k in y)


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    build, src = sys.argv[1], sys.argv[2]
    corpus = corpus_texts(src)
    # One line each, short enough to need no truncation.
    texts = [t for t in corpus if "\n" not in t and "\r" not in t and 10 < len(t) < 120]
    with tempfile.TemporaryDirectory(prefix="ftune-hf-roundtrip-") as tmp:
        bert7 = to_ftune(build, src, texts[:40], tmp)
        pickle_refused(build, src, tmp)
        regression_refused(build, src, tmp)
        from_ftune(build, bert7, texts[:100], tmp)
    return verdict("test_hf_roundtrip", len(FAILURES), "checks")


if __name__ == "__main__":
    sys.exit(main())
