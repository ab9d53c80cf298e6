#!/usr/bin/env bash
# The main job: set everything up (including the local model) and train the BBH
# object-counting example on it with a small budget. Shows progress, prints the
# test score before and after, and where the report and the lock file are.
#
#   scripts/demo.sh [EXTRA adfc train ARGS...]     e.g. scripts/demo.sh --steps 3
set -euo pipefail

cd "$(dirname "$0")/.."
bash scripts/setup.sh --local
VENV=${ADF_VENV:-$(pwd)/.venv}
EXAMPLE=examples/object_counting/object_counting.adf

echo "demo: checking $EXAMPLE"
"$VENV/bin/adfc" check "$EXAMPLE"
echo "demo: training on the local model (SmolLM2-135M-Instruct, CPU); a few minutes"
exec "$VENV/bin/adfc" train "$EXAMPLE" \
  --train-limit 12 --val-limit 15 --test-limit 30 \
  --steps 2 --batch-size 4 --proposals 2 --seed 7 \
  --max-calls 400 --out runs/demo "$@"
