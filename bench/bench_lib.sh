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

# bench_resolve_torch_settings CASES PYTHON_COMMAND...: where
# FTUNE_BENCH_TORCH_SETTINGS is "auto", run bench_torch_settings.py's sweep of
# CASES (comma-separated, e.g. train-fp32) with PYTHON_COMMAND (the python,
# after an env prefix the PyTorch side runs with) first, print its table as
# it goes, as comment lines, and export its winners in
# FTUNE_BENCH_TORCH_SETTINGS; FTUNE_BENCH_SWEEP_ARGS adds options (e.g.
# "--no-compile --train-shape 2x32"). Then one line naming the settings the
# PyTorch side runs with. Status 1 when the sweep fails.
bench_resolve_torch_settings() {
  local here sweep=() line settings=""
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  if [[ "${FTUNE_BENCH_TORCH_SETTINGS:-}" = auto ]]; then
    read -r -a sweep <<<"${FTUNE_BENCH_SWEEP_ARGS:-}"
    while IFS= read -r line; do
      [[ "$line" = "SETTINGS "* ]] && settings="${line#SETTINGS }"
      echo "# sweep: ${line#"# sweep: "}"
    done < <("${@:2}" "$here/bench_torch_settings.py" --cases "$1" "${sweep[@]}")
    [[ -n "$settings" ]] || {
      echo "# pytorch settings: the sweep failed" >&2
      return 1
    }
    FTUNE_BENCH_TORCH_SETTINGS="$settings"
  fi
  export FTUNE_BENCH_TORCH_SETTINGS="${FTUNE_BENCH_TORCH_SETTINGS:-}"
  echo "# pytorch settings: ${FTUNE_BENCH_TORCH_SETTINGS:-the defaults (threads=2 and the OpenMP policy as given; FTUNE_BENCH_TORCH_SETTINGS=auto sweeps)}"
}

# bench_settings_key SETTINGS KEY DEFAULT: KEY's value in a KEY=VALUE,...
# settings string, else DEFAULT.
bench_settings_key() {
  local v
  v="$(tr ',' '\n' <<<"$1" | sed -n "s/^$2=//p" | tail -1)"
  echo "${v:-$3}"
}

# bench_settings_for SETTINGS CASE: CASE's part of a "case:..;case:.."
# settings string (the whole string when it names no case).
bench_settings_for() {
  if [[ "$1" != *:* ]]; then
    echo "$1"
  else
    tr ';' '\n' <<<"$1" | sed -n "s/^ *$2://p" | tail -1
  fi
}
