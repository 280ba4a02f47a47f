#!/usr/bin/env bash
# Make (or check) the reference environment: a Python virtual environment
# outside the source tree with PyTorch 2, transformers, tokenizers,
# safetensors, peft, accelerate and scikit-learn from PyPI, at the versions
# pinned in env/reference-requirements.txt. The tests labelled `reference`
# and the PyTorch baselines under bench/ run with its python; where it is
# missing they skip with one line.
#
# Usage: bash env/reference.sh [-h] [--venv DIR] [--check]
#   --venv DIR  where (default $FTUNE_REF_VENV, else ~/.cache/ftune-ref)
#   --check     only say whether DIR holds the pinned stack (exit 0) or not (1)
# A second run with the same pins takes seconds. Needs only PyPI and
# python3's venv module (Debian: python3-venv, which env/setup.sh installs).
# The first run downloads about 2.8 GB (torch's CUDA libraries come with the
# Linux wheel) and takes a few minutes; it prints the size and the time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="${FTUNE_REF_VENV:-$HOME/.cache/ftune-ref}"
check=0
while [ $# -gt 0 ]; do
    case "$1" in
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --venv) [ $# -ge 2 ] || { echo "reference.sh: --venv needs a folder" >&2; exit 2; }
            venv="$2"; shift ;;
    --check) check=1 ;;
    *) echo "reference.sh: unknown argument '$1' (see -h)" >&2; exit 2 ;;
    esac
    shift
done
say() { echo "reference: $*"; }
reqs="$here/reference-requirements.txt"
stamp="$venv/ftune-reference.stamp"
want="$(sha256sum "$reqs" | cut -d' ' -f1)"

case "$(realpath -m "$venv")/" in
"$root"/*) echo "reference.sh: $venv is inside the source tree; give a folder outside it (--venv)" >&2; exit 2 ;;
esac

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    say "$venv holds the pinned stack ($(cd "$root" && grep -E '^(torch|transformers)==' "$reqs" | tr '\n' ' '))"
    exit 0
fi
if [ "$check" = 1 ]; then
    say "$venv does not hold the pinned stack: run bash env/reference.sh"
    exit 1
fi

# Debian's python3 (the pyenv or conda one of a workstation would do as well).
py=/usr/bin/python3
[ -x "$py" ] || py="$(command -v python3)"
if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
    echo "reference.sh: $py has no venv module: install python3-venv (bash env/setup.sh does)" >&2
    exit 1
fi
start=$SECONDS
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
say "installing $(grep -cvE '^(#|$)' "$reqs") pinned packages into $venv (first time: about 2.8 GB to download)"
"$venv/bin/python" -m pip install -q -r "$reqs"
"$venv/bin/python" - <<'PY'
import importlib
for name in ("torch", "transformers", "tokenizers", "safetensors", "peft", "accelerate", "sklearn", "numpy"):
    m = importlib.import_module(name)
    print(f"reference:   {name} {m.__version__}")
PY
"$venv/bin/python" -m pip freeze >"$venv/ftune-reference.freeze"
echo "$want" >"$stamp"
say "ready in $((SECONDS - start)) s; $(du -sh "$venv" | cut -f1) on disk; python: $venv/bin/python"
