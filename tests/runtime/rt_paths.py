"""The path feedback may take through one sample's trace: the oracle of the routing properties."""

from __future__ import annotations

from collections.abc import Iterable

from adf.plan.routing import chosen
from adf.plan.schema import Plan
from adf.runtime.backward import BackwardResult
from adf.runtime.data import Sample
from adf.runtime.feedback import Feedback
from adf.runtime.trace import SampleResult


def executed_path(workflow: Plan, sample: SampleResult, start: str) -> list[str]:
    """Node ids feedback may reach from `start`, over nodes that ran: through a
    `select` only the branch it took and its condition, through a `last` only
    the step the loop stopped at and the condition computed in it, through a
    `map` the items that ran."""
    traces = {t.node: t for t in sample.nodes}
    by_id = {n.id: n for n in workflow.nodes}
    seen: list[str] = []
    stack = [start]
    while stack:
        current = stack.pop()
        if current in seen or current not in by_id or traces[current].status != "ok":
            continue
        seen.append(current)
        node, trace = by_id[current], traces[current]
        if node.kind == "select":
            stack += [node.inputs[0].source, chosen(node, dict(trace.inputs)["cond"])]
        elif node.kind == "map":  # the items that ran (those past the list's end did not)
            stack += [b.source for b in node.inputs[1:]]
        elif node.kind == "last":  # the step it stopped at, and that step's condition
            taken = trace.inputs[0][0]
            until = "until" + taken.removeprefix("step")
            stack += [b.source for b in node.inputs if b.name in (taken, until)]
        else:
            stack += [b.source for b in node.inputs]
    return seen


def trainable(workflow: Plan, node_id: str) -> list[str]:
    node = workflow.node(node_id)
    frozen = {p.name for p in workflow.params if p.frozen}
    if node.llm is None:
        return []
    return [p.param for p in node.llm.system if p.kind == "param" and p.param not in frozen]


def in_plan_order(workflow: Plan, grads: BackwardResult,
                  samples: Iterable[Sample]) -> list[list[Feedback]]:
    """Each parameter's feedback for each sample, after checking it arrives in the plan's
    node order (time order); returned for the caller's own further checks."""
    index = {n.id: i for i, n in enumerate(workflow.nodes)}
    groups = []
    for items in grads.by_param().values():
        for sample in samples:
            mine = [f for f in items if f.sample == sample.id]
            assert [index[f.node] for f in mine] == sorted(index[f.node] for f in mine)
            groups.append(mine)
    return groups
