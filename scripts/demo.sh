#!/usr/bin/env bash
# The main job: set everything up (including the local model) and train the
# binary-sentiment example (examples/sst2) on it with a small budget. Shows
# progress, prints the validation and test scores before and after, and where
# the report and the lock file are. What these figures mean over five seeds,
# and why a 135M model limits them: examples/sst2/README.md.
#
#   scripts/demo.sh [EXTRA adfc train ARGS...]     e.g. scripts/demo.sh --seed 3
set -euo pipefail

cd "$(dirname "$0")/.."
bash scripts/setup.sh --local
VENV=${ADF_VENV:-$(pwd)/.venv}
EXAMPLE=examples/sst2/sst2.adf

echo "demo: checking $EXAMPLE"
"$VENV/bin/adfc" check "$EXAMPLE"
echo "demo: training on the local model (SmolLM2-135M-Instruct, CPU); a few minutes"
# The same settings as bench/demo_seeds.py (keep the two in step). --no-lock:
# every demo run starts from the values written in the source.
status=0
"$VENV/bin/adfc" train "$EXAMPLE" \
  --train-limit 12 --val-limit 30 --test-limit 60 \
  --steps 2 --batch-size 4 --proposals 1 --demo-proposals 1 --seed 0 \
  --max-calls 300 --no-lock --out runs/demo "$@" || status=$?
cat <<'NOTE'

demo: what to expect. SmolLM2-135M already labels about 87% of these sentences
right with the hand-written prompt, and in the demo it is also the backward
engine and the optimizer: none of the instructions it proposed in our runs
was better than the one it started from, and the validation gate (30
sentences) keeps a change only when it scores higher. Over five seeds (examples/sst2/README.md)
no seed gained: validation and test stayed at 0.867 on all five, and every
proposal was refused (leak guard, not prose) or lost on the gate. Few-shot
demos lower this model's sentiment score, and 30 validation sentences move
in steps of 0.033.
A real gain needs an optimizer model that can follow feedback: see
"Recipe: the seed paper's settings on hosted models" in docs/training.md.
NOTE
exit "$status"
