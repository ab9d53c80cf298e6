"""A `CostEstimate` as a readable report (what `adfc cost` prints).

Takes a `CostEstimate` and the file name; gives plain text: the per-sample
forward pass by source node (loop copies folded into one row with their
count), the backward and optimizer passes, the training run by phase and
model with dollars when known, the input sizes used and the assumptions.
"""

from __future__ import annotations

from collections.abc import Sequence

from adf.analysis.cost import CostEstimate, NodeCost
from adf.llm.usage import Usage


def render_cost(estimate: CostEstimate, file: str) -> str:
    s = estimate.settings
    out = [f"cost estimate for {file} (tokens are estimates: characters / 4)", ""]
    out.append(f"per sample, forward pass: {_usage(estimate.forward)}")
    rows = [("node", "function", "model", "calls", "prompt", "reply", "backward (failed sample)")]
    for name, group in _by_name(estimate.nodes):
        forward = sum((c.forward for c in group), Usage())
        backward = sum((c.backward for c in group), Usage())
        label = name if len(group) == 1 else f"{name} (×{len(group)})"
        if not all(c.live for c in group):
            label += " [dead]"
        rows.append((label, group[0].function, group[0].model, str(forward.calls),
                     str(forward.prompt_tokens), str(forward.completion_tokens),
                     _usage(backward) if backward.calls else "-"))
    out += _table(rows, indent=2)
    if estimate.branches is not None:
        calls, tokens = estimate.branches
        if calls.fixed and tokens.fixed:
            out.append(f"  branches and early exits: every sample makes {calls.low:g} calls (~{tokens.low:g} tokens); "
                       "untaken branches cost nothing")
        else:
            out.append(f"  branches and early exits: a sample makes {calls.low:g} to {calls.high:g} calls "
                       f"(expected {calls.expected:.1f}) and uses {tokens.low:g} to {tokens.high:g} "
                       f"tokens (expected {tokens.expected:.0f}); untaken branches cost nothing")
    out.append("per failed sample, backward pass: " + (
        _usage(estimate.backward) if estimate.backward.calls
        else "none (no prompt may change: no feedback is asked for)"))
    out.append(f"per training step, optimizer: {_usage(estimate.optimizer)}")
    out.append("")
    out.append(f"training run: {s.steps} steps, minibatch {s.batch}, {s.val_size} validation and "
               f"{s.test_size} test samples, {s.train.proposals} proposals per prompt and step, "
               f"{s.fail_rate:.0%} of samples failing")
    run_rows = [("phase", "model", "calls", "prompt", "reply", "dollars")]
    for phase in estimate.run:
        run_rows.append((phase.phase, phase.model, str(phase.usage.calls), str(phase.usage.prompt_tokens),
                         str(phase.usage.completion_tokens), _dollars(phase.dollars, estimate.priced)))
    run_rows.append(("total", "", str(estimate.total.calls), str(estimate.total.prompt_tokens),
                     str(estimate.total.completion_tokens), _dollars(estimate.dollars, estimate.priced)))
    out += _table(run_rows, indent=2)
    if estimate.has_range:
        out.append(f"  {token_range(estimate)}")
    if estimate.unpriced_models:
        out.append("no known price for model " + ", ".join(f"`{m}`" for m in estimate.unpriced_models))
    if estimate.roles:
        out.append("roles: " + ", ".join(f"{role} = {model}" for role, model in estimate.roles))
    if estimate.inputs:
        sizes = [f"{i.name} ~{i.tokens} ({'from data' if i.measured else 'default'})" for i in estimate.inputs]
        out.append("input sizes: " + ", ".join(sizes))
    out.append("")
    out.append("assumptions:")
    out += [f"  - {line}" for line in estimate.assumptions]
    return "\n".join(out) + "\n"


def _by_name(nodes: tuple[NodeCost, ...]) -> list[tuple[str, list[NodeCost]]]:
    groups: dict[str, list[NodeCost]] = {}
    for cost in nodes:
        groups.setdefault(cost.name, []).append(cost)
    return list(groups.items())


def _usage(usage: Usage) -> str:
    calls = f"{usage.calls} call{'' if usage.calls == 1 else 's'}"
    return f"{calls}, ~{usage.prompt_tokens} prompt + ~{usage.completion_tokens} reply tokens"


def _dollars(value: float | None, priced: bool) -> str:
    if not priced:
        return "-"
    return "unknown" if value is None else f"${value:,.4f}"


def _table(rows: Sequence[tuple[str, ...]], indent: int) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    pad = " " * indent
    return [pad + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


def token_range(estimate: CostEstimate) -> str:
    """The line saying how far the run may fall either side of the forecast, and why."""
    return (f"range: calls {estimate.calls_low}-{estimate.calls_high}, tokens "
            f"{estimate.tokens_low}-{estimate.tokens_high}: from each prompt's first proposal "
            "going through and none scored on validation to every proposal passing the cheap "
            "checks and scored on all of it (how a step's proposals fare varies most from run "
            "to run), a sample's calls from its fewest to its most where branches and early "
            "exits make them vary (unless the reply cache's history says how they ran), and "
            "for tokens from one-line replies and demo sets as they are to replies at "
            "max_tokens and demo sets at capacity (the history sizes the replies)")
