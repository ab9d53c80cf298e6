#!/usr/bin/env bash
# Set up (including the local model) and run the whole test suite, local-model tests included.
#
#   scripts/test.sh [PYTEST ARGS...]     e.g. scripts/test.sh -m "not local_model" -x
#
# Exits non-zero when setup fails, when a test fails, or when no test was collected.
set -euo pipefail

cd "$(dirname "$0")/.."
bash scripts/setup.sh --local
VENV=${ADF_VENV:-$(pwd)/.venv}

echo "test: running pytest"
set +e
"$VENV/bin/python" -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "test: error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
