"""ftune-train's final/ of a decoder LLM read by transformers.

AutoModelForCausalLM.from_pretrained(FINAL) loads the folder ftune-train
exported (no missing, unexpected or mismatched tensors), and its logits on
a row of ids equal ftune's (lm_logits, the same folder through
hf_model_load) within 1e-5 absolute: both sum the same float32 products,
in other orders (sums of at most 64 terms of a model of hidden 32), a few
ulps of logits of magnitude about 1.
Exit 0 when both hold, 1 otherwise, 77 without the reference stack.

Usage: test_train_lm_final.py LM_LOGITS FINAL_DIR
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM
except ImportError as e:
    print(f"test_train_lm_final: reference stack missing ({e}): skipped")
    sys.exit(77)

TOL = 1e-5


def main():
    exe, final = sys.argv[1], sys.argv[2]
    model, info = AutoModelForCausalLM.from_pretrained(final, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v}
    if bad:
        print(f"test_train_lm_final: FAIL loading {final}: {bad}")
        return 1
    ids = [464, 1893, 286, 262, 4479, 318, 257, 50256, 7, 1002, 13, 198]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "logits.bin")
        subprocess.run([exe, final, out] + [str(i) for i in ids], check=True)
        ours = np.fromfile(out, dtype=np.float32).reshape(len(ids), -1)
    model.eval()
    with torch.no_grad():
        ref = model(torch.tensor([ids])).logits[0].float().numpy()
    worst = float(np.abs(ours - ref).max())
    scale = float(np.abs(ref).max())
    ok = ours.shape == ref.shape and worst <= TOL
    print(f"test_train_lm_final: {'ok' if ok else 'FAIL'}: {type(model).__name__}, logits "
          f"{ours.shape}, worst difference {worst:.3g} (largest logit {scale:.3g}, tolerance "
          f"{TOL})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
