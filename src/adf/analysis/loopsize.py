"""Loop and size checks: how big the unrolled program gets, per sample.

Takes a `GraphView`, its `Sizes` and the configured limits; gives:

- W0510 a loop's state is updated but the updates reach nothing: no later
  step, no node after the loop, no loss or output reads them;
- W0511 a loop that unrolls to more nodes than `max_unrolled_nodes`;
- W0512 a sample that costs more model calls than `max_calls_per_sample`,
  or more estimated tokens than `max_tokens_per_sample` (when set), blamed
  on the loop contributing most.

All counts come from one pass over the nodes.
"""

from __future__ import annotations

from adf.analysis.config import LoopLimits
from adf.analysis.graphview import GraphView
from adf.analysis.records import LoopCount as LoopCount
from adf.analysis.sizes import Sizes
from adf.diagnostics import Diagnostic, Label, Severity
from adf.plan.schema import LoopInfo


def count_loops(view: GraphView, sizes: Sizes) -> dict[str, LoopCount]:
    totals: dict[str, list[int]] = {loop.name: [0, 0, 0] for loop in view.plan.loops}
    for node in view.plan.nodes:
        if node.loop is None:
            continue
        count = totals.setdefault(node.loop, [0, 0, 0])
        count[0] += 1
        if node.kind == "llm":
            count[1] += 1
            count[2] += sizes.prompts[node.id] + sizes.replies[node.id]
    return {name: LoopCount(*count) for name, count in totals.items()}


def check_loop_sizes(view: GraphView, sizes: Sizes, limits: LoopLimits, file: str) -> list[Diagnostic]:
    counts = count_loops(view, sizes)
    diagnostics = []
    for loop in view.plan.loops:
        count = counts.get(loop.name, LoopCount())
        if count.nodes > limits.max_unrolled_nodes:
            diagnostics.append(Diagnostic(
                code="W0511",
                severity=Severity.WARNING,
                message=(f"loop `{loop.name}` unrolls to {count.nodes} nodes, more than the limit "
                         f"of {limits.max_unrolled_nodes}"),
                file=file,
                primary=Label(loop.span, f"{loop.bound} steps × {_per_step(count.nodes, loop)} nodes"),
                notes=("every time step is a copy of the loop body in the compiled plan, in the "
                       "trace of every sample and in the backward pass",),
                help=("lower the loop's bound, or raise `max-unrolled-nodes` in "
                      "`[tool.adf.lint]` if this size is intended"),
            ))
    calls = sum(1 for n in view.plan.nodes if n.kind == "llm")
    tokens = sum(sizes.prompts.values()) + sum(sizes.replies.values())
    over_calls = calls > limits.max_calls_per_sample
    over_tokens = limits.max_tokens_per_sample is not None and tokens > limits.max_tokens_per_sample
    if (over_calls or over_tokens) and view.plan.loops:
        diagnostics.append(_budget(view, counts, calls, tokens, over_calls, limits, file))
    return diagnostics


def _budget(
    view: GraphView,
    counts: dict[str, LoopCount],
    calls: int,
    tokens: int,
    over_calls: bool,
    limits: LoopLimits,
    file: str,
) -> Diagnostic:
    key = (lambda lp: counts[lp.name].calls) if over_calls else (lambda lp: counts[lp.name].tokens)
    loop = max(view.plan.loops, key=key)
    count = counts[loop.name]
    if over_calls:
        message = (f"each sample makes {calls} model calls, more than the limit of "
                   f"{limits.max_calls_per_sample}")
        label = f"{count.calls} calls: {loop.bound} steps × {_per_step(count.calls, loop)} per step"
        setting = "max-calls-per-sample"
    else:
        message = (f"each sample needs ~{tokens} tokens, more than the limit of "
                   f"{limits.max_tokens_per_sample}")
        label = f"~{count.tokens} tokens over {loop.bound} steps"
        setting = "max-tokens-per-sample"
    return Diagnostic(
        code="W0512",
        severity=Severity.WARNING,
        message=message,
        file=file,
        primary=Label(loop.span, label),
        notes=("training multiplies this by the minibatch, the validation set and the number "
               "of steps; run `adfc cost` for the whole run",),
        help=f"lower the loop's bound, or raise `{setting}` in `[tool.adf.lint]`",
    )


def _per_step(total: int, loop: LoopInfo) -> int:
    return total // loop.bound if loop.bound > 0 else total
