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
if [ "$status" -eq 0 ] && [ "$#" -eq 0 ]; then
  # The whole suite ran the language-v2 routing properties through litellm and the fake
  # server on a few programs each; run them again in process on 500 generated programs
  # per construct (tests/runtime/rt_direct.py; about a minute on 2 cores).
  echo "test: the routing properties on 500 programs per construct (in process)"
  set +e
  ADF_V2_TRANSPORT=direct ADF_V2_EXAMPLES=500 "$VENV/bin/python" -m pytest -q \
    tests/runtime/test_runtime_conditions_props.py tests/runtime/test_runtime_until_props.py \
    tests/runtime/test_runtime_fields_props.py tests/runtime/test_runtime_routing_props.py \
    tests/runtime/test_runtime_map_props.py tests/runtime/test_runtime_call_props.py
  status=$?
  set -e
fi
exit "$status"
