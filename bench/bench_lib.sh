# shellcheck shell=bash
# bench_lib.sh: what the benchmark scripts share (sourced).

# bench_cpu: this CPU's name, vendor, family and model, for every figure.
bench_cpu() {
  awk -F': *' '/^model name/ {m=$2} /^cpu family/ {f=$2} /^model\t/ {n=$2} /^vendor_id/ {v=$2}
    END {printf "%s (%s family %s model %s)", m, v, f, n}' /proc/cpuinfo
}

# field LINE KEY: the value of KEY=value in a line of KEY=value words.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# bench_torch_python: the python of the PyTorch baseline: FTUNE_BENCH_PYTHON,
# else the reference environment's (env/reference.sh: PyTorch 2 with
# transformers), else Debian's /usr/bin/python3.
bench_torch_python() {
  local ref="${FTUNE_REF_VENV:-$HOME/.cache/ftune-ref}/bin/python"
  if [[ -n "${FTUNE_BENCH_PYTHON:-}" ]]; then
    echo "$FTUNE_BENCH_PYTHON"
  elif [[ -x "$ref" ]] && "$ref" -c 'import torch, transformers' 2>/dev/null; then
    echo "$ref"
  else
    echo /usr/bin/python3
  fi
}

# bench_say_torch PYTHON: one line naming the baseline's python and torch, or
# why it is skipped; status 1 when PYTHON lacks torch or transformers (the
# baseline runs transformers' classes: bench/bench_torch_models.py).
bench_say_torch() {
  if [[ -x "$1" ]] && "$1" -c 'import torch, transformers' 2>/dev/null; then
    echo "# pytorch: $1, torch $("$1" -c 'import torch; print(torch.__version__)')"
  else
    echo "# pytorch: skipped (no torch and transformers for $1: bash env/reference.sh)"
    return 1
  fi
}
