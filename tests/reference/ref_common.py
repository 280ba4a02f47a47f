"""What the `reference` tests share: the tokenizer corpus and the verdict."""
import json
import os


def corpus_texts(src):
    """The texts of tests/fixtures/tokenizer/corpus.jsonl under source dir src."""
    with open(os.path.join(src, "tests/fixtures/tokenizer/corpus.jsonl"), encoding="utf-8") as f:
        return [json.loads(l)["text"] for l in f if l.strip()]


def verdict(name, failures, what):
    """Print PASS, or FAIL with the count of failed `what`; the exit status."""
    if failures:
        print(f"{name}: FAIL: {failures} {what}")
        return 1
    print(f"{name}: PASS")
    return 0
