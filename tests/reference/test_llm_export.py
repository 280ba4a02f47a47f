"""ftune's decoder-LLM export read by transformers.

test_hf_llm_export (tests/unit) loads each folder of tests/fixtures/llm/
(LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM, Phi3ForCausalLM;
llama3 sharded) and exports it with hf_model_export into a temporary
folder. For each export:
1. AutoModelForCausalLM.from_pretrained loads it with no missing,
   unexpected or mismatched tensors, as the fixture's architecture;
2. its logits on the fixture's first micro-batch (batch.safetensors, right
   padded, attention_mask from lengths) equal the committed
   reference.safetensors logits within 1e-5 of the largest logit magnitude.
   Why 1e-5: the weights went through ftune unrounded (F32 in, F32 out, the
   C test checks them bit for bit), so the only difference is transformers
   run again, possibly with another CPU's sgemm blocking, summing the same
   float32 products in another order: a few ulps of sums of at most 128
   terms (test_model_llm.c's bound), two orders of magnitude above what a
   wrong tensor name, transposition or tie would leave undetected;
3. AutoConfig round-trips the keys: every key of the exported config.json
   reads back with the same value (transformers 5 moves rope_theta and
   rope_scaling's entries into rope_parameters: found there), and
   save_pretrained of that config, read again, gives the same config.
Exit 0 when all hold, 1 otherwise, 77 without the reference stack.

Usage: test_llm_export.py TEST_HF_LLM_EXPORT FIXTURES_LLM_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_common import verdict  # noqa: E402

try:
    import numpy as np
    import torch
    from make_llm_fixtures import CASES, B, T, load_safetensors
    from transformers import AutoConfig, AutoModelForCausalLM
except ImportError as e:
    print(f"test_llm_export: reference stack missing ({e}): run bash env/reference.sh: skipped")
    sys.exit(77)

TOL = 1e-5
FAILURES = []


def check(ok, what):
    FAILURES.extend([] if ok else [what])
    print(f"test_llm_export: {'ok  ' if ok else 'FAIL'} {what}")


def same(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return all(k in b and same(v, b[k]) for k, v in a.items())
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def check_config(case, folder):
    with open(os.path.join(folder, "config.json")) as f:
        written = json.load(f)
    cfg = AutoConfig.from_pretrained(folder)
    back = cfg.to_dict()
    for key, value in written.items():
        # transformers 5 reads torch_dtype as dtype; rope_scaling may come
        # back as rope_parameters with the same entries
        # torch_dtype as dtype; rope_theta and rope_scaling's entries inside
        # rope_parameters (and rope_scaling's "type" as "rope_type")
        rope = back.get("rope_parameters") or {}
        if key in back:
            got = back[key]
        elif key == "torch_dtype":
            got = back.get("dtype")
        elif key == "rope_theta":
            got = rope.get("rope_theta")
        elif key == "rope_scaling":
            got = dict(rope, type=rope.get("rope_type"))
        else:
            got = KeyError
        check(got is not KeyError and same(value, got), f"{case}: AutoConfig key {key}: "
              f"wrote {value!r}, read {got!r}")
    with tempfile.TemporaryDirectory() as again:
        cfg.save_pretrained(again)
        cfg2 = AutoConfig.from_pretrained(again)
        a, b = cfg.to_dict(), cfg2.to_dict()
        for k in ("transformers_version", "_name_or_path"):
            a.pop(k, None), b.pop(k, None)
        check(a == b, f"{case}: AutoConfig save_pretrained round trip")


def check_model(case, folder, fixtures):
    arch = json.load(open(os.path.join(folder, "config.json")))["architectures"][0]
    model, info = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32,
                                                       attn_implementation="eager",
                                                       output_loading_info=True)
    model.eval()
    check(type(model).__name__ == arch, f"{case}: loaded as {type(model).__name__}")
    bad = {k: v for k, v in info.items() if v}
    check(not bad, f"{case}: loading info clean {bad or ''}")
    batch = load_safetensors(os.path.join(fixtures, case, "batch.safetensors"))
    ref = load_safetensors(os.path.join(fixtures, case, "reference.safetensors"))["logits"]
    ids = torch.tensor(batch["input_ids"][:B].astype(np.int64))
    lengths = torch.tensor(batch["lengths"][:B].astype(np.int64))
    mask = (torch.arange(T)[None, :] < lengths[:, None]).long()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits.numpy()
    err = float(np.max(np.abs(logits.astype(np.float64) - ref)) / np.max(np.abs(ref)))
    check(err <= TOL, f"{case}: logits against reference.safetensors rel err {err:.3g} "
          f"(tolerance {TOL})")


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1])
        return 2
    binary, fixtures = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run([binary, tmp], capture_output=True, text=True)
        check(run.returncode == 0, f"{binary} {tmp}: exit {run.returncode}\n{run.stderr[-2000:]}")
        for case in sorted(CASES):
            folder = os.path.join(tmp, case)
            if not os.path.isdir(folder):
                check(False, f"{case}: no export at {folder}")
                continue
            check_config(case, folder)
            check_model(case, folder, fixtures)
    return verdict("test_llm_export", len(FAILURES), "checks")


if __name__ == "__main__":
    sys.exit(main())
