"""The sizes of the training prompts, from their templates: backward reviews and optimizer asks.

Takes a `GraphView`, its `Sizes` and the forecast's run (how many failures
and passes a step draws, its steps and proposals); gives the prompt and
reply tokens of one backward call for a node and of one optimizer call for
a prompt parameter. The fixed text is measured from the templates the
runtime and the trainer fill (`adf.prompts`), so a change there changes the
forecast; what fills them is sized as the calls will fill it:

- backward: the node's prompt and reply, the downstream feedback, and per
  target its block (the template and the value it shows);
- optimizer: the instructions, the current value, each drawn failure (its
  input, answer, expected answer and one feedback per use of the parameter),
  each drawn pass, the earlier values (as many as a step of this run has on
  average), the values rejected earlier in the step, the parameter's peers
  and the workflow's other prompts.

Replies (feedback, the optimizer's reasoning) are priors: a model's
verbosity is not in the program (`FEEDBACK_TOKENS`, `REASONING_TOKENS`).
"""

from __future__ import annotations

import functools
import re

import attrs

from adf.analysis.graphview import GraphView
from adf.analysis.sizes import FEEDBACK_TOKENS, REASONING_TOKENS, Sizes
from adf.llm.catalogue import MESSAGE_OVERHEAD, estimate_tokens

_SLOT = re.compile(r"\{\w+\}")
_VIEW_LINES = 12  # "[n] example ID, score 0.00:" and the "input:/answer:/expected:" labels


@attrs.frozen
class Overheads:
    """Tokens of the templates' own text (slots left empty)."""

    backward: int  # system and user message of a review
    target: int  # one target's block
    optimizer: int  # system and user message of an ask, with its answer format
    heads: int  # the section headings an ask can carry


@functools.cache
def overheads() -> Overheads:
    from adf.prompts import load

    def fixed(*names: str) -> int:
        return sum(estimate_tokens(_SLOT.sub("", load(name))) for name in names)

    return Overheads(
        backward=fixed("backward_system", "backward_user") + 2 * MESSAGE_OVERHEAD,
        target=fixed("backward_target_param"),
        optimizer=fixed("optimizer_system", "optimizer_user", "optimizer_format_tags")
        + 2 * MESSAGE_OVERHEAD,
        heads=fixed("optimizer_sections"),
    )


def backward_call(prompt: int, reply: int, shown: list[int],
                  feedback: int = FEEDBACK_TOKENS) -> tuple[int, int]:
    """(prompt, reply) tokens of one review of a call; `shown`: each target's value size;
    `feedback`: the tokens of one piece of feedback (the downstream one it reads, each it writes)."""
    fixed = overheads()
    blocks = sum(fixed.target + size for size in shown) or fixed.target
    return (prompt + reply + feedback + fixed.backward + blocks, feedback * max(len(shown), 1))


@attrs.frozen
class Draw:
    """What a step shows the optimizer: failures and passes drawn, earlier and rejected values."""

    errors: int
    passes: int
    history: float  # earlier values on average over the run's steps
    rejected: float  # values rejected earlier in the same step, on average
    feedback: int = FEEDBACK_TOKENS  # one piece of feedback on a failure
    reasoning: int = REASONING_TOKENS  # the reasoning the optimizer writes before its value


def optimizer_call(view: GraphView, sizes: Sizes, param: str, draw: Draw) -> tuple[int, int]:
    """(prompt, reply) tokens of one optimizer ask for the prompt parameter `param`."""
    plan = view.plan
    value = estimate_tokens(view.params[param].value)
    users = view.param_users[param]
    peers = {p for u in users for p in view.node_params[u] if p != param}
    others = {p.name for p in plan.params if p.kind == "prompt"} - peers - {param}
    lines = sum(estimate_tokens(view.params[p].value) + 2 for p in (*sorted(peers), *sorted(others)))
    inputs = sum(sizes.values.get(d.name, 0) for d in plan.inputs)
    expected = sum(sizes.values.get(d.name, 0) for d in plan.targets)
    answer = max((sizes.replies.get(u, 0) for u in users), default=0)
    sample = _VIEW_LINES + inputs + answer + expected
    failures = draw.errors * (sample + draw.feedback * len(users))
    earlier = (draw.history + draw.rejected) * (value + 4)
    prompt = (overheads().optimizer + overheads().heads + value + failures
              + draw.passes * sample + earlier + lines)
    return round(prompt), value + draw.reasoning
