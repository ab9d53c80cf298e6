"""The cost forecast's stated assumptions and the priors they name.

Takes nothing; gives `ASSUMPTIONS` (the lines `adfc cost` prints and the
training report keeps) and the priors `adf.analysis.cost` counts by when no
run measured better: the share of prompt proposals that pass the cheap
checks, of drawn failures run again, and how many earlier values the
optimizer is shown.
"""

from __future__ import annotations

from adf.analysis.sizes import FEEDBACK_TOKENS, REASONING_TOKENS

HISTORY_VALUES = 3  # earlier values (with scores) shown to the optimizer

SCREEN_PASS = 0.5  # prompt proposals that survive the parser, leak guard and sanity filter
RERUN_SHARE = 0.5  # drawn failures of a later step that came from an earlier one, run again

ASSUMPTIONS = (
    "forward: one call per llm node per sample, dead nodes included; a node inside an "
    "`if`/`match` branch runs only when its branch is taken, which the program does not say: "
    "the totals count the expectation with every label equally likely unless the reply "
    "cache's history says how often each ran (the later steps of an `until` loop and the "
    "items of a `map` count at their bound); the range line gives the bounds",
    "backward: only failed samples (at most 2 drawn per step); one backward-engine call per "
    "llm node on a path from a trainable parameter to a loss, and per function node there "
    "with several such inputs (the blame split per input); prompt = the node's prompt and "
    "reply, the downstream feedback, the review template's text and each target's value; "
    f"reply = {FEEDBACK_TOKENS} tokens per parameter or input that gets feedback",
    "optimizer: up to `proposals` calls per learning prompt parameter per step, until one is "
    "accepted (a parameter behind a branch only when a drawn failure took it); prompt = the optimizer template's text, "
    f"the value, up to {HISTORY_VALUES} earlier ones and the step's rejected ones, the drawn "
    "failures (input, answer, expected, feedback) and passes, its peers and the other "
    f"prompts; reply = the value and {REASONING_TOKENS} tokens of reasoning",
    f"gate: {SCREEN_PASS:.0%} of prompt proposals pass the cheap checks (parser, leak guard, "
    "sanity filter, duplicates); those and every demo-set proposal are checked on the drawn "
    "failures and passes; how many do not lose there (ties included, unless "
    "--minibatch-strict) and how much of the validation set they are scored on before the "
    "gate wins or stops early follow from the gate's rules with a candidate that gets each "
    "sample right as often as the current values, and so does how many of those win (unless "
    "earlier runs measured these); an accepted proposal ends its prompt's attempts for the "
    "step, and later steps fail at the rate earlier runs measured after an acceptance (the "
    "same rate without them); with several learning prompts the joint and pool strategies "
    "first gate the step's first usable proposals together when there are two or more, an "
    f"acceptance ending the step's proposals; after the first step, {RERUN_SHARE:.0%} of the drawn failures "
    "come from an earlier step and are run again; the range puts the gate at either end "
    "(each prompt's first proposal going through and none scored on validation; every "
    "proposal passing the cheap checks and scored on the whole of it) and, without a "
    "history of how they ran, a sample's branches and early exits at their fewest and most "
    "calls",
    "fill batches: a step whose first batch has no failure forwards up to `fill batches` more, "
    "each with the chance that all its samples pass at the given failure rate",
    "scoring: the validation set once and the test set before and after training",
    "demos: each demos parameter gets `demo proposals` candidates per step; with a teacher "
    "model, one teacher call per drawn failure and node using it",
    "tokens: characters / 4; a typed reply (enum, number, record...) counts at its type's "
    "size; a free-text one the loss compares with a target as it is (or its first line) at "
    "that target's mean length in the data (at most max_tokens), any other free text "
    "(reasoning, notes) at max_tokens (how much a model writes there is not in the program); a "
    "demo set counts as it is until a demo proposal (a full set) is accepted, each with the "
    "gate's chance of acceptance, and full in the proposals' own checks; the range's "
    "`tokens_low` is the run with one-line replies and the demo sets as they are, "
    "`tokens_high` the one with replies at max_tokens and demo sets at capacity; a call the "
    "reply cache's history has seen before (same model, node and purpose) counts at its "
    "mean there",
)
