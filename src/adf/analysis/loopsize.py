"""Loop and size checks: how big the unrolled program gets, per sample.

Takes a `GraphView`, its `Sizes` and the configured limits; gives:

- W0510 a loop's state is updated but the updates reach nothing: no later
  step, no node after the loop, no loss or output reads them;
- W0511 a loop that unrolls to more nodes than `max_unrolled_nodes`: every
  copy of its body, those of the loops nested in it included (the product
  of the bounds times the nodes of each body); with nested loops, only the
  outermost loop over the limit is warned about, its nested loops labelled
  with their share;
- W0512 a sample that costs more model calls than `max_calls_per_sample`,
  or more estimated tokens than `max_tokens_per_sample` (when set), blamed
  on the top-level loop contributing most.

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
    """What each loop unrolls to: every copy of its body, the copies of the loops nested
    in it included (a node counts for its own loop and every loop around it)."""
    parents = {loop.name: loop.parent for loop in view.plan.loops}
    totals: dict[str, list[int]] = {loop.name: [0, 0, 0] for loop in view.plan.loops}
    for node in view.plan.nodes:
        loop = node.loop
        if loop is None:
            continue
        llm = node.kind == "llm"
        tokens = sizes.prompts[node.id] + sizes.replies[node.id] if llm else 0
        while loop is not None:
            count = totals.setdefault(loop, [0, 0, 0])
            count[0] += 1
            count[1] += llm
            count[2] += tokens
            loop = parents.get(loop)
    return {name: LoopCount(*count) for name, count in totals.items()}


def check_loop_sizes(view: GraphView, sizes: Sizes, limits: LoopLimits, file: str) -> list[Diagnostic]:
    counts = count_loops(view, sizes)
    diagnostics = []
    for loop in view.plan.loops:
        count = counts.get(loop.name, LoopCount())
        if count.nodes > limits.max_unrolled_nodes and not _over(view, counts, loop.parent,
                                                                 limits):
            diagnostics.append(Diagnostic(
                code="W0511",
                severity=Severity.WARNING,
                message=(f"loop `{loop.name}` unrolls to {count.nodes} nodes, more than the limit "
                         f"of {limits.max_unrolled_nodes}"),
                file=file,
                primary=Label(loop.span, f"{_steps(view, loop)} steps × "
                                         f"{_per_step(view, count.nodes, loop)} nodes"),
                secondary=_inner_labels(view, counts, loop),
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


def _over(view: GraphView, counts: dict[str, LoopCount], name: str | None,
          limits: LoopLimits) -> bool:
    """Whether the loop `name` (or one around it) is over the limit too: the outermost
    loop over it is the one warned about, so nesting gives one warning, not one per level."""
    while name is not None:
        if counts[name].nodes > limits.max_unrolled_nodes:
            return True
        name = _loop(view, name).parent
    return False


def _inner_labels(view: GraphView, counts: dict[str, LoopCount], loop: LoopInfo) -> tuple[Label, ...]:
    """The loops nested in `loop`, each with its share of the nodes."""
    return tuple(
        Label(inner.span, f"{counts[inner.name].nodes} of them in loop `{inner.name}`: "
                          f"{_steps(view, inner)} steps × "
                          f"{_per_step(view, counts[inner.name].nodes, inner)} nodes")
        for inner in view.plan.loops if inner.parent == loop.name
    )


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
    loop = max((lp for lp in view.plan.loops if lp.parent is None), key=key)
    count = counts[loop.name]
    if over_calls:
        message = (f"each sample makes {calls} model calls, more than the limit of "
                   f"{limits.max_calls_per_sample}")
        label = (f"{count.calls} calls: {_steps(view, loop)} steps × "
                 f"{_per_step(view, count.calls, loop)} per step")
        setting = "max-calls-per-sample"
    else:
        message = (f"each sample needs ~{tokens} tokens, more than the limit of "
                   f"{limits.max_tokens_per_sample}")
        label = f"~{count.tokens} tokens over {_steps(view, loop)} steps"
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


def _loop(view: GraphView, name: str) -> LoopInfo:
    return next(loop for loop in view.plan.loops if loop.name == name)


def _bounds(view: GraphView, loop: LoopInfo) -> list[int]:
    """The bounds of `loop` and of every loop around it, outermost first."""
    bounds = [loop.bound]
    while loop.parent is not None:
        loop = _loop(view, loop.parent)
        bounds.insert(0, loop.bound)
    return bounds


def _steps(view: GraphView, loop: LoopInfo) -> str:
    """`4` for a loop at the top level; `3 × 4` for one nested in a loop of 3 steps."""
    return " × ".join(str(b) for b in _bounds(view, loop))


def _per_step(view: GraphView, total: int, loop: LoopInfo) -> int:
    steps = 1
    for bound in _bounds(view, loop):
        steps *= bound
    return total // steps if steps > 0 else total
