"""The forward cost of one sample when branches make it vary: an interval.

Takes a `Plan` and a weight per node (1 per llm call, or its tokens); gives
a `CostRange`: the least and the most a sample can cost and the expectation
when every label of a condition is equally likely. Nodes written inside a
branch (`Node.when`) count only when their branch is taken; nodes outside
branches always count.

The guards of a plan form a tree (a nested branch's guard extends its outer
branch's); each condition contributes the cheapest, the dearest and the
mean of its labels' subtrees. The same condition tested in two places is
treated as two choices, so the bounds stay sound (never tighter than the
truth) while the walk stays linear in the plan. A step of an `until` loop
is guarded by the previous step's condition, so the expectation counts each
later step as run half the time (a simplification; the bounds are exact).
The same holds for the items of a `map` (guarded by their `item` node, with
no cases): each runs or not, so a map costs from nothing (an empty list) to
every item, and half of that is expected. `rescaled` moves a forecast's
forward calls to either end of such a range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from adf.llm.usage import Usage
from adf.plan.schema import Guard, Plan, Type


@attrs.frozen
class CostRange:
    low: float
    high: float
    expected: float

    @property
    def fixed(self) -> bool:
        return self.low == self.high


_Item = tuple[tuple[Guard, ...], float]


def branch_range(plan: Plan, weights: Mapping[str, float]) -> CostRange:
    """The range of the summed `weights` of the nodes one sample runs."""
    types = {node.id: node.output_type for node in plan.nodes}
    items = [(node.when, weights.get(node.id, 0.0)) for node in plan.nodes]
    return _subtree(items, 0, types)


def has_branches(plan: Plan) -> bool:
    return any(node.when for node in plan.nodes)


def _subtree(items: Sequence[_Item], depth: int, types: Mapping[str, Type]) -> CostRange:
    base = sum(weight for when, weight in items if len(when) == depth)
    deeper: dict[str, list[_Item]] = {}
    for when, weight in items:
        if len(when) > depth:
            deeper.setdefault(when[depth].source, []).append((when, weight))
    low = high = expected = base
    for source, mine in deeper.items():
        if not mine[0][0][depth].cases:  # a `map` item: it runs or the list is too short
            outcomes = [_subtree(mine, depth + 1, types), CostRange(0.0, 0.0, 0.0)]
        else:
            outcomes = [
                _subtree([(w, x) for w, x in mine if label in w[depth].cases], depth + 1, types)
                for label in _labels(types.get(source), mine, depth)
            ]
        low += min(o.low for o in outcomes)
        high += max(o.high for o in outcomes)
        expected += sum(o.expected for o in outcomes) / len(outcomes)
    return CostRange(low, high, expected)


def _labels(cond: Type | None, items: Sequence[_Item], depth: int) -> list[str]:
    """Every value the condition can take: its type's labels, else those the guards name."""
    if cond is not None and cond.kind == "bool":
        return ["true", "false"]
    if cond is not None and cond.kind == "enum" and cond.values:
        return list(cond.values)
    return list(dict.fromkeys(case for when, _ in items for case in when[depth].cases))


def expected_shares(plan: Plan) -> dict[str, float]:
    """Per node inside an `if`/`match` branch, the share of samples it runs on when every
    label is equally likely (`branch_range`'s expectation for that node alone).

    The later steps of an `until` loop and the items of a `map` are left out:
    how long a loop runs or a list is has no such prior, so they count at
    their bound.
    """
    return {node.id: branch_range(plan, {node.id: 1.0}).expected for node in plan.nodes
            if node.when and node.step is None and node.item is None
            and all(guard.cases for guard in node.when)}


def rescaled(parts_by_model: Mapping[str, Sequence[tuple[Usage, float]]],
             calls: CostRange | None, end: str) -> Mapping[str, Sequence[tuple[Usage, float]]]:
    """Forward parts (usage, share per sample) with a sample's calls at the `end` (low,
    high) of `calls`, its range over the branches.

    Early exits and untaken branches bring a sample below the point (which counts
    loops at their bound unless the history says how far they ran); every branch
    taken, above it.
    """
    point = sum(u.calls * share for parts in parts_by_model.values() for u, share in parts)
    if calls is None or not point:
        return parts_by_model
    factor = min(1.0, calls.low / point) if end == "low" else max(1.0, calls.high / point)
    return {model: [(u, share * factor) for u, share in parts]
            for model, parts in parts_by_model.items()}
