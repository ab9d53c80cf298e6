"""An indexed, read-only view of a plan's unrolled graph, for the analyses.

Takes a `Plan`; gives a `GraphView` with the lookups every analysis needs,
each built in one pass over the plan: nodes by id, the readers of each value
(nodes, losses, outputs), the parameters each llm node uses and the nodes
that use each parameter (the param -> llm node edges), and which nodes call
each declared function. Every list keeps plan order, so analyses that walk
the view give the same diagnostics in the same order on every run.

Values (inputs, targets, nodes) share one id namespace; parameters, losses
and outputs have their own. `vertex_id` names any of them uniquely for
drawing: `param:NAME`, `loss:NAME`, `output:NAME`, or the value id itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from adf.analysis.records import GraphView as GraphView
from adf.plan.schema import Loss, Node, Output, Plan

T = TypeVar("T")


def build_view(plan: Plan) -> GraphView:
    nodes: dict[str, Node] = {}
    node_sources: dict[str, tuple[str, ...]] = {}
    node_readers: dict[str, list[str]] = {}
    node_params: dict[str, tuple[str, ...]] = {}
    param_users: dict[str, list[str]] = {}
    callers: dict[str, list[str]] = {}
    for node in plan.nodes:
        nodes[node.id] = node
        sources = tuple(dict.fromkeys(b.source for b in node.inputs))
        node_sources[node.id] = sources
        for source in sources:
            node_readers.setdefault(source, []).append(node.id)
        used = _params_of(node)
        node_params[node.id] = used
        for param in used:
            param_users.setdefault(param, []).append(node.id)
        for function in _functions_of(node):
            callers.setdefault(function, []).append(node.id)
    loss_readers: dict[str, list[Loss]] = {}
    for loss in plan.losses:
        loss_readers.setdefault(loss.pred, []).append(loss)
        if loss.target != loss.pred:
            loss_readers.setdefault(loss.target, []).append(loss)
    output_readers: dict[str, list[Output]] = {}
    for output in plan.outputs:
        output_readers.setdefault(output.source, []).append(output)
    return GraphView(
        plan=plan,
        nodes=nodes,
        node_sources=node_sources,
        node_readers=_freeze(node_readers),
        loss_readers=_freeze(loss_readers),
        output_readers=_freeze(output_readers),
        node_params=node_params,
        param_users=_freeze(param_users, (p.name for p in plan.params)),
        callers=_freeze(callers, (f.name for f in plan.functions)),
        params={p.name: p for p in plan.params},
    )


def vertex_id(kind: str, name: str) -> str:
    """A drawing id unique across values, params, losses and outputs."""
    return name if kind == "value" else f"{kind}:{name}"


def _params_of(node: Node) -> tuple[str, ...]:
    if node.llm is None:
        return ()
    seen: dict[str, None] = {}
    for part in node.llm.parts:
        if part.kind == "param":
            seen.setdefault(part.param, None)
    return tuple(seen)


def _functions_of(node: Node) -> tuple[str, ...]:
    """The functions a node calls: its llm and the tools it may choose, or its fn."""
    if node.llm is not None:
        return (node.llm.function, *(t.name for t in node.llm.tools))
    if node.fn is not None:
        return (node.fn.function,)
    return ()


def _freeze(table: dict[str, list[T]], first: Iterable[str] = ()) -> dict[str, tuple[T, ...]]:
    """`table` with tuples for lists, after the `first` keys (in their order; empty when
    not in `table`): a large program's unused declarations share the one empty tuple."""
    frozen: dict[str, tuple[T, ...]] = dict.fromkeys(first, ())
    frozen.update((key, tuple(items)) for key, items in table.items())
    return frozen
