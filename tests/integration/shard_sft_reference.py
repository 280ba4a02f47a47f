"""shard_sft_reference.py: a causal_lm dataset made by ftune-shard against
TRL's SFT tokenization, recomputed with transformers' GPT-2 tokenizer
(messages data: transformers' apply_chat_template with the folder's
chat_template, every token trained but the first, as TRL without
assistant_only_loss).

TRL (SFTTrainer, prompt-completion data, completion_only_loss): the EOS text
is appended to the completion, prompt and prompt+completion are tokenized,
completion_mask = 0 on the prompt's tokens, 1 after; the loss ignores
masked tokens (labels -100). ftune stores the same, with the first token's
label -100 too (nothing predicts it). Each row of every split must equal
that, matched by example_index; packed datasets (--packing) must be the
examples concatenated, with position ids restarting and segment ids.
Usage: python shard_sft_reference.py DATASET_DIR FIXTURE.jsonl MODEL_DIR
Exit 0 all equal, 1 a difference (printed)."""
import json
import os
import sys

import h5py
from transformers import GPT2TokenizerFast


def expected(tok, rec, eos):
    prompt, completion = rec["prompt"], rec["completion"]
    if not completion.endswith(eos):
        completion += eos
    p = tok(prompt)["input_ids"]
    pc = tok(prompt + completion)["input_ids"]
    assert pc[: len(p)] == p, "prompt tokens are not a prefix (TRL warns)"
    labels = [-100] * len(p) + pc[len(p):]
    labels[0] = -100
    return pc, labels


def expected_chat(tok, rec):
    ids = tok.apply_chat_template(rec["messages"], tokenize=True)
    ids = list(ids["input_ids"] if hasattr(ids, "keys") else ids)
    return ids, [-100] + ids[1:]


def main():
    data, fixture, model = sys.argv[1:4]
    man = json.load(open(os.path.join(data, "manifest.json")))
    tok = GPT2TokenizerFast.from_pretrained(model)
    chat = man["lm"]["mode"] == "messages"
    recs = [json.loads(line) for line in open(fixture, encoding="utf-8")]
    bad = checked = 0
    for split, info in man["splits"].items():
        for f in info["files"]:
            h = h5py.File(os.path.join(data, f["name"]), "r")
            ids, labels, lengths = h["input_ids"][:], h["labels"][:], h["lengths"][:]
            packed = bool(h.attrs["packed"])
            seg_examples = h["segment_example_index"][:].tolist() if packed else h["example_index"][:].tolist()
            s_at = 0
            for r in range(len(lengths)):
                n = int(lengths[r])
                seg = h["segment_ids"][r][:n] if packed else [1] * n
                starts = [j for j in range(n) if j == 0 or seg[j] != seg[j - 1]] + [n]
                for k in range(len(starts) - 1):
                    a, b = starts[k], starts[k + 1]
                    rec = recs[seg_examples[s_at]]
                    want_ids, want_labels = expected_chat(tok, rec) if chat else expected(tok, rec, tok.eos_token)
                    s_at += 1
                    got_ids, got_labels = ids[r][a:b].tolist(), labels[r][a:b].tolist()
                    pos = h["position_ids"][r][a:b].tolist() if packed else list(range(b - a))
                    checked += 1
                    if got_ids != want_ids or got_labels != want_labels or pos != list(range(b - a)):
                        bad += 1
                        if bad <= 3:
                            print(f"{split} {f['name']} row {r} segment {k + 1}: ids/labels/positions differ\n"
                                  f"  got  {got_ids}\n  want {want_ids}\n  got  {got_labels}\n  want {want_labels}")
    print(f"{checked} examples compared, {bad} differ")
    return 1 if bad or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
